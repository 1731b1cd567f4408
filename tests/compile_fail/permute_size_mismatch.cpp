// EXPECT: Permute size does not match the previous layer's output
// EXPECT: Permute<perm>::bind<ctnn::Shape<28, 28, 1> ?>
// Must not compile: a permutation of 100 features in front of 784-pixel images. The diagnostic must name
// Permute<perm> and Shape<28, 28, 1>.
#include <ctnn/ctnn.hpp>

using namespace ctnn;

#ifdef CTNN_FIX
constexpr auto perm = make_permutation<784>(1);
#else
constexpr auto perm = make_permutation<100>(1);
#endif

using Net = Sequential<Input<28, 28, 1>, Permute<perm>, Flatten, Dense<784, 10>>;

// Naming a member instantiates Sequential, whose member types bind every layer. The shape is only checked
// when the composition is fixed: on a broken one it would add a second error after the one under test.
static_assert(Net::layer_count > 0);
#ifdef CTNN_FIX
static_assert(Net::output_shape::size == 10);
#endif
