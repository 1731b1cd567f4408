#pragma once
// The umbrella header: everything ctnn offers.

#include "ctnn/config.hpp"

#include "ctnn/core/file_error.hpp"
#include "ctnn/core/parallel.hpp"
#include "ctnn/core/permutation.hpp"
#include "ctnn/core/random.hpp"
#include "ctnn/core/range.hpp"
#include "ctnn/core/shape.hpp"
#include "ctnn/core/tensor.hpp"

#include "ctnn/layers/avg_pool2d.hpp"
#include "ctnn/layers/batch_norm.hpp"
#include "ctnn/layers/conv2d.hpp"
#include "ctnn/layers/dense.hpp"
#include "ctnn/layers/dropout.hpp"
#include "ctnn/layers/flatten.hpp"
#include "ctnn/layers/global_avg_pool2d.hpp"
#include "ctnn/layers/input.hpp"
#include "ctnn/layers/layer.hpp"
#include "ctnn/layers/max_pool2d.hpp"
#include "ctnn/layers/permute.hpp"
#include "ctnn/layers/relu.hpp"
#include "ctnn/layers/residual.hpp"
#include "ctnn/layers/softmax.hpp"

#include "ctnn/network/bf16_inference.hpp"
#include "ctnn/network/chain.hpp"
#include "ctnn/network/sequential.hpp"
#include "ctnn/network/summary.hpp"
#include "ctnn/io/model_file.hpp"

#include "ctnn/data/data.hpp"

#include "ctnn/train/adam.hpp"
#include "ctnn/train/fit.hpp"
#include "ctnn/train/loss.hpp"
#include "ctnn/train/metrics.hpp"
#include "ctnn/train/sgd.hpp"
#include "ctnn/train/step_plan.hpp"
#include "ctnn/train/thresholds.hpp"
#include "ctnn/train/train_step.hpp"
