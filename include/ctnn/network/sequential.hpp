#pragma once
// Sequential<Input<...>, Layers...>: a flat list of layer specs, bound left to right to the shape before each.
// It owns the parameters (on the heap: a 5408x128 Dense is 2.8 MB) and a workspace for batches of up to
// max_batch samples, allocated once at construction.

#include <algorithm>
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
#include "ctnn/core/block_balance.hpp"
#include "ctnn/core/buffer.hpp"
#include "ctnn/core/parallel.hpp"
#include "ctnn/core/random.hpp"
#include "ctnn/kernels/elementwise.hpp"
#include "ctnn/layers/input.hpp"
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
    void backward(const float*, const float*, const float*, float*, std::size_t, workspace&) noexcept {}
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
    static_assert(BoundLayer<spec_bound>, "a layer must satisfy ctnn::BoundLayer once bound");
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

    // A ReLU directly before a MaxPool2D is applied after the pooling instead (same values and gradients,
    // a quarter of the work): the pooling layer runs the pair, and the ReLU's output is not stored.
    template <std::size_t I>
    static constexpr bool relu_moved_after_pool = [] {
        if constexpr (I + 1 >= layer_count || I == 0) return false;
        else return layer_type<I>::kind == std::string_view("ReLU") &&
                    layer_type<I + 1>::kind == std::string_view("MaxPool2D");
    }();
    template <std::size_t I>
    static constexpr bool pools_after_relu = [] {
        if constexpr (I == 0) return false;
        else return relu_moved_after_pool<I - 1>;
    }();

    // A layer that only reshapes (Flatten), or a moved ReLU, shares the buffer of the layer before it.
    template <std::size_t I>
    static constexpr bool shares_input_buffer = [] {
        if constexpr (I == 0) return false;  // the network's input belongs to the caller
        else if constexpr (relu_moved_after_pool<I>) return true;
        else if constexpr (requires { layer_type<I>::reshapes_only; }) return layer_type<I>::reshapes_only;
        else return false;
    }();
    // The layer whose buffer holds layer I's output.
    static constexpr std::array<std::size_t, layer_count> output_owner = []<std::size_t... I>(std::index_sequence<I...>) {
        std::array<bool, layer_count> shares{shares_input_buffer<I>...};
        std::array<std::size_t, layer_count> owner{};
        for (std::size_t i = 0; i < layer_count; ++i) owner[i] = shares[i] ? owner[i - 1] : i;
        return owner;
    }(std::make_index_sequence<layer_count>{});

    static constexpr std::array<std::size_t, layer_count> parameter_counts{Specs::parameter_count...};

    // Floating-point operations of one sample's forward pass (element-wise layers count one per output), for
    // deciding whether a batch is worth splitting across threads.
    static constexpr std::size_t forward_flops_per_sample = []<std::size_t... I>(std::index_sequence<I...>) {
        auto flops = []<class L>(std::type_identity<L>) -> std::size_t {
            if constexpr (requires { L::flops_per_sample; }) return L::flops_per_sample;
            else return L::output_shape::size;
        };
        return (std::size_t{0} + ... + flops(std::type_identity<layer_type<I>>{}));
    }(std::make_index_sequence<layer_count>{});

    // Index of the first layer with parameters (layer_count if none): nothing below it needs a gradient.
    static constexpr std::size_t first_trainable_layer = [] {
        for (std::size_t i = 0; i < layer_count; ++i)
            if (parameter_counts[i] > 0) return i;
        return layer_count;
    }();
    // The Dense layer holding most of the parameters (layer_count if none), such as the seed CNN's
    // Dense<5408,128> with 99.7% of them. train_step on several threads splits it by the rows of its weights
    // rather than by samples: each thread then reads and updates only its own part of the weight matrix,
    // instead of every thread streaming all of it while the other core writes it.
    static constexpr std::size_t row_split_layer = []<std::size_t... I>(std::index_sequence<I...>) {
        constexpr std::array<bool, layer_count> dense{(layer_type<I>::kind == std::string_view("Dense"))...};
        for (std::size_t i = 0; i < layer_count; ++i)
            if (dense[i] && 2 * parameter_counts[i] > parameter_count) return i;
        return layer_count;
    }(std::make_index_sequence<layer_count>{});
    // Where each layer's parameters start in the flat visit_parameters order.
    static constexpr std::array<std::size_t, layer_count> parameter_offsets = [] {
        std::array<std::size_t, layer_count> offsets{};
        for (std::size_t i = 1; i < layer_count; ++i) offsets[i] = offsets[i - 1] + parameter_counts[i - 1];
        return offsets;
    }();

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
                if constexpr (!shares_input_buffer<i>) activations_[i].resize(max_batch * layer_type<i>::output_shape::size);
                gradient_size_ = std::max(gradient_size_, max_batch * layer_type<i>::input_shape::size);
            });
            gradients_[0].resize(gradient_size_);
            gradients_[1].resize(gradient_size_);
            output_gradient_.resize(max_batch * output_shape::size);
        }
        std::size_t max_batch() const noexcept { return max_batch_; }
        // Output of layer I for the last forward pass (a ReLU moved after the pooling shows its input).
        template <std::size_t I>
        std::span<const float> activation(std::size_t n) const noexcept {
            return {activations_[output_owner[I]].data(), n * layer_type<I>::output_shape::size};
        }
        // Scratch for the loss gradient with respect to the network's output (max_batch rows).
        std::span<float> output_gradient() noexcept { return output_gradient_; }
        template <std::size_t I>
        auto& layer_workspace() noexcept {
            return std::get<I>(layer_workspaces_);
        }
        // Where layer I's output goes (max_batch rows), for a step that runs layer I itself.
        template <std::size_t I>
        std::span<float> output_buffer() noexcept {
            return activations_[output_owner[I]];
        }
        // One of the two input-gradient buffers (max_batch rows of the widest layer input): the one that
        // does not hold `in_use`.
        float* gradient_buffer_besides(const float* in_use) noexcept {
            return in_use == gradients_[0].data() ? gradients_[1].data() : gradients_[0].data();
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
        : layers_(detail::make_aligned_unique<layers_type>()), workspace_(max_batch) {
        initialize(s, init);
    }
    // Copies the parameters; the copy gets fresh workspaces.
    Sequential(const Sequential& other)
        : layers_(detail::make_aligned_unique<layers_type>(*other.layers_)), workspace_(other.workspace_.max_batch()) {}
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
        return {forward_layers<0, layer_count>(x, n, ws, pass), n * output_shape::size};
    }
    // Runs layers [First, End) on `in`, the output of layer First - 1 (or the network's input); returns where
    // the output of layer End - 1 is (`in` itself for an empty range). n must fit the workspace.
    template <std::size_t First, std::size_t End>
    const float* forward_layers(const float* in, std::size_t n, Workspace& ws, Pass pass) const {
        static_assert(First <= End && End <= layer_count, "forward_layers: no such range of layers");
        for_each_index([&](auto i) {
            if constexpr (i < First || i >= End) {
                return;
            } else if constexpr (pools_after_relu<i>) {
                std::get<i>(*layers_).forward_after_relu(in, ws.activations_[i].data(), n,
                                                         std::get<i>(ws.layer_workspaces_));
                in = ws.activations_[i].data();
            } else if constexpr (!shares_input_buffer<i>) {
                std::get<i>(*layers_).forward(in, ws.activations_[i].data(), n, std::get<i>(ws.layer_workspaces_),
                                              pass);
                in = ws.activations_[i].data();
            }
        });
        return in;
    }
    std::span<const float> forward(const float* x, std::size_t n, Pass pass = Pass::inference) {
        return forward(x, n, workspace_, pass);
    }

    // Back-propagates grad_output, the loss gradient with respect to the output of layer `last` (default: the
    // network's output), through layers last..0 after a forward pass on the same x. Parameter gradients
    // accumulate into the layers' own tensors, or into `gradients` (parameter_count floats, in
    // visit_parameters order) when given; GradientUpdate::overwrite replaces what was there instead (in
    // layers 0..last; those above `last` are not touched). grad_input receives the gradient with respect to x
    // when not null;
    // without it, back-propagation stops at the first layer with parameters (nothing below needs a gradient).
    void backward(const float* x, const float* grad_output, std::size_t n, Workspace& ws,
                  std::size_t last = layer_count - 1, float* grad_input = nullptr, float* gradients = nullptr,
                  GradientUpdate update = GradientUpdate::accumulate) {
        check_batch(n, ws);
        if (last >= layer_count) throw std::out_of_range("Sequential::backward: no such layer");
        backward_layers<0>(x, grad_output, n, ws, last, grad_input, gradients, update);
    }
    // backward() through layers last..Lowest only (none when last < Lowest); returns the gradient with respect
    // to the input of the lowest layer it ran (grad_output when it ran none), or null when that layer did not
    // need one. grad_input is used by layer 0 only. Arguments as for backward(), unchecked.
    template <std::size_t Lowest>
    const float* backward_layers(const float* x, const float* grad_output, std::size_t n, Workspace& ws,
                                 std::size_t last, float* grad_input, float* gradients, GradientUpdate update) {
        const float* dy = grad_output;
        for_each_index_reversed([&](auto i) {
            if constexpr (i < Lowest) return;
            if (i > last) return;
            if (grad_input == nullptr && i < first_trainable_layer) return;
            if constexpr (shares_input_buffer<i>) return;  // its input gradient is dy itself, in place
            const bool needs_dx = grad_input != nullptr || i > first_trainable_layer;
            float* dx = !needs_dx ? nullptr : i == 0 ? grad_input : ws.gradient_buffer_besides(dy);
            const float* x_i = x;
            if constexpr (i > 0) x_i = ws.activations_[output_owner[i - 1]].data();
            const float* y_i = ws.activations_[output_owner[i]].data();
            auto& layer = std::get<i>(*layers_);
            if constexpr (pools_after_relu<i>)
                layer.backward_after_relu(y_i, dy, dx, n, std::get<i>(ws.layer_workspaces_));
            else if constexpr (layer_type<i>::parameter_count > 0)
                layer.backward(x_i, y_i, dy, dx, n, std::get<i>(ws.layer_workspaces_),
                               gradients != nullptr ? gradients + parameter_offsets[i] : nullptr, update);
            else
                layer.backward(x_i, y_i, dy, dx, n, std::get<i>(ws.layer_workspaces_));
            dy = dx;
        });
        return dy;
    }
    void backward(const float* x, const float* grad_output, std::size_t n) { backward(x, grad_output, n, workspace_); }

    // Data-parallel training: part 0 runs on the network's own workspace and gradients, parts 1.. on their own
    // (created on first use, then reused), reduced in part order so results depend only on the part count.
    Workspace& part_workspace(std::size_t part) {
        if (part == 0) return workspace_;
        if (part_workspaces_.size() < part) prepare_parts(part + 1);
        return *part_workspaces_[part - 1];
    }
    float* part_gradients(std::size_t part) {
        if (part == 0) return nullptr;
        if (part_gradients_.size() < part) prepare_parts(part + 1);
        return part_gradients_[part - 1].data();
    }
    // Creates parts 1..parts-1, their workspaces holding at least `samples_per_part` samples (max_batch when 0;
    // grown, never shrunk). A part of a training step gets at most half the batch, and sizing its workspace for
    // that rather than for max_batch matters: the seed CNN's workspace for 256 samples is ~110 MB, and
    // first-touching fresh pages ran at ~350 MB/s on the VM we measured (0.17 s added to the first two-thread
    // epoch).
    void prepare_parts(std::size_t parts, std::size_t samples_per_part = 0) {
        if (samples_per_part == 0) samples_per_part = workspace_.max_batch();
        for (auto& ws : part_workspaces_)
            if (ws->max_batch() < samples_per_part) ws = std::make_unique<Workspace>(samples_per_part);
        while (part_workspaces_.size() + 1 < parts) {
            part_workspaces_.push_back(std::make_unique<Workspace>(samples_per_part));
            part_gradients_.emplace_back(parameter_count, 0.0f);
        }
    }
    // Whole-batch buffers for train_step's split of row_split_layer by weight rows (row_split_step.hpp): that
    // layer's input, the partial sums of its output over each fixed block of its rows, and the gradients with
    // respect to its output and its input; and the split of the blocks between threads. Every thread's samples
    // have their rows, so each product over the batch is one call. Sized for the largest batch seen so far and
    // the partial sums for the most threads (grown, never shrunk), then reused.
    struct RowSplitBuffers {
        Buffer input, partial_outputs, output_gradient, input_gradient;
        std::size_t rows = 0;            // samples the buffers hold
        std::size_t partial_stride = 0;  // floats from one block's partial output to the next
        BlockBalance balance;            // which thread takes which blocks of rows
        float* partial_output(std::size_t block) noexcept { return partial_outputs.data() + block * partial_stride; }
    };
    // Blocks of row_split_layer's rows for a team of `threads`: 8 per thread, so that the split can follow the
    // threads' speeds in steps of 1/8 of an even share (fewer when there are fewer rows; at least one block per
    // thread, some of them empty when there are fewer rows than threads).
    static constexpr std::size_t row_split_blocks(std::size_t threads) noexcept
        requires(row_split_layer < layer_count)
    {
        threads = std::max<std::size_t>(threads, 1);
        return std::max(threads, std::min(8 * threads, layer_type<row_split_layer>::input_shape::size));
    }
    RowSplitBuffers& row_split_buffers(std::size_t threads, std::size_t samples)
        requires(row_split_layer < layer_count)
    {
        using Wide = layer_type<row_split_layer>;
        if (row_split_.rows < samples) {
            row_split_.rows = samples;
            row_split_.input.assign(samples * Wide::input_shape::size, 0.0f);
            row_split_.output_gradient.assign(samples * Wide::output_shape::size, 0.0f);
            row_split_.input_gradient.assign(samples * Wide::input_shape::size, 0.0f);
            // Whole cache lines per block: each is written by one thread.
            row_split_.partial_stride = (samples * Wide::output_shape::size + 15) / 16 * 16;
            row_split_.partial_outputs.clear();
        }
        if (row_split_.partial_outputs.size() < row_split_blocks(threads) * row_split_.partial_stride)
            row_split_.partial_outputs.resize(row_split_blocks(threads) * row_split_.partial_stride);
        return row_split_;
    }
    // The same buffers without sizing them: for the threads of a step, after row_split_buffers(threads, n).
    RowSplitBuffers& row_split_state() noexcept
        requires(row_split_layer < layer_count)
    {
        return row_split_;
    }
    // Threads that share the parameters (summing gradients, updating) take whole cache lines each.
    static constexpr std::size_t gradient_granule = 64;
    // Adds the gradients of parts 1..parts-1 to the layers' own, in part order for every element; the
    // parameters are split into contiguous ranges across threads (the order per element stays fixed).
    // `complete_layer`'s gradients are left as they are (train_step's row split computes them whole).
    void reduce_part_gradients(std::size_t parts, std::size_t complete_layer = layer_count) {
        if (parts <= 1) return;
        constexpr std::size_t min_parallel = std::size_t{1} << 18;
        const std::size_t complete_count = complete_layer < layer_count ? parameter_counts[complete_layer] : 0;
        if (parameter_count - complete_count < min_parallel) {
            reduce_part_gradients(parts, Range{0, parameter_count}, complete_layer);
            return;
        }
        parallel_parts(static_cast<std::size_t>(num_threads()), [&](std::size_t part, std::size_t count) {
            reduce_part_gradients(parts, split_range(parameter_count, part, count, gradient_granule), complete_layer);
        });
    }
    // The same for the parameters [elements.begin, elements.end) of the flat visit_parameters order: threads
    // that each take a range reduce everything between them.
    void reduce_part_gradients(std::size_t parts, Range elements, std::size_t complete_layer) {
        std::size_t offset = 0;
        visit_parameters([&](std::size_t layer, const ParameterView& p) {
            const std::size_t lo = std::max(elements.begin, offset);
            const std::size_t hi = std::min(elements.end, offset + p.gradient.size());
            for (std::size_t part = 1; part < parts && lo < hi && layer != complete_layer; ++part)
                kernels::add_to(p.gradient.data() + (lo - offset), part_gradients_[part - 1].data() + lo, hi - lo);
            offset += p.gradient.size();
        });
    }

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

    detail::aligned_unique_ptr<layers_type> layers_;  // the weights: large ones get huge pages
    Workspace workspace_;
    std::vector<std::unique_ptr<Workspace>> part_workspaces_;
    std::vector<Buffer> part_gradients_;
    RowSplitBuffers row_split_;
};

}  // namespace ctnn
