#pragma once
// Dropout<std::ratio<P, Q>>: in training, zeroes each feature with probability P/Q and scales the survivors by
// 1/(1 - P/Q) (inverted dropout, as Keras), so inference is the identity.

#include <algorithm>
#include <cstddef>
#include <ratio>

#include "ctnn/core/buffer.hpp"
#include "ctnn/kernels/elementwise.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

template <class Rate = std::ratio<1, 2>>
struct Dropout {
    static_assert(Rate::num >= 0 && Rate::num < Rate::den, "Dropout rate must lie in [0, 1)");
    static constexpr std::size_t parameter_count = 0;
    static constexpr float rate = static_cast<float>(Rate::num) / static_cast<float>(Rate::den);

    template <ShapeType InputShape>
    struct bind : ParameterFree {
        using input_shape = InputShape;
        using output_shape = InputShape;
        static constexpr std::string_view kind = "Dropout";
        static constexpr std::uint64_t fingerprint =
            layer_fingerprint<static_cast<std::size_t>(Rate::num), static_cast<std::size_t>(Rate::den)>(kind);
        static std::string name() {
            return layer_name<static_cast<std::size_t>(Rate::num), static_cast<std::size_t>(Rate::den)>(
                kind);
        }

        // The mask of the last training pass, pre-scaled; the stream is seeded so runs repeat.
        struct workspace {
            explicit workspace(std::size_t max_batch) : mask(max_batch * InputShape::size) {}
            Buffer mask;
            Rng rng{0xD50u};
        };

        void forward(const float* x, float* y, std::size_t n, workspace& ws, Pass pass) const noexcept {
            const std::size_t count = n * InputShape::size;
            if (pass == Pass::inference) {
                std::copy_n(x, count, y);
                return;
            }
            const float keep_scale = 1.0f / (1.0f - rate);
            for (std::size_t i = 0; i < count; ++i) ws.mask[i] = ws.rng.uniform() >= rate ? keep_scale : 0.0f;
            kernels::multiply(x, ws.mask.data(), y, count);
        }
        void backward(const float* /*x*/, const float* /*y*/, const float* dy, float* dx, std::size_t n,
                      workspace& ws, GradientTarget /*target*/ = {}) noexcept {
            if (dx != nullptr) kernels::multiply(dy, ws.mask.data(), dx, n * InputShape::size);
        }
    };
};

}  // namespace ctnn
