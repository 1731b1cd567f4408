// EXPECT: Dense input size does not match the previous layer's output
// EXPECT: Dense<784, 128>::bind<ctnn::Shape<21632> ?>
// Must not compile: Dense<784, 128> after a Flatten that yields Shape<21632> (the 26x26x32 convolution output
// was never pooled). The diagnostic must name Dense<784, 128> and Shape<21632>.
#include <ctnn/ctnn.hpp>

using namespace ctnn;

#ifdef CTNN_FIX
using Net = Sequential<Input<28, 28, 1>, Conv2D<3, 3, 1, 32>, Flatten, Dense<21632, 128>>;
#else
using Net = Sequential<Input<28, 28, 1>, Conv2D<3, 3, 1, 32>, Flatten, Dense<784, 128>>;
#endif

// Naming a member instantiates Sequential, whose member types bind every layer. The shape is only checked
// when the composition is fixed: on a broken one it would add a second error after the one under test.
static_assert(Net::layer_count > 0);
#ifdef CTNN_FIX
static_assert(Net::output_shape::size == 128);
#endif
