// EXPECT: AvgPool2D window is larger than its input image
// EXPECT: AvgPool2D<2(, 2)?>::bind<ctnn::Shape<1, 1, 8> ?>
// Must not compile: pooling until nothing is left, 10 -> 5 -> 2 -> 1, then a fourth 2x2 window on a 1x1
// image. The diagnostic must name AvgPool2D<2> and Shape<1, 1, 8>.
#include <ctnn/ctnn.hpp>
#include <ctnn/layers/avg_pool2d.hpp>

using namespace ctnn;

#ifdef CTNN_FIX
using Net = Sequential<Input<12, 12, 1>, Conv2D<3, 3, 1, 8>, AvgPool2D<2>, AvgPool2D<2>, AvgPool2D<2>>;
#else
using Net = Sequential<Input<12, 12, 1>, Conv2D<3, 3, 1, 8>, AvgPool2D<2>, AvgPool2D<2>, AvgPool2D<2>, AvgPool2D<2>>;
#endif

// Naming a member instantiates Sequential, whose member types bind every layer. The shape is only checked
// when the composition is fixed: on a broken one it would add a second error after the one under test.
static_assert(Net::layer_count > 0);
#ifdef CTNN_FIX
static_assert(Net::output_shape::size == 8);
#endif
