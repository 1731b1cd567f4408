// EXPECT: Conv2D input channels do not match the previous layer's output
// EXPECT: Conv2D<3, 3, 1, 32(, 1, ctnn::Padding::valid)?>::bind<ctnn::Shape<28, 28, 3> ?>
// Must not compile: a one-channel Conv2D on an RGB image. The diagnostic must name Conv2D<3, 3, 1, 32> and
// Shape<28, 28, 3>.
#include <ctnn/ctnn.hpp>

using namespace ctnn;

#ifdef CTNN_FIX
using Net = Sequential<Input<28, 28, 3>, Conv2D<3, 3, 3, 32>>;
#else
using Net = Sequential<Input<28, 28, 3>, Conv2D<3, 3, 1, 32>>;
#endif

// Naming a member instantiates Sequential, whose member types bind every layer. The shape is only checked
// when the composition is fixed: on a broken one it would add a second error after the one under test.
static_assert(Net::layer_count > 0);
#ifdef CTNN_FIX
static_assert(Net::output_shape::size == 26 * 26 * 32);
#endif
