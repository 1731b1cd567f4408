#pragma once
// Sequential<Input<...>, Layers...>: a flat list of layer specs, bound left to right to the shape before each.
// It owns the parameters (on the heap: a 5408x128 Dense is 2.8 MB) and a workspace for batches of up to
// max_batch samples, allocated once at construction.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ctnn/config.hpp"
#include "ctnn/core/buffer.hpp"
#include "ctnn/core/random.hpp"
#include "ctnn/layers/input.hpp"
#include "ctnn/layers/layer.hpp"
#include "ctnn/network/summary.hpp"

namespace ctnn {

namespace detail {

// Binds each spec to the output shape of the one before it. Recursion depth = layer count; the user only
// ever sees the flat list.
template <class InputShape, class... Specs>
struct bind_chain {
    using layers = std::tuple<>;
    using output_shape = InputShape;
};
template <class InputShape, class First, class... Rest>
struct bind_chain<InputShape, First, Rest...> {
    using bound = typename First::template bind<InputShape>;
    static_assert(BoundLayer<bound>, "a layer must satisfy ctnn::BoundLayer once bound");
    using next = bind_chain<typename bound::output_shape, Rest...>;
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
constexpr LayerSummary shape_row(std::string_view kind, std::size_t parameters) {
    static_assert(S::rank <= 4, "summaries print shapes of rank 4 at most");
    LayerSummary row{kind, {}, S::rank, parameters};
    for (std::size_t i = 0; i < S::rank; ++i) row.output_dims[i] = S::dims[i];
    return row;
}

}  // namespace detail

template <class InputSpec, class... Specs>
class Sequential {
    static_assert(is_input<InputSpec>::value, "Sequential must start with Input<...>, the shape of one sample");
    static_assert(sizeof...(Specs) > 0, "Sequential needs at least one layer after its Input");
    using chain = detail::bind_chain<typename InputSpec::shape, Specs...>;

public:
    using layers_type = typename chain::layers;
    using input_shape = typename InputSpec::shape;
    using output_shape = typename chain::output_shape;
    static constexpr std::size_t layer_count = sizeof...(Specs);
    static constexpr std::size_t parameter_count = (std::size_t{0} + ... + Specs::parameter_count);

    template <std::size_t I>
    using layer_type = std::tuple_element_t<I, layers_type>;

    // Changes whenever a layer, a shape or a permutation changes; saved model files carry it.
    static constexpr std::uint64_t architecture_hash = [] {
        std::uint64_t h = detail::fingerprint_of<>("Sequential");
        for (std::size_t d : input_shape::dims) h = detail::fnv_mix(h, d);
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((h = detail::fnv_mix(h, layer_type<I>::fingerprint)), ...);
            return h;
        }(std::make_index_sequence<layer_count>{});
    }();

    // The summary, row by row, as a constant expression: static_assert(Net::summary_rows[0].parameters == 320).
    static constexpr std::array<LayerSummary, layer_count> summary_rows =
        []<std::size_t... I>(std::index_sequence<I...>) {
            return std::array<LayerSummary, layer_count>{detail::shape_row<typename layer_type<I>::output_shape>(
                layer_type<I>::kind, layer_type<I>::parameter_count)...};
        }(std::make_index_sequence<layer_count>{});

    // Activations, gradients and per-layer scratch for batches of up to max_batch samples. One per thread
    // for concurrent inference; the network keeps one of its own for training.
    class Workspace {
    public:
        explicit Workspace(std::size_t max_batch = default_max_batch)
            : max_batch_(max_batch), layer_workspaces_(detail::workspaces_of<layers_type>::make(max_batch)) {
            if (max_batch == 0) throw std::invalid_argument("Sequential: max_batch must be positive");
            for_each_index([&](auto i) {
                activations_[i].resize(max_batch * layer_type<i>::output_shape::size);
                gradient_size_ = std::max(gradient_size_, max_batch * layer_type<i>::input_shape::size);
            });
            gradients_[0].resize(gradient_size_);
            gradients_[1].resize(gradient_size_);
            output_gradient_.resize(max_batch * output_shape::size);
        }
        std::size_t max_batch() const noexcept { return max_batch_; }
        // Output of layer I for the last forward pass.
        template <std::size_t I>
        std::span<const float> activation(std::size_t n) const noexcept {
            return {activations_[I].data(), n * layer_type<I>::output_shape::size};
        }
        // Scratch for the loss gradient with respect to the network's output (max_batch rows).
        std::span<float> output_gradient() noexcept { return output_gradient_; }
        template <std::size_t I>
        auto& layer_workspace() noexcept {
            return std::get<I>(layer_workspaces_);
        }

    private:
        friend Sequential;
        std::size_t max_batch_;
        std::size_t gradient_size_ = 0;
        std::array<Buffer, layer_count> activations_;
        std::array<Buffer, 2> gradients_;  // ping-pong between consecutive layers' input gradients
        Buffer output_gradient_;
        typename detail::workspaces_of<layers_type>::type layer_workspaces_;
    };

    explicit Sequential(seed s = seed{0}, std::size_t max_batch = default_max_batch,
                        Initializer init = Initializer::glorot_uniform)
        : layers_(std::make_unique<layers_type>()), workspace_(max_batch) {
        initialize(s, init);
    }
    Sequential(const Sequential& other)
        : layers_(std::make_unique<layers_type>(*other.layers_)), workspace_(other.workspace_.max_batch()) {}
    Sequential& operator=(const Sequential& other) {
        if (this != &other) *layers_ = *other.layers_;
        return *this;
    }
    Sequential(Sequential&&) noexcept = default;
    Sequential& operator=(Sequential&&) noexcept = default;

    // Fresh parameters: each layer draws from its own stream split off the seed, so inserting a
    // parameter-free layer does not change the others' initial weights.
    void initialize(seed s, Initializer init = Initializer::glorot_uniform) {
        Rng root(s.value);
        for_each_index([&](auto i) {
            Rng stream = root.split();
            std::get<i>(*layers_).initialize(stream, init);
        });
    }

    template <std::size_t I>
    layer_type<I>& layer() noexcept {
        return std::get<I>(*layers_);
    }
    template <std::size_t I>
    const layer_type<I>& layer() const noexcept {
        return std::get<I>(*layers_);
    }

    Workspace& workspace() noexcept { return workspace_; }
    std::size_t max_batch() const noexcept { return workspace_.max_batch(); }

    // Runs n samples (n * input_shape::size floats, NHWC) through every layer; returns the output of the last.
    // const: several threads may each run their own Workspace on one network.
    std::span<const float> forward(const float* x, std::size_t n, Workspace& ws, Pass pass = Pass::inference) const {
        check_batch(n, ws);
        const float* in = x;
        for_each_index([&](auto i) {
            std::get<i>(*layers_).forward(in, ws.activations_[i].data(), n, std::get<i>(ws.layer_workspaces_), pass);
            in = ws.activations_[i].data();
        });
        return {ws.activations_[layer_count - 1].data(), n * output_shape::size};
    }
    std::span<const float> forward(const float* x, std::size_t n, Pass pass = Pass::inference) {
        return forward(x, n, workspace_, pass);
    }

    // Back-propagates grad_output, the loss gradient with respect to the output of layer `last` (default: the
    // network's output), through layers last..0 after a forward pass on the same x. Parameter gradients
    // accumulate; grad_input receives the gradient with respect to x when not null.
    void backward(const float* x, const float* grad_output, std::size_t n, Workspace& ws,
                  std::size_t last = layer_count - 1, float* grad_input = nullptr) {
        check_batch(n, ws);
        if (last >= layer_count) throw std::out_of_range("Sequential::backward: no such layer");
        const float* dy = grad_output;
        std::size_t next_buffer = 0;
        for_each_index_reversed([&](auto i) {
            if (i > last) return;
            float* dx = i == 0 ? grad_input : ws.gradients_[next_buffer].data();
            const float* x_i = i == 0 ? x : ws.activations_[i - (i > 0)].data();
            std::get<i>(*layers_).backward(x_i, ws.activations_[i].data(), dy, dx, n,
                                           std::get<i>(ws.layer_workspaces_));
            dy = dx;
            next_buffer ^= 1u;
        });
    }
    void backward(const float* x, const float* grad_output, std::size_t n) { backward(x, grad_output, n, workspace_); }

    void zero_gradients() {
        visit_parameters([](std::size_t, const ParameterView& p) { std::fill(p.gradient.begin(), p.gradient.end(), 0.0f); });
    }

    // visit(layer_index, ParameterView) for every parameter tensor, in layer order.
    template <class F>
    void visit_parameters(F&& visit) {
        for_each_index([&](auto i) {
            std::get<i>(*layers_).visit_parameters([&](const ParameterView& p) { visit(std::size_t{i}, p); });
        });
    }

    // Names like "Conv2D<3,3,1,32>", one per layer.
    static std::vector<std::string> layer_names() {
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
            return std::vector<std::string>{layer_type<I>::name()...};
        }(std::make_index_sequence<layer_count>{});
    }

    // Printable like Keras' model.summary().
    static std::string summary(std::string_view model_name = "sequential") {
        return detail::format_summary(model_name, layer_names(),
                                      std::vector<LayerSummary>(summary_rows.begin(), summary_rows.end()),
                                      detail::shape_row<input_shape>("Input", 0));
    }

private:
    template <class F>
    static constexpr void for_each_index(F&& f) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (f(std::integral_constant<std::size_t, I>{}), ...);
        }(std::make_index_sequence<layer_count>{});
    }
    template <class F>
    static constexpr void for_each_index_reversed(F&& f) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (f(std::integral_constant<std::size_t, layer_count - 1 - I>{}), ...);
        }(std::make_index_sequence<layer_count>{});
    }
    static void check_batch(std::size_t n, const Workspace& ws) {
        if (n == 0 || n > ws.max_batch())
            throw std::invalid_argument("Sequential: batch of " + std::to_string(n) +
                                        " samples, the workspace holds 1.." + std::to_string(ws.max_batch()));
    }

    std::unique_ptr<layers_type> layers_;
    Workspace workspace_;
};

}  // namespace ctnn
