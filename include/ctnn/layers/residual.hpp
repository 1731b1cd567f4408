#pragma once
// Residual<Layers...>: y = x + f(x), f the chain of Layers bound to x's shape, which must give that shape back
// (He et al.'s identity shortcut). Blocks nest: a Residual is a layer, so it may appear among Layers. Its
// parameters and state are its inner layers', in their order; so are its capabilities that matter to the
// training engine (a BatchNorm inside makes the block couple its batch).

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "ctnn/kernels/elementwise.hpp"
#include "ctnn/layers/activation_epilogue.hpp"
#include "ctnn/layers/layer.hpp"
#include "ctnn/network/chain.hpp"

namespace ctnn {

// Named so that a block whose inner layers change the shape prints the block, its input shape and the shape its
// inner layers produce: residual_shape_mismatch<Residual<...>, Shape<28, 28, 32>, Shape<26, 26, 32>>.
template <class Block, class InputShape, class InnerOutputShape>
struct residual_shape_mismatch : std::false_type {};

template <class... Layers>
struct Residual {
    static_assert(sizeof...(Layers) > 0, "Residual needs at least one inner layer");

    template <ShapeType InputShape>
    class bind {
    public:
        using inner = LayerChain<InputShape, Layers...>;

    private:
        static constexpr bool keeps_shape = std::is_same_v<typename inner::output_shape, InputShape>;
        // Spelt out (not keeps_shape) so that g++ prints both shapes in its note; clang prints the trait.
        static_assert(std::is_same_v<typename inner::output_shape, InputShape> ||
                          residual_shape_mismatch<Residual, InputShape, typename inner::output_shape>::value,
                      "Residual's inner layers must give back the shape of the block's input");

    public:
        using input_shape = InputShape;
        using output_shape = InputShape;
        static constexpr std::size_t parameter_count = inner::parameter_count;
        static constexpr std::size_t state_count = inner::state_count;
        static constexpr std::size_t flops_per_sample = inner::forward_flops_per_sample + InputShape::size;
        static constexpr std::size_t multiply_adds_per_sample = inner::multiply_adds_per_sample;
        static constexpr bool couples_batch = inner::couples_batch;
        static constexpr std::string_view kind = "Residual";
        static constexpr std::uint64_t fingerprint = inner::fingerprint(kind);
        static std::string name() {
            std::string text = "Residual<";
            const auto names = inner::layer_names();
            for (std::size_t i = 0; i < names.size(); ++i) text += (i ? "," : "") + names[i];
            return text + ">";
        }

        // The inner chain's activations and gradients; its input gradient, summed with the shortcut's.
        struct workspace {
            explicit workspace(std::size_t max_batch)
                : chain(max_batch), inner_gradient(max_batch * InputShape::size) {}
            typename inner::Workspace chain;
            Buffer inner_gradient;
            detail::ActivationGradient activation;  // FusesActivation's gradient, grown on first use
        };

        typename inner::layers_type layers{};

        void initialize(Rng& rng, Initializer init) { inner::initialize(layers, rng, init); }

        void forward(const float* x, float* y, std::size_t n, workspace& ws, Pass pass) const {
            if constexpr (keeps_shape) {
                const float* fx = inner::template forward_layers<0, inner::layer_count>(layers, x, n, ws.chain, pass);
                kernels::add(x, fx, y, n * InputShape::size);
            }
        }

        // FusesActivation: y = A(f(x) + x), A run on each chunk of the sum as it is written.
        template <class A>
        void forward_activated(const float* x, float* y, std::size_t n, workspace& ws, Pass pass) const {
            if constexpr (keeps_shape) {
                const float* fx = inner::template forward_layers<0, inner::layer_count>(layers, x, n, ws.chain, pass);
                detail::produce_then_activate<A>(y, n * InputShape::size, 1, [&](std::size_t first, std::size_t count) {
                    kernels::add(x + first, fx + first, y + first, count);
                });
            }
        }
        // The backward pass from the gradient with respect to A's output y.
        template <class A>
        void backward_activated(const float* x, const float* y, const float* dy, float* dx, std::size_t n,
                                workspace& ws, GradientTarget target = {}) {
            backward(x, y, ws.activation.template of<A>(y, dy, n * InputShape::size), dx, n, ws, target);
        }

        // dx = dy + df/dx(dy): the shortcut passes dy unchanged; never reads y. Without dx, the inner layers still
        // produce their parameter gradients and stop where nothing below needs a gradient.
        void backward(const float* x, const float* /*y*/, const float* dy, float* dx, std::size_t n, workspace& ws,
                      GradientTarget target = {}) {
            if constexpr (keeps_shape) {
                float* inner_dx = dx != nullptr ? ws.inner_gradient.data() : nullptr;
                inner::template backward_layers<0>(layers, x, dy, n, ws.chain, inner::layer_count - 1, inner_dx,
                                                   target);
                if (dx != nullptr) kernels::add(dy, inner_dx, dx, n * InputShape::size);
            }
        }

        template <class F>
        void visit_parameters(F&& visit) {
            inner::visit_parameters(layers, [&](std::size_t, const ParameterView& p) { visit(p); });
        }
        template <class F>
        void visit_state(F&& visit) {
            inner::visit_state(layers, [&](std::size_t, const StateView& s) { visit(s); });
        }
    };
};

}  // namespace ctnn
