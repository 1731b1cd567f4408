#pragma once
// Parameters compiled into the program. The ctnn_embed tool turns a model file into a header that defines
//
//   inline constexpr ctnn::io::EmbeddedParameters<0xb2e4b67a88a7ede6ULL, 101770> seed_mlp_parameters{...};
//
// and `Net net{seed_mlp_parameters}` builds the network with no file at run time. The type carries what the
// model file's header carries, the architecture hash and the number of values, so that a header made from a file
// of another network does not compile: Sequential's constructor (through load() below) static_asserts both
// against the network type. The values are the file's payload, in its order (every trainable tensor in
// visit_parameters order, then the state in visit_state order), written as hexadecimal float literals: the
// network is bitwise the one load() of the file gives.
//
// One count, not a parameter count and a state count: the model file's table does not say which of its tensors
// are trainable, so a tool that knows the file but not the network type cannot split them; the network can.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "ctnn/layers/layer.hpp"

namespace ctnn::io {

// One entry of the model file's tensor table, as the generated header records it.
struct EmbeddedTensor {
    std::uint32_t layer_index = 0;  // position after Input, parameter-free layers counted
    std::string_view name;          // "weights", "running_mean"
    std::span<const std::uint64_t> dims;
    std::uint64_t element_count = 0;
};

// A literal type: the generated header defines an `inline constexpr` object of it over its own arrays.
template <std::uint64_t ArchitectureHash, std::size_t ValueCount>
struct EmbeddedParameters {
    static constexpr std::uint64_t architecture_hash = ArchitectureHash;
    static constexpr std::size_t value_count = ValueCount;

    std::span<const float, ValueCount> values;  // parameters, then state, in the model file's order
    std::span<const EmbeddedTensor> tensors;    // the model file's table, in the same order
};

// The sum of the table's element counts; the generated header static_asserts that it is the value count.
constexpr std::uint64_t element_total(std::span<const EmbeddedTensor> tensors) noexcept {
    std::uint64_t total = 0;
    for (const EmbeddedTensor& t : tensors) total += t.element_count;
    return total;
}

// The checks of load() below, each a class template of the header's value and the network's, so that a failed
// check prints both (in "required from check_architecture_hash<...>" and the comparison's note).
template <std::uint64_t HeaderHash, std::uint64_t NetworkHash>
struct check_architecture_hash {
    static_assert(HeaderHash == NetworkHash,
                  "this header was generated from a model file of a different network architecture");
};
// Checked only once the hashes agree (Checked): a header of another network reports the one error that explains it.
template <bool Checked, std::size_t HeaderValues, std::size_t NetworkParameters, std::size_t NetworkState>
struct check_value_count {
    static_assert(!Checked || HeaderValues == NetworkParameters + NetworkState,
                  "this header's value count is not the network's parameter count plus its state count (was the "
                  "header edited?)");
};

// Replaces net's parameters and state with the embedded values. Nothing can fail at run time: the architecture
// hash and the value count are checked at compile time.
template <class Net, std::uint64_t Hash, std::size_t ValueCount>
void load(Net& net, const EmbeddedParameters<Hash, ValueCount>& embedded) {
    [[maybe_unused]] check_architecture_hash<Hash, Net::architecture_hash> hash_check;
    [[maybe_unused]] check_value_count<Hash == Net::architecture_hash, ValueCount, Net::parameter_count,
                                       Net::state_count>
        count_check;
    const float* source = embedded.values.data();
    const auto take = [&](std::span<float> destination) {
        std::copy_n(source, destination.size(), destination.begin());
        source += destination.size();
    };
    net.visit_parameters([&](std::size_t, const ParameterView& p) { take(p.value); });
    net.visit_state([&](std::size_t, const StateView& s) { take(s.value); });
}

}  // namespace ctnn::io
