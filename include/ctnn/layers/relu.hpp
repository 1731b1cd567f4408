#pragma once
// ReLU: y = max(x, 0), any shape.

#include <cstddef>

#include "ctnn/kernels/elementwise.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

struct ReLU {
    static constexpr std::size_t parameter_count = 0;

    template <ShapeType InputShape>
    struct bind : ParameterFree {
        using input_shape = InputShape;
        using output_shape = InputShape;
        using workspace = NoWorkspace;
        static constexpr std::string_view kind = "ReLU";
        static constexpr std::uint64_t fingerprint = detail::fingerprint_of<>(kind);
        static std::string name() { return std::string(kind); }

        void forward(const float* x, float* y, std::size_t n, workspace& /*ws*/, Pass /*pass*/) const noexcept {
            kernels::relu(x, y, n * InputShape::size);
        }
        void backward(const float* /*x*/, const float* y, const float* dy, float* dx, std::size_t n,
                      workspace& /*ws*/) noexcept {
            if (dx != nullptr) kernels::relu_backward(y, dy, dx, n * InputShape::size);
        }
    };
};

}  // namespace ctnn
