// Must not compile: a 3x3 kernel on a 2x2 image (valid padding). The diagnostic must name
// Conv2D<3, 3, 1, 4> and Shape<2, 2, 1>.
#include <ctnn/ctnn.hpp>

using namespace ctnn;

#ifdef CTNN_FIX
using Net = Sequential<Input<3, 3, 1>, Conv2D<3, 3, 1, 4>>;
#else
using Net = Sequential<Input<2, 2, 1>, Conv2D<3, 3, 1, 4>>;
#endif

static_assert(Net::output_shape::size == 4);
