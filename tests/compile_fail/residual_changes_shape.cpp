// EXPECT: Residual's inner layers must give back the shape of the block's input
// EXPECT: Residual<ctnn::Conv2D<3, 3, 32, 32(, 1, ctnn::Padding::valid)?> ?>
// EXPECT: (is_same_v<ctnn::Shape<26, 26, 32> ?, ctnn::Shape<28, 28, 32> ?>|residual_shape_mismatch<.*, ctnn::Shape<28, 28, 32>, ctnn::Shape<26, 26, 32> ?>)
// Must not compile: a residual block whose inner convolution ("valid", no padding) shrinks 28x28 to 26x26, so
// x + f(x) has no meaning. The diagnostic must name the block, the shape it was given and the shape its inner
// layers produce.
#include <ctnn/ctnn.hpp>

using namespace ctnn;

#ifdef CTNN_FIX
using Net = Sequential<Input<28, 28, 32>, Residual<Conv2D<3, 3, 32, 32, 1, Padding::same>>, Flatten>;
#else
using Net = Sequential<Input<28, 28, 32>, Residual<Conv2D<3, 3, 32, 32>>, Flatten>;
#endif

// Naming a member instantiates Sequential, whose member types bind every layer.
static_assert(Net::layer_count > 0);
#ifdef CTNN_FIX
static_assert(Net::output_shape::size == 28 * 28 * 32);
#endif
