#pragma once
// Data loading: IDX files (plain or gzip), datasets, batches, transforms.

#include "ctnn/data/dataset.hpp"
#include "ctnn/data/error.hpp"
#include "ctnn/data/idx.hpp"
#include "ctnn/data/mnist.hpp"
#include "ctnn/data/transforms.hpp"
