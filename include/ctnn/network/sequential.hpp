#pragma once
// Sequential<Input<...>, Layers...>: a LayerChain bound to the shape of one sample, owning its layers (on the
// heap: a 5408x128 Dense is 2.8 MB) and a workspace for batches of up to max_batch samples, allocated once at
// construction. It binds, owns parameters and state, and runs ranges of layers; how a training step is spread
// over threads is the training engine's (train/step_plan.hpp).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "ctnn/config.hpp"
#include "ctnn/core/buffer.hpp"
#include "ctnn/core/random.hpp"
#include "ctnn/io/embedded.hpp"
#include "ctnn/layers/input.hpp"
#include "ctnn/layers/layer.hpp"
#include "ctnn/network/chain.hpp"
#include "ctnn/network/summary.hpp"

namespace ctnn {

template <class InputSpec, class... Specs>
class Sequential {
    static_assert(is_input<InputSpec>::value, "Sequential must start with Input<...>, the shape of one sample");
    static_assert(sizeof...(Specs) > 0, "Sequential needs at least one layer after its Input");

public:
    using chain = LayerChain<typename InputSpec::shape, Specs...>;
    using layers_type = typename chain::layers_type;
    using input_shape = typename chain::input_shape;
    using output_shape = typename chain::output_shape;
    using Workspace = typename chain::Workspace;
    template <std::size_t I>
    using layer_type = typename chain::template layer_type<I>;

    static constexpr std::size_t layer_count = chain::layer_count;
    // Trainable floats (PyTorch's parameters()) and non-trainable state (Keras' "Non-trainable params").
    static constexpr std::size_t parameter_count = chain::parameter_count;
    static constexpr std::size_t state_count = chain::state_count;
    static constexpr std::array<std::size_t, layer_count> parameter_counts = chain::parameter_counts;
    static constexpr std::array<std::size_t, layer_count> parameter_offsets = chain::parameter_offsets;
    static constexpr std::size_t first_trainable_layer = chain::first_trainable_layer;
    static constexpr std::size_t forward_flops_per_sample = chain::forward_flops_per_sample;
    static constexpr std::size_t multiply_adds_per_sample = chain::multiply_adds_per_sample;
    static constexpr bool couples_batch = chain::couples_batch;
    template <std::size_t I>
    static constexpr bool shares_input_buffer = chain::template shares_input_buffer<I>;

    // Changes whenever a layer, a shape or a permutation changes; saved model files carry it.
    static constexpr std::uint64_t architecture_hash = chain::fingerprint("Sequential");

    // The summary, row by row, as a constant expression: static_assert(Net::summary_rows[0].parameters == 320).
    static constexpr std::array<LayerSummary, layer_count> summary_rows = chain::summary_rows;

    explicit Sequential(seed s = seed{0}, std::size_t max_batch = default_max_batch,
                        Initializer init = Initializer::glorot_uniform)
        : layers_(detail::make_aligned_unique<layers_type>()), workspace_(max_batch) {
        initialize(s, init);
    }
    // Parameters and state compiled into the program (a header written by ctnn_embed, io/embedded.hpp): the
    // network that Sequential{} becomes after load() of the model file the header was made from, bit for bit. A
    // header of another architecture does not compile.
    template <std::uint64_t Hash, std::size_t ValueCount>
    explicit Sequential(const io::EmbeddedParameters<Hash, ValueCount>& embedded,
                        std::size_t max_batch = default_max_batch)
        : Sequential(seed{0}, max_batch) {
        io::load(*this, embedded);
    }
    // A copy has the same parameters and state and gets a fresh workspace.
    Sequential(const Sequential& other)
        : layers_(detail::make_aligned_unique<layers_type>(*other.layers_)), workspace_(other.workspace_.max_batch()) {}
    Sequential& operator=(const Sequential& other) {
        if (this != &other) *layers_ = *other.layers_;
        return *this;
    }
    Sequential(Sequential&&) noexcept = default;
    Sequential& operator=(Sequential&&) noexcept = default;

    // Fresh parameters and state: each layer draws from its own stream split off the seed, so inserting a
    // parameter-free layer does not change the others' initial weights.
    void initialize(seed s, Initializer init = Initializer::glorot_uniform) {
        Rng root(s.value);
        chain::initialize(*layers_, root, init);
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
        return {forward_layers<0, layer_count>(x, n, ws, pass), n * output_shape::size};
    }
    std::span<const float> forward(const float* x, std::size_t n, Pass pass = Pass::inference) {
        return forward(x, n, workspace_, pass);
    }
    // Runs layers [First, End) on `in`, the output of layer First - 1 (or the network's input); returns where
    // the output of layer End - 1 is (`in` itself for an empty range). n must fit the workspace (unchecked).
    template <std::size_t First, std::size_t End>
    const float* forward_layers(const float* in, std::size_t n, Workspace& ws, Pass pass) const {
        return chain::template forward_layers<First, End>(*layers_, in, n, ws, pass);
    }

    // Back-propagates grad_output, the loss gradient with respect to the output of layer `last` (default: the
    // network's output), through layers last..0 after a training forward pass on the same x. Parameter
    // gradients accumulate into the layers' own tensors, or into `gradients` (parameter_count floats, in
    // visit_parameters order) when given; GradientUpdate::overwrite replaces what was there instead (in layers
    // 0..last; those above `last` are not touched). grad_input receives the gradient with respect to x when not
    // null; without it, back-propagation stops at the first layer with parameters (nothing below needs a
    // gradient). Layers with state commit the training forward's statistics here.
    void backward(const float* x, const float* grad_output, std::size_t n, Workspace& ws,
                  std::size_t last = layer_count - 1, float* grad_input = nullptr, float* gradients = nullptr,
                  GradientUpdate update = GradientUpdate::accumulate) {
        check_batch(n, ws);
        if (last >= layer_count) throw std::out_of_range("Sequential::backward: no such layer");
        backward_layers<0>(x, grad_output, n, ws, last, grad_input, {gradients, update});
    }
    void backward(const float* x, const float* grad_output, std::size_t n) { backward(x, grad_output, n, workspace_); }
    // backward() through layers last..Lowest only (none when last < Lowest); returns the gradient with respect
    // to the input of the lowest layer it ran (grad_output when it ran none), or null when that layer did not
    // need one. grad_input is used by layer 0 only. Arguments as for backward(), unchecked.
    template <std::size_t Lowest>
    const float* backward_layers(const float* x, const float* grad_output, std::size_t n, Workspace& ws,
                                 std::size_t last, float* grad_input, GradientTarget target) {
        return chain::template backward_layers<Lowest>(*layers_, x, grad_output, n, ws, last, grad_input, target);
    }

    void zero_gradients() {
        visit_parameters(
            [](std::size_t, const ParameterView& p) { std::fill(p.gradient.begin(), p.gradient.end(), 0.0f); });
    }

    // visit(layer_index, ParameterView) for every trainable tensor, in layer order.
    template <class F>
    void visit_parameters(F&& visit) {
        chain::visit_parameters(*layers_, visit);
    }
    // visit(layer_index, StateView) for every non-trainable tensor (running statistics), in layer order.
    template <class F>
    void visit_state(F&& visit) {
        chain::visit_state(*layers_, visit);
    }

    // Names like "Conv2D<3,3,1,32>", one per layer.
    static std::vector<std::string> layer_names() { return chain::layer_names(); }

    // Printable like Keras' model.summary(), with a FLOPs column (per sample, forward).
    static std::string summary(std::string_view model_name = "sequential") {
        return detail::format_summary(model_name, layer_names(),
                                      std::vector<LayerSummary>(summary_rows.begin(), summary_rows.end()),
                                      detail::shape_row<input_shape>("Input", 0, 0, 0, 0));
    }

private:
    static void check_batch(std::size_t n, const Workspace& ws) {
        if (n == 0 || n > ws.max_batch())
            throw std::invalid_argument("Sequential: batch of " + std::to_string(n) +
                                        " samples, the workspace holds 1.." + std::to_string(ws.max_batch()));
    }

    detail::aligned_unique_ptr<layers_type> layers_;  // the weights: large ones get huge pages
    Workspace workspace_;
};

}  // namespace ctnn
