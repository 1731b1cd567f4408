#pragma once
// LayerChain<InputShape, Specs...>: a flat list of layer specs bound left to right to the shape before each, and
// the algorithms over such a list: forward and backward over ranges of layers, the parameter and state walks,
// initialisation. Sequential is a chain that owns its layers on the heap; Residual is a chain inside a layer.
// A chain knows its layers only through the contract (layers/layer.hpp).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ctnn/config.hpp"
#include "ctnn/core/buffer.hpp"
#include "ctnn/core/parallel.hpp"
#include "ctnn/core/random.hpp"
#include "ctnn/layers/layer.hpp"
#include "ctnn/network/summary.hpp"

namespace ctnn {

namespace detail {

// Stands in for a layer that failed to bind, and for every layer after it, so that the static_assert naming
// the mismatch stays the only error: clang drops the members of a class whose static_assert failed, and
// without this the chain goes on to "no type named 'output_shape'" and "workspaces_of<int>".
template <class InputShape>
struct unbound_layer : ParameterFree {
    using input_shape = InputShape;
    using output_shape = InputShape;
    using workspace = NoWorkspace;
    static constexpr std::string_view kind = "unbound";
    static constexpr std::uint64_t fingerprint = 0;
    static std::string name() { return "unbound"; }
    void forward(const float*, float*, std::size_t, workspace&, Pass) const noexcept {}
    void backward(const float*, const float*, const float*, float*, std::size_t, workspace&,
                  GradientTarget = {}) noexcept {}
};

// Binds each spec to the output shape of the one before it. Recursion depth = layer count; the user only
// ever sees the flat list.
template <class InputShape, class... Specs>
struct bind_chain {
    using layers = std::tuple<>;
    using output_shape = InputShape;
};
template <class InputShape, class... Specs>
struct unbound_chain {
    using layers = std::tuple<unbound_layer<InputShape>, unbound_layer<std::conditional_t<true, InputShape, Specs>>...>;
    using output_shape = InputShape;
};
template <bool Bound, class Layer, class InputShape, class... Rest>
struct continue_chain {
    using bound = Layer;
    using next = bind_chain<typename Layer::output_shape, Rest...>;
};
template <class Layer, class InputShape, class... Rest>
struct continue_chain<false, Layer, InputShape, Rest...> {
    using bound = unbound_layer<InputShape>;
    using next = unbound_chain<InputShape, Rest...>;
};
template <class InputShape, class First, class... Rest>
struct bind_chain<InputShape, First, Rest...> {
    using spec_bound = typename First::template bind<InputShape>;
    static_assert(BoundLayer<spec_bound>, "a layer must satisfy ctnn::BoundLayer once bound (see layers/layer.hpp)");
    using step = continue_chain<BoundLayer<spec_bound>, spec_bound, InputShape, Rest...>;
    using bound = typename step::bound;
    using next = typename step::next;
    using layers = decltype(std::tuple_cat(std::declval<std::tuple<bound>>(), std::declval<typename next::layers>()));
    using output_shape = typename next::output_shape;
};

template <class Tuple>
struct workspaces_of;
template <class... Bound>
struct workspaces_of<std::tuple<Bound...>> {
    using type = std::tuple<typename Bound::workspace...>;
    static type make(std::size_t max_batch) { return type(typename Bound::workspace(max_batch)...); }
};

template <ShapeType S>
constexpr LayerSummary shape_row(std::string_view kind, std::size_t parameters, std::size_t state, std::size_t flops,
                                 std::size_t multiply_adds) {
    static_assert(S::rank <= 4, "summaries print shapes of rank 4 at most");
    LayerSummary row{kind, {}, S::rank, parameters, state, flops, multiply_adds, S::size * sizeof(float)};
    for (std::size_t i = 0; i < S::rank; ++i) row.output_dims[i] = S::dims[i];
    return row;
}

}  // namespace detail

template <ShapeType InputShape, class... Specs>
class LayerChain {
    using binding = detail::bind_chain<InputShape, Specs...>;

public:
    using layers_type = typename binding::layers;
    using input_shape = InputShape;
    using output_shape = typename binding::output_shape;
    static constexpr std::size_t layer_count = sizeof...(Specs);

    template <std::size_t I>
    using layer_type = std::tuple_element_t<I, layers_type>;

private:
    template <class F>
    static constexpr auto over_layers(F&& f) {
        return [&]<std::size_t... I>(std::index_sequence<I...>) { return f(std::type_identity<layer_type<I>>{}...); }
        (std::make_index_sequence<layer_count>{});
    }

public:
    static constexpr std::array<std::size_t, layer_count> parameter_counts = over_layers(
        []<class... L>(std::type_identity<L>...) {
            return std::array<std::size_t, layer_count>{L::parameter_count...};
        });
    static constexpr std::array<std::size_t, layer_count> state_counts = over_layers(
        []<class... L>(std::type_identity<L>...) { return std::array<std::size_t, layer_count>{L::state_count...}; });
    static constexpr std::size_t parameter_count = over_layers(
        []<class... L>(std::type_identity<L>...) { return (std::size_t{0} + ... + L::parameter_count); });
    static constexpr std::size_t state_count = over_layers(
        []<class... L>(std::type_identity<L>...) { return (std::size_t{0} + ... + L::state_count); });
    // Floating-point operations of one sample's forward pass.
    static constexpr std::size_t forward_flops_per_sample = over_layers(
        []<class... L>(std::type_identity<L>...) { return (std::size_t{0} + ... + flops_per_sample_of<L>()); });
    static constexpr std::size_t multiply_adds_per_sample = over_layers(
        []<class... L>(std::type_identity<L>...) { return (std::size_t{0} + ... + multiply_adds_per_sample_of<L>()); });
    // Whether a training forward mixes the samples of a batch in some layer (BatchNorm).
    static constexpr bool couples_batch = over_layers(
        []<class... L>(std::type_identity<L>...) { return (false || ... || CouplesBatch<L>); });

    // Layer I, a non-decreasing element-wise activation directly before a layer that can absorb it (a
    // max-pooling), runs inside that layer's pass (AbsorbsActivation): its output is never stored.
    template <std::size_t I>
    static constexpr bool activation_absorbed_by_next = [] {
        if constexpr (I + 1 >= layer_count || I == 0) {  // the chain's input belongs to the caller
            return false;
        } else if constexpr (ElementwiseActivation<layer_type<I>>) {
            using A = typename layer_type<I>::activation;
            if constexpr (A::non_decreasing)
                return AbsorbsActivation<layer_type<I + 1>, A>;
            else
                return false;
        } else {
            return false;
        }
    }();
    template <std::size_t I>
    static constexpr bool absorbs_previous_activation = [] {
        if constexpr (I == 0)
            return false;
        else
            return activation_absorbed_by_next<I - 1>;
    }();

    // Layer I, an element-wise activation that no layer after it absorbs, directly after a layer that runs it in
    // its epilogue (FusesActivation): the two run as one, and layer I - 1's own output is never stored. Layer
    // I - 1 must not itself run an activation before it (a max-pooling that absorbed one).
    template <std::size_t I>
    static constexpr bool activation_fused_into_previous = [] {
        if constexpr (I == 0 || I >= layer_count) {
            return false;
        } else if constexpr (!ElementwiseActivation<layer_type<I>> || activation_absorbed_by_next<I>) {
            return false;
        } else if constexpr (absorbs_previous_activation<I - 1>) {
            return false;
        } else {
            return FusesActivation<layer_type<I - 1>, typename layer_type<I>::activation>;
        }
    }();
    template <std::size_t I>
    static constexpr bool fuses_next_activation = activation_fused_into_previous<I + 1>;

    // Layer I, sample-separable, then an activation absorbed by layer I + 2, which also absorbs producers
    // (AbsorbsProducer: a Conv2D, ReLU, MaxPool2D): when the kernels run on one thread the three run image by
    // image inside layer I + 2's passes, with the same bits as unfused, and layer I's output is not stored.
    template <std::size_t I>
    static constexpr bool producer_absorbed = [] {
        if constexpr (I + 2 >= layer_count) {
            return false;
        } else if constexpr (!activation_absorbed_by_next<I + 1> || !SampleSeparable<layer_type<I>>) {
            return false;
        } else {
            return AbsorbsProducer<layer_type<I + 2>, layer_type<I>, typename layer_type<I + 1>::activation>;
        }
    }();
    template <std::size_t I>
    static constexpr bool absorbs_producer = [] {
        if constexpr (I < 2)
            return false;
        else
            return producer_absorbed<I - 2>;
    }();

    // A reshape-only layer, or an absorbed or fused activation, shares the buffer of the layer before it (a fused
    // activation's output replaces its producer's there). A reshape-only first layer reads the chain's input in
    // place: its output is the caller's input itself, which nothing writes.
    template <std::size_t I>
    static constexpr bool shares_input_buffer = [] {
        if constexpr (I == 0)
            return ReshapeOnly<layer_type<0>>;
        else
            return activation_absorbed_by_next<I> || activation_fused_into_previous<I> || ReshapeOnly<layer_type<I>>;
    }();
    // The layer whose buffer holds layer I's output (0 also when that output is the chain's input).
    static constexpr std::array<std::size_t, layer_count> output_owner = []<std::size_t... I>(
        std::index_sequence<I...>) {
        std::array<bool, layer_count> shares{shares_input_buffer<I>...};
        std::array<std::size_t, layer_count> owner{};
        for (std::size_t i = 1; i < layer_count; ++i) owner[i] = shares[i] ? owner[i - 1] : i;
        return owner;
    }
    (std::make_index_sequence<layer_count>{});
    // Whether layer I's output is the chain's input itself (a reshape-only first layer, and what shares with it).
    template <std::size_t I>
    static constexpr bool output_is_input = output_owner[I] == 0 && shares_input_buffer<0>;

    // Index of the first layer with parameters (layer_count if none): nothing below it needs a gradient.
    static constexpr std::size_t first_trainable_layer = [] {
        for (std::size_t i = 0; i < layer_count; ++i)
            if (parameter_counts[i] > 0) return i;
        return layer_count;
    }();
    // Where each layer's parameters start in the flat visit_parameters order.
    static constexpr std::array<std::size_t, layer_count> parameter_offsets = [] {
        std::array<std::size_t, layer_count> offsets{};
        for (std::size_t i = 1; i < layer_count; ++i) offsets[i] = offsets[i - 1] + parameter_counts[i - 1];
        return offsets;
    }();

    // Changes whenever a layer, a shape or a hyper-parameter changes.
    static constexpr std::uint64_t fingerprint(std::string_view kind) noexcept {
        std::uint64_t h = layer_fingerprint<>(kind);
        for (std::size_t d : input_shape::dims) h = fingerprint_mix(h, d);
        return over_layers([&]<class... L>(std::type_identity<L>...) {
            ((h = fingerprint_mix(h, L::fingerprint)), ...);
            return h;
        });
    }

    // One summary row per layer, as a constant expression.
    static constexpr std::array<LayerSummary, layer_count> summary_rows = over_layers(
        []<class... L>(std::type_identity<L>...) {
            return std::array<LayerSummary, layer_count>{detail::shape_row<typename L::output_shape>(
                L::kind, L::parameter_count, L::state_count, flops_per_sample_of<L>(),
                multiply_adds_per_sample_of<L>())...};
        });
    // Names like "Conv2D<3,3,1,32>", one per layer.
    static std::vector<std::string> layer_names() {
        return over_layers([]<class... L>(std::type_identity<L>...) { return std::vector<std::string>{L::name()...}; });
    }

    // Activations, gradients and per-layer scratch for batches of up to max_batch samples. One per thread for
    // concurrent inference.
    class Workspace {
    public:
        explicit Workspace(std::size_t max_batch = default_max_batch)
            : max_batch_(max_batch), layer_workspaces_(detail::workspaces_of<layers_type>::make(max_batch)) {
            if (max_batch == 0) throw std::invalid_argument("Workspace: max_batch must be positive");
            for_each_index([&](auto i) {
                if constexpr (!shares_input_buffer<i>)
                    activations_[i].resize(max_batch * layer_type<i>::output_shape::size);
                gradient_size_ = std::max(gradient_size_, max_batch * layer_type<i>::input_shape::size);
            });
            gradients_[0].resize(gradient_size_);
            gradients_[1].resize(gradient_size_);
            output_gradient_.resize(max_batch * output_shape::size);
        }
        std::size_t max_batch() const noexcept { return max_batch_; }
        // Output of layer I for the last forward pass (an absorbed activation shows its input; a layer that fused
        // the activation after it, fuses_next_activation<I>, shows that activation's output; a reshape-only first
        // layer, output_is_input<I>, the caller's input of that pass, which must still exist; a producer that a
        // pooling absorbed, producer_absorbed<I>, keeps nothing here when the pass ran fused).
        template <std::size_t I>
        std::span<const float> activation(std::size_t n) const noexcept {
            return {output_of<I>(input_), n * layer_type<I>::output_shape::size};
        }
        // Where layer I's output goes (max_batch rows): a caller that runs layer I itself writes it there
        // before running the layers above it.
        template <std::size_t I>
        std::span<float> output_buffer() noexcept {
            static_assert(!output_is_input<I>, "this layer's output is the chain's input itself: it has no buffer");
            return activations_[output_owner[I]];
        }
        // Scratch for the loss gradient with respect to the chain's output (max_batch rows).
        std::span<float> output_gradient() noexcept { return output_gradient_; }
        template <std::size_t I>
        auto& layer_workspace() noexcept {
            return std::get<I>(layer_workspaces_);
        }

    private:
        friend LayerChain;
        // Layer I's output after a forward pass whose chain input was x.
        template <std::size_t I>
        const float* output_of(const float* x) const noexcept {
            if constexpr (output_is_input<I>)
                return x;
            else
                return activations_[output_owner[I]].data();
        }
        // One of the two input-gradient buffers: the one that does not hold `in_use`.
        float* gradient_buffer_besides(const float* in_use) noexcept {
            return in_use == gradients_[0].data() ? gradients_[1].data() : gradients_[0].data();
        }
        std::size_t max_batch_;
        std::size_t gradient_size_ = 0;
        const float* input_ = nullptr;  // the chain's input in the last forward pass from layer 0
        std::array<Buffer, layer_count> activations_;
        std::array<Buffer, 2> gradients_;  // ping-pong between consecutive layers' input gradients
        Buffer output_gradient_;
        typename detail::workspaces_of<layers_type>::type layer_workspaces_;
    };

    // Fresh parameters: each layer draws from its own stream split off `rng`, so inserting a parameter-free
    // layer does not change the others' initial weights.
    static void initialize(layers_type& layers, Rng& rng, Initializer init) {
        for_each_index([&](auto i) {
            Rng stream = rng.split();
            std::get<i>(layers).initialize(stream, init);
        });
    }

    // Runs layers [First, End) on `in`, the output of layer First - 1 (or the chain's input); returns where the
    // output of layer End - 1 is (`in` itself for an empty range). n must fit the workspace.
    template <std::size_t First, std::size_t End>
    static const float* forward_layers(const layers_type& layers, const float* in, std::size_t n, Workspace& ws,
                                       Pass pass) {
        static_assert(First <= End && End <= layer_count, "forward_layers: no such range of layers");
        if constexpr (First == 0) ws.input_ = in;
        const bool fuse_producers = kernels_run_serially();
        for_each_index([&](auto i) {
            if constexpr (i < First || i >= End) {
                return;
            } else if constexpr (absorbs_previous_activation<i>) {
                using A = typename layer_type<i - 1>::activation;
                auto& layer = std::get<i>(layers);
                auto& layer_ws = std::get<i>(ws.layer_workspaces_);
                float* out = ws.activations_[i].data();
                if constexpr (absorbs_producer<i> && i - 2 >= First)  // `in` is the producer's input
                    if (fuse_producers) {
                        layer.template forward_after<layer_type<i - 2>, A>(
                            std::get<i - 2>(layers), std::get<i - 2>(ws.layer_workspaces_), in, out, n, layer_ws, pass);
                        in = out;
                        return;
                    }
                layer.template forward_then<A>(in, out, n, layer_ws);
                in = out;
            } else if constexpr (activation_fused_into_previous<i>) {
                if constexpr (i - 1 >= First) return;  // its producer ran it
                // The producer ran on its own (the range starts here): the activation runs on its output, in place
                // when `in` is that output's buffer.
                float* out = ws.activations_[output_owner[i]].data();
                layer_type<i>::activation::apply(in, out, n * layer_type<i>::output_shape::size);
                in = out;
            } else if constexpr (!shares_input_buffer<i>) {
                if constexpr (producer_absorbed<i> && i + 2 < End)
                    if (fuse_producers) return;  // its consumer runs it; `in` stays its input
                auto& layer = std::get<i>(layers);
                auto& layer_ws = std::get<i>(ws.layer_workspaces_);
                float* out = ws.activations_[i].data();
                if constexpr (fuses_next_activation<i> && i + 1 < End)
                    layer.template forward_activated<typename layer_type<i + 1>::activation>(in, out, n, layer_ws,
                                                                                             pass);
                else
                    layer.forward(in, out, n, layer_ws, pass);
                in = out;
            }
        });
        return in;
    }

    // Back-propagates grad_output, the loss gradient with respect to the output of layer `last`, through
    // layers last..Lowest (none when last < Lowest) after a training forward on the same x (the chain's input).
    // Parameter gradients go to `target` (offset per layer). grad_input receives the gradient with respect to x
    // when not null (used by layer 0 only); without it, back-propagation stops at the first layer with
    // parameters. Returns the gradient with respect to the input of the lowest layer it ran (grad_output when it
    // ran none), or null when that layer did not need one.
    template <std::size_t Lowest>
    static const float* backward_layers(layers_type& layers, const float* x, const float* grad_output, std::size_t n,
                                        Workspace& ws, std::size_t last, float* grad_input, GradientTarget target) {
        const float* dy = grad_output;
        const bool fuse_producers = kernels_run_serially();
        for_each_index_reversed([&](auto i) {
            if constexpr (i < Lowest) return;
            if (i > last) return;
            if (grad_input == nullptr && i < first_trainable_layer) return;
            if constexpr (activation_fused_into_previous<i>)
                if (i - 1 >= Lowest) return;  // its producer, the layer below, runs its backward pass
            if constexpr (i == 0 && shares_input_buffer<0>) {
                // A reshape of the chain's input: dy is the input gradient as it is.
                if (grad_input != nullptr) {
                    std::copy_n(dy, n * input_shape::size, grad_input);
                    dy = grad_input;
                }
                return;
            }
            if constexpr (shares_input_buffer<i> && !activation_fused_into_previous<i>)
                return;  // its input gradient is dy itself, in place
            if constexpr (producer_absorbed<i>)
                if (fuse_producers && i + 2 <= last) return;  // its consumer, two above, ran it
            const float* y_i = ws.template output_of<i>(x);
            auto& layer = std::get<i>(layers);
            if constexpr (absorbs_producer<i> && i - 2 >= Lowest) {
                if (fuse_producers) {
                    // The producer's (layer i - 2's) input gradient and parameter gradients.
                    constexpr std::size_t p = i - 2;
                    const bool needs_dx = grad_input != nullptr || p > first_trainable_layer;
                    float* dx = !needs_dx ? nullptr : p == 0 ? grad_input : ws.gradient_buffer_besides(dy);
                    const float* x_p = x;
                    if constexpr (p > 0) x_p = ws.template output_of<p - 1>(x);
                    using A = typename layer_type<i - 1>::activation;
                    layer.template backward_after<layer_type<p>, A>(
                        std::get<p>(layers), std::get<p>(ws.layer_workspaces_), x_p, y_i, dy, dx, n,
                        std::get<i>(ws.layer_workspaces_), target.shifted(parameter_offsets[p]));
                    dy = dx;
                    return;
                }
            }
            const bool needs_dx = grad_input != nullptr || i > first_trainable_layer;
            float* dx = !needs_dx ? nullptr : i == 0 ? grad_input : ws.gradient_buffer_besides(dy);
            const float* x_i = x;
            if constexpr (i > 0) x_i = ws.template output_of<i - 1>(x);
            if constexpr (absorbs_previous_activation<i>) {
                using A = typename layer_type<i - 1>::activation;
                layer.template backward_then<A>(y_i, dy, dx, n, std::get<i>(ws.layer_workspaces_));
            } else if constexpr (fuses_next_activation<i>) {
                // y_i is the activation's output; dy is the gradient with respect to it when that ran too.
                if (i + 1 <= last)
                    layer.template backward_activated<typename layer_type<i + 1>::activation>(
                        x_i, y_i, dy, dx, n, std::get<i>(ws.layer_workspaces_), target.shifted(parameter_offsets[i]));
                else
                    layer.backward(x_i, y_i, dy, dx, n, std::get<i>(ws.layer_workspaces_),
                                   target.shifted(parameter_offsets[i]));
            } else {
                layer.backward(x_i, y_i, dy, dx, n, std::get<i>(ws.layer_workspaces_),
                               target.shifted(parameter_offsets[i]));
            }
            dy = dx;
        });
        return dy;
    }

    // visit(layer_index, ParameterView) for every trainable tensor, in layer order.
    template <class F>
    static void visit_parameters(layers_type& layers, F&& visit) {
        for_each_index([&](auto i) {
            std::get<i>(layers).visit_parameters([&](const ParameterView& p) { visit(std::size_t{i}, p); });
        });
    }
    // visit(layer_index, StateView) for every non-trainable tensor, in layer order.
    template <class F>
    static void visit_state(layers_type& layers, F&& visit) {
        for_each_index(
            [&](auto i) { std::get<i>(layers).visit_state([&](const StateView& s) { visit(std::size_t{i}, s); }); });
    }

private:
    template <class F>
    static constexpr void for_each_index(F&& f) {
        [&]<std::size_t... I>(std::index_sequence<I...>) { (f(std::integral_constant<std::size_t, I>{}), ...); }
        (std::make_index_sequence<layer_count>{});
    }
    template <class F>
    static constexpr void for_each_index_reversed(F&& f) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (f(std::integral_constant<std::size_t, layer_count - 1 - I>{}), ...);
        }
        (std::make_index_sequence<layer_count>{});
    }
};

}  // namespace ctnn
