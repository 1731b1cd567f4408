// EXPECT: GlobalAvgPool2D expects an image [(]height x width x channels[)]
// EXPECT: GlobalAvgPool2D::bind<ctnn::Shape<128> ?>
// Must not compile: GlobalAvgPool2D after a Flatten, on the 4x4x8 convolution output seen as Shape<128>: there
// is no image left to average over. The diagnostic must name GlobalAvgPool2D and Shape<128>. The pooling is the
// last layer: g++ goes on binding the layers after a failed one, to its guarded Shape<1>, and a Dense<8, 3>
// there would add a second error.
#include <ctnn/ctnn.hpp>
#include <ctnn/layers/global_avg_pool2d.hpp>

using namespace ctnn;

#ifdef CTNN_FIX
using Net = Sequential<Input<6, 6, 2>, Conv2D<3, 3, 2, 8>, ReLU, GlobalAvgPool2D>;
#else
using Net = Sequential<Input<6, 6, 2>, Conv2D<3, 3, 2, 8>, ReLU, Flatten, GlobalAvgPool2D>;
#endif

// Naming a member instantiates Sequential, whose member types bind every layer. The shape is only checked
// when the composition is fixed: on a broken one it would add a second error after the one under test.
static_assert(Net::layer_count > 0);
#ifdef CTNN_FIX
static_assert(Net::output_shape::size == 8);
#endif
