// EXPECT: Conv2D kernel is larger than its input image
// EXPECT: Conv2D<3, 3, 1, 4(, 1, ctnn::Padding::valid)?>::bind<ctnn::Shape<2, 2, 1> ?>
// Must not compile: a 3x3 kernel on a 2x2 image (valid padding). The diagnostic must name
// Conv2D<3, 3, 1, 4> and Shape<2, 2, 1>.
#include <ctnn/ctnn.hpp>

using namespace ctnn;

#ifdef CTNN_FIX
using Net = Sequential<Input<3, 3, 1>, Conv2D<3, 3, 1, 4>>;
#else
using Net = Sequential<Input<2, 2, 1>, Conv2D<3, 3, 1, 4>>;
#endif

// Naming a member instantiates Sequential, whose member types bind every layer. The shape is only checked
// when the composition is fixed: on a broken one it would add a second error after the one under test.
static_assert(Net::layer_count > 0);
#ifdef CTNN_FIX
static_assert(Net::output_shape::size == 4);
#endif
