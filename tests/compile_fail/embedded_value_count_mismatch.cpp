// EXPECT: this header's value count is not the network's parameter count plus its state count
// EXPECT: check_value_count<true, 14, 14, 4>
// EXPECT: 14(UL)? == [(]?14(UL)? [+] 4
// Must not compile: a header with the network's architecture hash but 14 values, the parameters without the
// state (edited by hand: the tool writes the file's count). The diagnostic must show the header's count and the
// network's two, 14 and 4.
#include <ctnn/ctnn.hpp>
#include <ctnn/layers/batch_norm.hpp>

using namespace ctnn;

// 4 x 2 + 2 parameters, 2 + 2 BatchNorm parameters, 2 + 2 running statistics: 18 values.
using Net = Sequential<Input<4>, Dense<4, 2>, BatchNorm<>>;
static_assert(Net::parameter_count == 14 && Net::state_count == 4);
#ifdef CTNN_FIX
constexpr std::size_t value_count = 18;
#else
constexpr std::size_t value_count = 14;
#endif

inline constexpr float values[value_count] = {};
inline constexpr io::EmbeddedParameters<Net::architecture_hash, value_count> embedded{values, {}};

void build_network() { [[maybe_unused]] const Net net{embedded}; }
