#pragma once
// The two networks of the seed article, shared by the tests.

#include "ctnn/ctnn.hpp"

namespace ctnn::testing {

using SeedMlp = Sequential<Input<28, 28, 1>, Flatten, Dense<784, 128>, ReLU, Dense<128, 10>>;
using SeedCnn = Sequential<Input<28, 28, 1>, Conv2D<3, 3, 1, 32>, ReLU, MaxPool2D<2>, Flatten,
                           Dense<13 * 13 * 32, 128>, ReLU, Dense<128, 10>>;

}  // namespace ctnn::testing
