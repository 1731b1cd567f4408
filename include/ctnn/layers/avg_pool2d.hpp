#pragma once
// AvgPool2D<K, Stride = K> over NHWC images: each output is the mean of its KxK window, channel by channel.
// Output size floor((H - K) / Stride) + 1, as Keras' "valid" (and as MaxPool2D).
//
// Both passes loop over channels innermost: they are contiguous in NHWC, so that loop is the one the compiler
// vectorises, and each lane is a channel of its own. A channel's window is summed in float in the one order
// (ky, kx) = (0, 0), (0, 1), ...: the result does not depend on the vector width or on the compiler's choice
// to vectorise at all.
// Not an AbsorbsActivation layer: a mean does not commute with ReLU, so a chain must run a ReLU before it in
// a pass of its own.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ctnn/layers/layer.hpp"

namespace ctnn {

template <std::size_t K, std::size_t Stride = K>
struct AvgPool2D {
    static_assert(K > 0 && Stride > 0, "AvgPool2D needs a positive window and stride");
    static constexpr std::size_t parameter_count = 0;

    template <ShapeType InputShape>
    struct bind : ParameterFree {
        static_assert(InputShape::rank == 3 || shape_mismatch<AvgPool2D, InputShape>::value,
                      "AvgPool2D expects an image (height x width x channels)");
        static constexpr std::size_t in_height = InputShape::dims[0];
        static constexpr std::size_t in_width = InputShape::rank > 1 ? InputShape::dims[1 % InputShape::rank] : 1;
        static constexpr std::size_t channels = InputShape::rank > 2 ? InputShape::dims[2 % InputShape::rank] : 1;
        // Checked only for images, so that a flat input reports one error, not two.
        static_assert(InputShape::rank != 3 || (K <= in_height && K <= in_width) ||
                          shape_mismatch<AvgPool2D, InputShape>::value,
                      "AvgPool2D window is larger than its input image");
        // Guarded so that a failed check above does not cascade into more errors.
        static constexpr std::size_t out_height = K <= in_height ? (in_height - K) / Stride + 1 : 1;
        static constexpr std::size_t out_width = K <= in_width ? (in_width - K) / Stride + 1 : 1;

        using input_shape = InputShape;
        using output_shape = Shape<out_height, out_width, channels>;
        using workspace = NoWorkspace;
        static constexpr std::string_view kind = "AvgPool2D";
        static constexpr std::uint64_t fingerprint = layer_fingerprint<K, Stride>(kind);
        static std::string name() { return K == Stride ? layer_name<K>(kind) : layer_name<K, Stride>(kind); }
        // Per output: K*K - 1 additions and one multiplication.
        static constexpr std::size_t flops_per_sample = K * K * output_shape::size;

        // 1/(K*K), rounded once; exact for K a power of two.
        static constexpr float scale = 1.0f / static_cast<float>(K * K);
        // Every input pixel lies in exactly one window: backward writes dx instead of clearing and adding.
        static constexpr bool tiles_exactly = Stride == K && out_height * K == in_height && out_width * K == in_width;

        // y = the mean of each window. Depends on x only (nothing kept for backward: the pass is linear).
        void forward(const float* x, float* y, std::size_t n, workspace& /*ws*/, Pass /*pass*/) const noexcept {
            for (std::size_t b = 0; b < n; ++b) {
                const float* image = x + b * input_shape::size;
                float* out = y + b * output_shape::size;
                for (std::size_t oy = 0; oy < out_height; ++oy)
                    for (std::size_t ox = 0; ox < out_width; ++ox) {
                        float* sum = out + (oy * out_width + ox) * channels;
                        std::fill_n(sum, channels, 0.0f);
                        for (std::size_t ky = 0; ky < K; ++ky)
                            for (std::size_t kx = 0; kx < K; ++kx) {
                                const float* pixel = image +
                                                     ((oy * Stride + ky) * in_width + ox * Stride + kx) * channels;
                                for (std::size_t c = 0; c < channels; ++c) sum[c] += pixel[c];
                            }
                        for (std::size_t c = 0; c < channels; ++c) sum[c] *= scale;
                    }
            }
        }

        // dx = the sum, over the windows that contain each input, of dy / (K*K). Every element of dx is written:
        // overlapping windows (Stride < K) add up in output order, pixels no window covers (the floor
        // remainder, or the gaps when Stride > K) get zero.
        void backward(const float* /*x*/, const float* /*y*/, const float* dy, float* dx, std::size_t n,
                      workspace& /*ws*/, GradientTarget /*target*/ = {}) noexcept {
            if (dx == nullptr) return;
            for (std::size_t b = 0; b < n; ++b) {
                const float* grad = dy + b * output_shape::size;
                float* d = dx + b * input_shape::size;
                if constexpr (!tiles_exactly) std::fill_n(d, input_shape::size, 0.0f);
                for (std::size_t oy = 0; oy < out_height; ++oy)
                    for (std::size_t ox = 0; ox < out_width; ++ox) {
                        const float* g = grad + (oy * out_width + ox) * channels;
                        for (std::size_t ky = 0; ky < K; ++ky)
                            for (std::size_t kx = 0; kx < K; ++kx) {
                                float* pixel = d + ((oy * Stride + ky) * in_width + ox * Stride + kx) * channels;
                                if constexpr (tiles_exactly)
                                    for (std::size_t c = 0; c < channels; ++c) pixel[c] = g[c] * scale;
                                else
                                    for (std::size_t c = 0; c < channels; ++c) pixel[c] += g[c] * scale;
                            }
                    }
            }
        }
    };
};

}  // namespace ctnn
