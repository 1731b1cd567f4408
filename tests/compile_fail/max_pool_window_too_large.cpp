// EXPECT: MaxPool2D window is larger than its input image
// EXPECT: MaxPool2D<2>::bind<ctnn::Shape<1, 1, 8> ?>
// Must not compile: pooling until nothing is left, 26 -> 13 -> 6 -> 3 -> 1, then a fifth 2x2 window on a
// 1x1 image. The diagnostic must name MaxPool2D<2> and Shape<1, 1, 8>.
#include <ctnn/ctnn.hpp>

using namespace ctnn;

#ifdef CTNN_FIX
using Net = Sequential<Input<28, 28, 1>, Conv2D<3, 3, 1, 8>, MaxPool2D<2>, MaxPool2D<2>, MaxPool2D<2>, MaxPool2D<2>>;
#else
using Net = Sequential<Input<28, 28, 1>, Conv2D<3, 3, 1, 8>, MaxPool2D<2>, MaxPool2D<2>, MaxPool2D<2>, MaxPool2D<2>,
                       MaxPool2D<2>>;
#endif

// Naming a member instantiates Sequential, whose member types bind every layer. The shape is only checked
// when the composition is fixed: on a broken one it would add a second error after the one under test.
static_assert(Net::layer_count > 0);
#ifdef CTNN_FIX
static_assert(Net::output_shape::size == 8);
#endif
