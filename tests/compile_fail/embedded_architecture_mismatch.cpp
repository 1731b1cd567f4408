// EXPECT: this header was generated from a model file of a different network architecture
// EXPECT: check_architecture_hash<[0-9]+, [0-9]+>
// EXPECT: [0-9]+(UL)? == [0-9]+
// Must not compile: parameters embedded (as ctnn_embed writes them) from a model file of Dense<4, 3> alone, given
// to a network with a ReLU after it. The value counts agree (15), so only the architecture hash tells them apart;
// the diagnostic must say so and show both hashes.
#include <ctnn/ctnn.hpp>

using namespace ctnn;

using Net = Sequential<Input<4>, Dense<4, 3>, ReLU>;
#ifdef CTNN_FIX
using SavedFrom = Net;
#else
using SavedFrom = Sequential<Input<4>, Dense<4, 3>>;
#endif
static_assert(SavedFrom::parameter_count == Net::parameter_count);

inline constexpr float values[15] = {};
inline constexpr io::EmbeddedParameters<SavedFrom::architecture_hash, 15> embedded{values, {}};

void build_network() { [[maybe_unused]] const Net net{embedded}; }
