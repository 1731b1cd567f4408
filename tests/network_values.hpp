#pragma once
// Every parameter (or parameter gradient, or state value) of a network, flattened in visit order, for comparing
// networks in tests.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ctnn/layers/layer.hpp"

namespace ctnn::testing {

// The bit patterns of floats, for comparisons that must be exact (NaN and -0 included).
inline std::vector<std::uint32_t> bits_of(std::span<const float> values) {
    std::vector<std::uint32_t> bits;
    for (float v : values) bits.push_back(std::bit_cast<std::uint32_t>(v));
    return bits;
}

// field: &ParameterView::value or &ParameterView::gradient. push_back, not insert: g++ 12 warns falsely about
// inserting a span (-Wstringop-overflow).
template <class Net>
std::vector<float> flattened(Net& net, std::span<float> ParameterView::*field) {
    std::vector<float> v;
    net.visit_parameters([&](std::size_t, const ParameterView& p) {
        for (float value : p.*field) v.push_back(value);
    });
    return v;
}
template <class Net>
std::vector<float> parameter_values(Net& net) {
    return flattened(net, &ParameterView::value);
}
template <class Net>
std::vector<float> gradient_values(Net& net) {
    return flattened(net, &ParameterView::gradient);
}
// Every non-trainable value (running statistics), in visit_state order.
template <class Net>
std::vector<float> state_values(Net& net) {
    std::vector<float> v;
    net.visit_state([&](std::size_t, const StateView& s) {
        for (float value : s.value) v.push_back(value);
    });
    return v;
}

// Parameters, then state, bit for bit: what a failed load must leave unchanged and a round trip reproduce.
template <class Net>
std::vector<std::uint32_t> parameter_and_state_bits(Net& net) {
    std::vector<std::uint32_t> bits = bits_of(parameter_values(net));
    const std::vector<std::uint32_t> state = bits_of(state_values(net));
    bits.insert(bits.end(), state.begin(), state.end());
    return bits;
}

}  // namespace ctnn::testing
