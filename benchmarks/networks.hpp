#pragma once
// The networks the benchmarks measure: the seed article's MLP and CNN, and the residual network of the layer
// contract (BatchNorm, Residual, GlobalAvgPool2D). ctnn_train_bench trains them, ctnn_infer_bench runs them;
// benchmarks/pytorch_models.py defines the same three for PyTorch.

#include <ctnn/ctnn.hpp>

namespace ctnn::bench {

using Mlp = Sequential<Input<28, 28, 1>, Flatten, Dense<784, 128>, ReLU, Dense<128, 10>>;
using Cnn = Sequential<Input<28, 28, 1>, Conv2D<3, 3, 1, 32>, ReLU, MaxPool2D<2>, Flatten, Dense<5408, 128>, ReLU,
                       Dense<128, 10>>;
using Block = Residual<Conv2D<3, 3, 32, 32, 1, Padding::same>, BatchNorm<>, ReLU,
                       Conv2D<3, 3, 32, 32, 1, Padding::same>, BatchNorm<>>;
using ResidualNet = Sequential<Input<28, 28, 1>, Conv2D<3, 3, 1, 32, 1, Padding::same>, BatchNorm<>, ReLU, Block, ReLU,
                               MaxPool2D<2>, Block, ReLU, GlobalAvgPool2D, Dense<32, 10>>;

}  // namespace ctnn::bench
