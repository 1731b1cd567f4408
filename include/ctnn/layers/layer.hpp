#pragma once
// The layer contract, written once: what every layer must provide, and the optional capabilities a layer may
// declare. Sequential, Residual, the training engine (train/) and the model files know layers only through
// this header. docs/extending.md works through writing a layer against it.
//
// A layer template (Dense<784,128>) is a *spec*: it knows its own hyper-parameters but not the size of the
// sample it will see. A chain binds it to the shape before it with `typename Spec::template bind<InputShape>`;
// the *bound* layer knows its shapes and does the work. Data is NHWC, one sample after another; a batch has a
// run-time size n, 1 <= n <= the max_batch its workspace was made for.
//
// ---- Required of a spec -------------------------------------------------------------------------------------
//   template <ShapeType In> class bind;     the bound layer (below). A composition that cannot work must fail
//                                           a static_assert whose condition names shape_mismatch<Spec, In>,
//                                           with a sentence saying what is wrong (see Dense).
//   Optional: static constexpr size_t parameter_count, when the spec knows it before binding (Dense,
//   Conv2D: Dense<784,128>::parameter_count); chains read only the bound layer's.
//
// ---- Required of a bound layer (concept BoundLayer) ---------------------------------------------------------
//   using input_shape, output_shape;        Shape<...> of one sample.
//   using workspace;                        constructible from max_batch; per-call scratch and whatever the
//                                           backward pass needs from the forward pass. NoWorkspace if none.
//                                           Copyable (tests replay a workspace to repeat a random mask).
//   static constexpr size_t parameter_count;  trainable floats, as PyTorch's parameters() counts them.
//   static constexpr size_t state_count;    non-trainable floats (running statistics), as Keras' "Non-trainable
//                                           params". 0 for most layers.
//   static constexpr std::string_view kind; display name for summaries ("Conv2D"). Never compared: what a layer
//                                           can do is declared by the capabilities below.
//   static constexpr uint64_t fingerprint;  changes with every hyper-parameter (use layer_fingerprint).
//   static std::string name();              "Conv2D<3,3,1,32>" (use layer_name).
//   void forward(const float* x, float* y, size_t n, workspace&, Pass) const;
//       y = f(x) for n samples. const: several threads may run inference on one layer, each with its own
//       workspace. A Pass::training forward keeps in the workspace what backward needs. x and y never
//       alias (nor do dy and dx below): chains give every layer distinct buffers.
//   void backward(const float* x, const float* y, const float* dy, float* dx, size_t n, workspace&,
//                 GradientTarget target);
//       After a training forward of the same x (y its output): dx = dL/dx from dy = dL/dy unless dx is null
//       (nothing below needs it), every element of dx written (never added to), and the parameter gradients
//       written to `target` (accumulated or overwritten, as it says). backward may run more than once after
//       one forward (gradients of one batch accumulated twice). A layer with state commits the training
//       forward's statistics to it here, once per training forward: a forward pass alone changes nothing.
//       Such a layer declares CouplesBatch as well, since threads splitting a batch by samples would all
//       commit to the one shared state.
//   void initialize(Rng&, Initializer);     fresh parameters (and state); gradients cleared.
//   void visit_parameters(F);               F(const ParameterView&) per trainable tensor, in a fixed order; the
//                                           gradients in a GradientTarget follow the same order.
//   void visit_state(F);                    F(const StateView&) per non-trainable tensor.
//   Bases Stateless (no state) and ParameterFree (no parameters, no state) supply the trivial members.
//
// ---- Optional capabilities, each declared by the layer (concepts below) -------------------------------------
//   ReshapeOnly            static constexpr bool reshapes_only = true: the output is the input's bytes seen in
//                          another shape. A chain lets the layer share its input's buffer and calls neither
//                          forward nor backward.
//   ElementwiseActivation  using activation = A, A with static apply(x, y, count) and apply_backward(y, dy, dx,
//                          count) (the derivative from the output), and static constexpr bool non_decreasing.
//                          The layer is y = A(x) element by element; a consumer may run A inside its own pass.
//   AbsorbsActivation      forward_then<A>(x, y, n, ws) and backward_then<A>(y, dy, dx, n, ws): the layer
//                          followed by A in one pass. A chain runs a non-decreasing activation directly before
//                          a max-pooling this way (max commutes with non-decreasing functions): the activation
//                          touches the pooled output only and its own pass disappears. Declare it only where
//                          the identity holds: a mean does not commute with ReLU (AvgPool2D does not declare it).
//   FusesActivation        forward_activated<A>(x, y, n, ws, pass) and backward_activated<A>(x, y, dy, dx, n, ws,
//                          target): the layer, then the activation A that follows it in the chain, with A run in
//                          the layer's epilogue (on each output tile or image while it is in L1 or L2) and, going
//                          back, A's derivative taken inside the layer's backward pass (Dense: in one pass with
//                          the column sums of its bias gradient). y is A's output
//                          and dy the gradient with respect to it; the results are the bits of the two layers run
//                          one after the other. The layer's own output is then never stored, so its plain backward
//                          must not read y either (the chain may hand it A's output when only the layer's gradient
//                          is asked for). A chain fuses every activation this way that no max-pooling after it
//                          absorbs (Dense, Conv2D, BatchNorm, Residual declare it).
//   SampleSeparable        static constexpr bool sample_separable = true: a forward or backward pass over n
//                          samples gives what n passes over one sample each give, parameter gradients added in
//                          sample order, bit for bit when the layer's kernels run on one thread; the workspace
//                          carries nothing from a forward pass to the backward pass, and backward never reads y
//                          (it may be null). A consumer may then run the layer one sample at a time (Conv2D).
//   AbsorbsProducer        forward_after<P, A>(p, p_ws, x, y, n, ws, pass) and backward_after<P, A>(p, p_ws, x, y,
//                          dy, dx, n, ws, target): the SampleSeparable layer p (input x, gradients to target), then
//                          the activation A, then this layer, one sample at a time, so that p's output and its
//                          gradient stay in the core's cache instead of making a round trip through memory for
//                          the batch. A chain runs a Conv2D, ReLU, MaxPool2D this way when its kernels run on one
//                          thread (where the unfused pass gives the same bits); the producer's output is then
//                          not kept in the workspace.
//   PoolsInRegisters       with SampleSeparable, for a max-pooling consumer (concept PoolsInRegisters<P, Pool, A>):
//                          template <auto Pool> static constexpr bool pools_in_registers, true for the pooling
//                          geometries the layer serves; forward_max_pooled<Pool, A>(x, y, argmax, n): the layer,
//                          the pooling Pool and then A, with y the pooled output and argmax where each maximum
//                          came from (as kernels::max_pool2d records it; null: not recorded, as in an
//                          inference pass); backward_max_pooled<Pool>(x,
//                          pooled_gradient, argmax, target): one sample's parameter gradients (to target) from
//                          the pooled output's gradient with A's derivative taken, no input gradient. Same bits
//                          as the layer's passes around the pooling's (Conv2D, kernels/conv_max_pool.hpp).
//   RowSplittable          the layer is y = x W + b with W of input_shape::size rows of row_width floats, the
//                          first tensor visit_parameters shows. forward_rows / backward_rows over a range of
//                          W's rows, and finish_rows / finish_rows_backward for the bias: the training engine
//                          may split such a layer by rows between threads (train/row_split_step.hpp).
//                          backward_rows_into(x, dy, dx, n, rows, dw_rows) is backward_rows with the rows'
//                          weight gradient written to dw_rows instead of the layer's own: the fused update
//                          (train/fused_update.hpp) keeps each block's gradient in a buffer that stays in cache.
//                          Optional, with FusesActivation: finish_rows_backward_activated<A>(y, dy, n, ws,
//                          target), the bias gradient and A's derivative in one pass, returning the gradient
//                          that backward_rows takes (the fused update uses it when declared).
//   ProducesProbabilities  static constexpr bool produces_probabilities = true (Softmax): the loss of a network
//                          ending in it takes probabilities, and training folds the layer into the loss.
//   CouplesBatch           static constexpr bool couples_batch = true: a training forward mixes the samples of
//                          a batch (BatchNorm's statistics), so the training engine never splits a batch
//                          between threads by samples.
//   flops_per_sample       static constexpr size_t: floating-point operations of one sample's forward pass, for
//                          summaries and thread decisions (default: one per output element, none for a
//                          reshape; twice the multiply-adds when those are declared). Declare it when an
//                          output reads more than one input.
//   multiply_adds_per_sample  static constexpr size_t: multiply-adds of one sample's forward pass, for a layer
//                          made of products (Dense, Conv2D); the summary's multiply-add column (default 0).
//
// A layer with several static_asserts guards each later check by the earlier ones' conditions (Dense checks the
// size only of a flat input), so that a wrong composition reports one error.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "ctnn/core/random.hpp"
#include "ctnn/core/range.hpp"
#include "ctnn/core/shape.hpp"

namespace ctnn {

// Training enables dropout, batch statistics, and makes layers keep what their backward pass needs.
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

// A view of one trainable tensor and its gradient, as optimisers and model files see it.
struct ParameterView {
    std::string_view name;  // "weights", "bias", "gamma", ...
    std::span<float> value;
    std::span<float> gradient;
    std::span<const std::size_t> shape;
};

// A view of one non-trainable tensor (running statistics): saved in model files, never optimised.
struct StateView {
    std::string_view name;  // "running_mean", "running_var"
    std::span<float> value;
    std::span<const std::size_t> shape;
};

// What a backward pass does with the parameter gradients it computes: add them to what is there (the default:
// gradients of several batches can be summed), or overwrite it (a training step, which would otherwise first
// have to clear every gradient: one pass over all parameters per step).
enum class GradientUpdate { accumulate, overwrite };

// Where a backward pass puts its parameter gradients: the layer's own gradient tensors (destination null), or
// `destination`, parameter_count floats in visit_parameters order (data-parallel training gives each thread
// its own).
struct GradientTarget {
    float* destination = nullptr;
    GradientUpdate update = GradientUpdate::accumulate;

    bool accumulates() const noexcept { return update == GradientUpdate::accumulate; }
    // The gradient of the tensor that starts `offset` floats into visit_parameters order; `own` is the layer's.
    float* at(std::size_t offset, float* own) const noexcept {
        return destination != nullptr ? destination + offset : own;
    }
    // The target of a sub-layer whose parameters start `offset` floats in (Residual's inner layers).
    GradientTarget shifted(std::size_t offset) const noexcept {
        return {destination != nullptr ? destination + offset : nullptr, update};
    }
};

// Workspace of a layer that needs no scratch memory.
struct NoWorkspace {
    explicit NoWorkspace(std::size_t /*max_batch*/) noexcept {}
};

// The members of a layer without non-trainable state.
struct Stateless {
    static constexpr std::size_t state_count = 0;
    template <class F>
    void visit_state(F&& /*visit*/) noexcept {}
};

// The members of a layer without parameters or state: activations, pooling, reshapes.
struct ParameterFree : Stateless {
    static constexpr std::size_t parameter_count = 0;
    void initialize(Rng& /*rng*/, Initializer /*init*/) noexcept {}
    template <class F>
    void visit_parameters(F&& /*visit*/) noexcept {}
};

// FNV-1a, constexpr: the architecture fingerprint a saved model carries.
inline constexpr std::uint64_t fingerprint_seed = 0xcbf29ce484222325ULL;
constexpr std::uint64_t fingerprint_mix(std::uint64_t h, std::uint64_t value) noexcept {
    for (int byte = 0; byte < 8; ++byte) {
        h ^= (value >> (8 * byte)) & 0xFFu;
        h *= 0x100000001b3ULL;
    }
    return h;
}
constexpr std::uint64_t fingerprint_mix(std::uint64_t h, std::string_view text) noexcept {
    for (char c : text) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    return fingerprint_mix(h, text.size());
}
// A layer's fingerprint from its kind and its hyper-parameters: layer_fingerprint<In, Out>("Dense").
template <std::size_t... Values>
constexpr std::uint64_t layer_fingerprint(std::string_view kind) noexcept {
    std::uint64_t h = fingerprint_mix(fingerprint_seed, kind);
    ((h = fingerprint_mix(h, Values)), ...);
    return h;
}
// A layer's printed name from its kind and its template arguments: layer_name<784, 128>("Dense") is
// "Dense<784,128>"; no arguments give the kind alone.
template <std::size_t... Values>
std::string layer_name(std::string_view kind) {
    std::string text(kind);
    if constexpr (sizeof...(Values) > 0) {
        text += '<';
        bool first = true;
        ((text += (first ? "" : ","), text += std::to_string(Values), first = false), ...);
        text += '>';
    }
    return text;
}

// ---- the required part ----

template <class L>
concept BoundLayer = ShapeType<typename L::input_shape> && ShapeType<typename L::output_shape> &&
    std::constructible_from<typename L::workspace, std::size_t> && std::copyable<typename L::workspace> &&
    requires(L& layer, const L& const_layer, const float* x, const float* y, const float* dy, float* out, std::size_t n,
             typename L::workspace& ws, Rng& rng) {
    { L::parameter_count } -> std::convertible_to<std::size_t>;
    { L::state_count } -> std::convertible_to<std::size_t>;
    { L::fingerprint } -> std::convertible_to<std::uint64_t>;
    { L::kind } -> std::convertible_to<std::string_view>;
    { L::name() } -> std::convertible_to<std::string>;
    const_layer.forward(x, out, n, ws, Pass::inference);
    layer.backward(x, y, dy, out, n, ws, GradientTarget{});
    layer.initialize(rng, Initializer::glorot_uniform);
    layer.visit_parameters([](const ParameterView&) {});
    layer.visit_state([](const StateView&) {});
};

// A layer spec that can follow a layer yielding InputShape.
template <class Spec, class InputShape>
concept LayerFor = ShapeType<InputShape> && BoundLayer<typename Spec::template bind<InputShape>>;

// ---- the optional capabilities ----

template <class L>
concept ReshapeOnly = requires {
    requires L::reshapes_only;
    requires L::input_shape::size == L::output_shape::size;
};

template <class A>
concept Activation = requires(const float* x, float* y, const float* dy, float* dx, std::size_t count) {
    A::apply(x, y, count);
    A::apply_backward(x, dy, dx, count);
    { A::non_decreasing } -> std::convertible_to<bool>;
};

template <class L>
concept ElementwiseActivation = Activation<typename L::activation> &&
    std::is_same_v<typename L::input_shape, typename L::output_shape>;

template <class L, class A>
concept AbsorbsActivation = Activation<A> &&
    requires(const L& const_layer, L& layer, const float* x, float* y, const float* dy, float* dx, std::size_t n,
             typename L::workspace& ws) {
    const_layer.template forward_then<A>(x, y, n, ws);
    layer.template backward_then<A>(x, dy, dx, n, ws);
};

template <class L, class A>
concept FusesActivation = Activation<A> &&
    requires(const L& const_layer, L& layer, const float* x, const float* y, const float* dy, float* out, std::size_t n,
             typename L::workspace& ws, Pass pass, GradientTarget target) {
    const_layer.template forward_activated<A>(x, out, n, ws, pass);
    layer.template backward_activated<A>(x, y, dy, out, n, ws, target);
};

template <class L>
concept SampleSeparable = requires {
    requires L::sample_separable;
};

template <class L, class P, class A>
concept AbsorbsProducer = SampleSeparable<P> && Activation<A> &&
    std::is_same_v<typename P::output_shape, typename L::input_shape> &&
    requires(const L& const_layer, L& layer, const P& const_producer, P& producer, typename P::workspace& producer_ws,
             const float* x, float* y, const float* dy, float* dx, std::size_t n, typename L::workspace& ws, Pass pass,
             GradientTarget target) {
    const_layer.template forward_after<P, A>(const_producer, producer_ws, x, y, n, ws, pass);
    layer.template backward_after<P, A>(producer, producer_ws, x, y, dy, dx, n, ws, target);
};

template <class P, auto Pool, class A>
concept PoolsInRegisters =
    SampleSeparable<P> && Activation<A> && requires(const P& const_producer, P& producer, const float* x, float* y,
                                                    std::uint32_t* argmax, const std::uint32_t* const_argmax,
                                                    std::size_t n, GradientTarget target) {
    requires P::template pools_in_registers<Pool>;
    const_producer.template forward_max_pooled<Pool, A>(x, y, argmax, n);
    producer.template backward_max_pooled<Pool>(x, x, const_argmax, target);
};

template <class L>
concept RowSplittable = requires(const L& const_layer, L& layer, const float* x, float* y, const float* dy, float* dx,
                                 std::size_t n, Range rows, GradientTarget target, float* dw_rows) {
    { L::row_width } -> std::convertible_to<std::size_t>;
    const_layer.forward_rows(x, y, n, rows);
    const_layer.finish_rows(y, n);
    layer.backward_rows(x, dy, dx, n, rows, target);
    const_layer.backward_rows_into(x, dy, dx, n, rows, dw_rows);
    layer.finish_rows_backward(dy, n, target);
};

template <class L>
concept ProducesProbabilities = requires {
    requires L::produces_probabilities;
};

template <class L>
concept CouplesBatch = requires {
    requires L::couples_batch;
};

// Floating-point operations of one sample's forward pass.
template <class L>
constexpr std::size_t flops_per_sample_of() noexcept {
    if constexpr (requires { L::flops_per_sample; })
        return L::flops_per_sample;
    else if constexpr (requires { L::multiply_adds_per_sample; })
        return 2 * L::multiply_adds_per_sample;
    else if constexpr (ReshapeOnly<L>)
        return 0;
    else
        return L::output_shape::size;
}
// Multiply-adds of one sample's forward pass (0 for layers that declare none).
template <class L>
constexpr std::size_t multiply_adds_per_sample_of() noexcept {
    if constexpr (requires { L::multiply_adds_per_sample; })
        return L::multiply_adds_per_sample;
    else
        return 0;
}

}  // namespace ctnn
