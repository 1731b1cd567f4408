#pragma once
// What every layer provides. A layer template (Dense<784,128>) is a *spec*: it knows its own parameters but
// not the size of the image it will see. Sequential binds it to the shape before it with
// `typename Spec::template bind<InputShape>`; the bound layer knows input_shape, output_shape and does the work.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "ctnn/core/random.hpp"
#include "ctnn/core/shape.hpp"

namespace ctnn {

// Training enables dropout and makes layers keep what their backward pass needs.
enum class Pass { inference, training };

// Weight initialisation. Biases always start at zero (the Keras default).
enum class Initializer {
    glorot_uniform,  // U(-a, a), a = sqrt(6 / (fan_in + fan_out)): Keras' default
    he_normal,       // N(0, 2 / fan_in), for ReLU networks (not truncated, unlike Keras)
};

// Named so that a failed composition prints the layer and the shape it was given, e.g.
// shape_mismatch<ctnn::Dense<784, 128>, ctnn::Shape<26, 26, 32>>. Always false.
template <class LayerSpec, class InputShape>
struct shape_mismatch : std::false_type {};

// A view of one parameter tensor and its gradient, as optimisers and the file format see them.
struct ParameterView {
    std::string_view name;  // "weights" or "bias"
    std::span<float> value;
    std::span<float> gradient;
    std::span<const std::size_t> shape;
};

// What a backward pass does with the parameter gradients it computes: add them to what is there (the default:
// gradients of several batches can be summed), or overwrite it (a training step, which would otherwise first
// have to clear every gradient: one pass over all parameters per step).
enum class GradientUpdate { accumulate, overwrite };

// Workspace of a layer that needs no scratch memory.
struct NoWorkspace {
    explicit NoWorkspace(std::size_t /*max_batch*/) noexcept {}
};

// The parameter-free half of the contract, shared by activations, pooling, reshapes.
struct ParameterFree {
    static constexpr std::size_t parameter_count = 0;
    void initialize(Rng& /*rng*/, Initializer /*init*/) noexcept {}
    template <class F>
    void visit_parameters(F&& /*visit*/) noexcept {}
};

namespace detail {
// FNV-1a, constexpr: the architecture fingerprint a saved model carries.
constexpr std::uint64_t fnv_offset = 0xcbf29ce484222325ULL;
constexpr std::uint64_t fnv_mix(std::uint64_t h, std::uint64_t value) noexcept {
    for (int byte = 0; byte < 8; ++byte) {
        h ^= (value >> (8 * byte)) & 0xFFu;
        h *= 0x100000001b3ULL;
    }
    return h;
}
constexpr std::uint64_t fnv_mix(std::uint64_t h, std::string_view text) noexcept {
    for (char c : text) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    return fnv_mix(h, text.size());
}
template <std::size_t... Values>
constexpr std::uint64_t fingerprint_of(std::string_view kind) noexcept {
    std::uint64_t h = fnv_mix(fnv_offset, kind);
    ((h = fnv_mix(h, Values)), ...);
    return h;
}
template <std::size_t... Values>
std::string template_name(std::string_view kind) {
    std::string text(kind);
    if constexpr (sizeof...(Values) > 0) {
        text += '<';
        bool first = true;
        ((text += (first ? "" : ","), text += std::to_string(Values), first = false), ...);
        text += '>';
    }
    return text;
}
}  // namespace detail

// A bound layer: shapes known, forward and backward over a run-time batch of n <= max_batch samples (NHWC,
// one sample after another). forward is const so that several threads may run inference on one network,
// each with its own workspace; backward accumulates the parameter gradients the layer owns.
template <class L>
concept BoundLayer =
    ShapeType<typename L::input_shape> && ShapeType<typename L::output_shape> &&
    std::constructible_from<typename L::workspace, std::size_t> && requires(
        L& layer, const L& const_layer, const float* x, const float* y, const float* dy, float* out, std::size_t n,
        typename L::workspace& ws, Rng& rng) {
        { L::parameter_count } -> std::convertible_to<std::size_t>;
        { L::fingerprint } -> std::convertible_to<std::uint64_t>;
        { L::kind } -> std::convertible_to<std::string_view>;
        { L::name() } -> std::convertible_to<std::string>;
        const_layer.forward(x, out, n, ws, Pass::inference);
        layer.backward(x, y, dy, out, n, ws);
        layer.initialize(rng, Initializer::glorot_uniform);
        layer.visit_parameters([](const ParameterView&) {});
    };

// A layer spec that can follow a layer yielding InputShape.
template <class Spec, class InputShape>
concept LayerFor = ShapeType<InputShape> && requires { Spec::parameter_count; } &&
                   BoundLayer<typename Spec::template bind<InputShape>>;

}  // namespace ctnn
