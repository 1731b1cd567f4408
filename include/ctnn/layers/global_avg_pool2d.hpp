#pragma once
// GlobalAvgPool2D: an NHWC image HxWxC to Shape<C>, the mean over the H*W pixels of each channel (Keras'
// GlobalAveragePooling2D). Takes the place of Flatten before a classifier, independent of the image size.
//
// Both passes loop over channels innermost: they are contiguous in NHWC, so that loop is the one the compiler
// vectorises, and each lane is a channel of its own. A channel's pixels are summed in float in raster order:
// the result does not depend on the vector width or on the compiler's choice to vectorise at all.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ctnn/layers/layer.hpp"

namespace ctnn {

struct GlobalAvgPool2D {
    static constexpr std::size_t parameter_count = 0;

    template <ShapeType InputShape>
    struct bind : ParameterFree {
        static_assert(InputShape::rank == 3 || shape_mismatch<GlobalAvgPool2D, InputShape>::value,
                      "GlobalAvgPool2D expects an image (height x width x channels)");
        // Guarded so that a failed check above does not cascade into more errors.
        static constexpr std::size_t channels = InputShape::rank == 3 ? InputShape::dims[2 % InputShape::rank] : 1;
        static constexpr std::size_t pixels = InputShape::size / channels;

        using input_shape = InputShape;
        using output_shape = Shape<channels>;
        using workspace = NoWorkspace;
        static constexpr std::string_view kind = "GlobalAvgPool2D";
        static constexpr std::uint64_t fingerprint = layer_fingerprint<>(kind);
        static std::string name() { return std::string(kind); }
        // Per channel: H*W - 1 additions and one multiplication.
        static constexpr std::size_t flops_per_sample = input_shape::size;

        // 1/(H*W), rounded once; exact when H*W is a power of two.
        static constexpr float scale = 1.0f / static_cast<float>(pixels);

        // y[c] = the mean of channel c. Depends on x only (nothing kept for backward: the pass is linear).
        void forward(const float* x, float* y, std::size_t n, workspace& /*ws*/, Pass /*pass*/) const noexcept {
            for (std::size_t b = 0; b < n; ++b) {
                const float* image = x + b * input_shape::size;
                float* sum = y + b * channels;
                std::fill_n(sum, channels, 0.0f);
                for (std::size_t p = 0; p < pixels; ++p) {
                    const float* pixel = image + p * channels;
                    for (std::size_t c = 0; c < channels; ++c) sum[c] += pixel[c];
                }
                for (std::size_t c = 0; c < channels; ++c) sum[c] *= scale;
            }
        }

        // dx[p, c] = dy[c] / (H*W) for every pixel p: every element of dx is written.
        void backward(const float* /*x*/, const float* /*y*/, const float* dy, float* dx, std::size_t n,
                      workspace& /*ws*/, GradientTarget /*target*/ = {}) noexcept {
            if (dx == nullptr) return;
            for (std::size_t b = 0; b < n; ++b) {
                const float* g = dy + b * channels;
                float* d = dx + b * input_shape::size;
                for (std::size_t p = 0; p < pixels; ++p) {
                    float* pixel = d + p * channels;
                    for (std::size_t c = 0; c < channels; ++c) pixel[c] = g[c] * scale;
                }
            }
        }
    };
};

}  // namespace ctnn
