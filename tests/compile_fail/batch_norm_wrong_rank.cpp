// EXPECT: BatchNorm expects features or an image [(]height x width x channels[)]
// EXPECT: BatchNorm<(std::ratio<99, 100>, std::ratio<1, 1000>)?>::bind<ctnn::Shape<4, 5> ?>
// Must not compile: a 4x5 sample is neither features (rank 1) nor an image (rank 3), so BatchNorm cannot tell
// which axis to normalise over as the user means it. The diagnostic must name BatchNorm and Shape<4, 5>.
#include <ctnn/ctnn.hpp>
#include <ctnn/layers/batch_norm.hpp>

using namespace ctnn;

#ifdef CTNN_FIX
using Net = Sequential<Input<4, 5>, Flatten, BatchNorm<>, Dense<20, 3>>;
#else
using Net = Sequential<Input<4, 5>, BatchNorm<>, Flatten, Dense<20, 3>>;
#endif

// Naming a member instantiates Sequential, whose member types bind every layer. The counts are only checked
// when the composition is fixed: on a broken one they would add a second error after the one under test.
static_assert(Net::layer_count > 0);
#ifdef CTNN_FIX
static_assert(Net::parameter_count == 2 * 20 + 20 * 3 + 3 && Net::state_count == 2 * 20);
#endif
