#pragma once
// Flatten: the same NHWC bytes seen as one vector per sample.

#include <algorithm>
#include <cstddef>

#include "ctnn/layers/layer.hpp"

namespace ctnn {

struct Flatten {
    static constexpr std::size_t parameter_count = 0;

    template <ShapeType InputShape>
    struct bind : ParameterFree {
        using input_shape = InputShape;
        using output_shape = Shape<InputShape::size>;
        using workspace = NoWorkspace;
        static constexpr std::string_view kind = "Flatten";
        static constexpr std::uint64_t fingerprint = layer_fingerprint<>(kind);
        static std::string name() { return std::string(kind); }
        // Sequential lets this layer share the previous layer's buffer instead of calling forward/backward.
        static constexpr bool reshapes_only = true;

        void forward(const float* x, float* y, std::size_t n, workspace& /*ws*/, Pass /*pass*/) const noexcept {
            std::copy_n(x, n * InputShape::size, y);
        }
        void backward(const float* /*x*/, const float* /*y*/, const float* dy, float* dx, std::size_t n,
                      workspace& /*ws*/, GradientTarget /*target*/ = {}) noexcept {
            if (dx != nullptr) std::copy_n(dy, n * InputShape::size, dx);
        }
    };
};

}  // namespace ctnn
