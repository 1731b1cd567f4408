#pragma once
// ReLU: y = max(x, 0), any shape. Declares itself an element-wise, non-decreasing activation, so that a chain
// may run it inside the pass of a max-pooling that follows it.

#include <cstddef>

#include "ctnn/kernels/elementwise.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

struct ReLU {
    static constexpr std::size_t parameter_count = 0;

    // max(x, 0) and its derivative taken from the output (y > 0 passes the gradient).
    struct activation {
        static constexpr bool non_decreasing = true;
        static void apply(const float* x, float* y, std::size_t count) noexcept { kernels::relu(x, y, count); }
        static void apply_backward(const float* y, const float* dy, float* dx, std::size_t count) noexcept {
            kernels::relu_backward(y, dy, dx, count);
        }
    };

    template <ShapeType InputShape>
    struct bind : ParameterFree {
        using input_shape = InputShape;
        using output_shape = InputShape;
        using workspace = NoWorkspace;
        using activation = ReLU::activation;
        static constexpr std::string_view kind = "ReLU";
        static constexpr std::uint64_t fingerprint = layer_fingerprint<>(kind);
        static std::string name() { return std::string(kind); }

        void forward(const float* x, float* y, std::size_t n, workspace& /*ws*/, Pass /*pass*/) const noexcept {
            activation::apply(x, y, n * InputShape::size);
        }
        void backward(const float* /*x*/, const float* y, const float* dy, float* dx, std::size_t n, workspace& /*ws*/,
                      GradientTarget /*target*/ = {}) noexcept {
            if (dx != nullptr) activation::apply_backward(y, dy, dx, n * InputShape::size);
        }
    };
};

}  // namespace ctnn
