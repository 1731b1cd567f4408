// EXPECT: Dense expects a flat input: put Flatten before it
// EXPECT: Dense<784, 128>::bind<ctnn::Shape<26, 26, 32> ?>
// Must not compile: Dense<784, 128> straight after a convolution that yields Shape<26, 26, 32> (Flatten
// forgotten). The diagnostic must say to put Flatten before it and name Shape<26, 26, 32>.
#include <ctnn/ctnn.hpp>

using namespace ctnn;

#ifdef CTNN_FIX
using Net = Sequential<Input<28, 28, 1>, Conv2D<3, 3, 1, 32>, Flatten, Dense<21632, 128>>;
#else
using Net = Sequential<Input<28, 28, 1>, Conv2D<3, 3, 1, 32>, Dense<784, 128>>;
#endif

// Naming a member instantiates Sequential, whose member types bind every layer. The shape is only checked
// when the composition is fixed: on a broken one it would add a second error after the one under test.
static_assert(Net::layer_count > 0);
#ifdef CTNN_FIX
static_assert(Net::output_shape::size == 128);
#endif
