// Compile-only: the parameter counts of the seed article, equal to what PyTorch and Keras report for the same
// networks (Keras model.summary(): 101,770 and 693,962).
#include "seed_networks.hpp"

using namespace ctnn;
using ctnn::testing::SeedCnn;
using ctnn::testing::SeedMlp;

static_assert(Dense<784, 128>::parameter_count == 100'480);
static_assert(Conv2D<3, 3, 1, 32>::parameter_count == 320);
static_assert(Dense<784, 128>::parameter_count / Conv2D<3, 3, 1, 32>::parameter_count == 314);  // "314x fewer"
static_assert(SeedMlp::parameter_count == 101'770);
static_assert(SeedCnn::parameter_count == 693'962);
static_assert(std::is_same_v<SeedMlp::output_shape, Shape<10>>);
static_assert(std::is_same_v<SeedCnn::output_shape, Shape<10>>);
static_assert(std::is_same_v<SeedCnn::layer_type<2>::output_shape, Shape<13, 13, 32>>);
// The per-layer rows agree with the totals.
static_assert(SeedCnn::summary_rows[0].parameters == 320);
static_assert(SeedCnn::summary_rows[4].parameters == 692'352);
static_assert(SeedCnn::summary_rows[6].parameters == 1'290);
