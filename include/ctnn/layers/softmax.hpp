#pragma once
// Softmax over a flat input. As the last layer it turns logits into probabilities; training then uses the
// fused softmax-cross-entropy gradient (see train/loss.hpp) instead of this layer's backward.

#include <cstddef>

#include "ctnn/kernels/elementwise.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

struct Softmax {
    static constexpr std::size_t parameter_count = 0;

    template <ShapeType InputShape>
    struct bind : ParameterFree {
        static_assert(InputShape::rank == 1 || shape_mismatch<Softmax, InputShape>::value,
                      "Softmax expects a flat input: put Flatten before it");

        using input_shape = InputShape;
        using output_shape = InputShape;
        using workspace = NoWorkspace;
        static constexpr std::string_view kind = "Softmax";
        static constexpr std::uint64_t fingerprint = layer_fingerprint<>(kind);
        static std::string name() { return std::string(kind); }
        static constexpr bool produces_probabilities = true;

        void forward(const float* x, float* y, std::size_t n, workspace& /*ws*/, Pass /*pass*/) const noexcept {
            kernels::softmax_rows(x, y, n, InputShape::size);
        }
        void backward(const float* /*x*/, const float* y, const float* dy, float* dx, std::size_t n,
                      workspace& /*ws*/, GradientTarget /*target*/ = {}) noexcept {
            if (dx != nullptr) kernels::softmax_rows_backward(y, dy, dx, n, InputShape::size);
        }
    };
};

}  // namespace ctnn
