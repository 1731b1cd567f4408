#pragma once
// Max pooling over NHWC images; the forward pass records where each maximum came from.

#include <cstddef>
#include <cstdint>
#include <limits>

namespace ctnn::kernels {

struct PoolGeometry {
    std::size_t in_height, in_width, channels;
    std::size_t window, stride;
    std::size_t out_height, out_width;

    constexpr std::size_t in_size() const noexcept { return in_height * in_width * channels; }
    constexpr std::size_t out_size() const noexcept { return out_height * out_width * channels; }
};

// y = max over each window; argmax[i] = offset of the winner inside its image.
inline void max_pool2d(const PoolGeometry& g, const float* x, float* y, std::uint32_t* argmax,
                       std::size_t batch) noexcept {
    for (std::size_t b = 0; b < batch; ++b) {
        const float* img = x + b * g.in_size();
        float* out = y + b * g.out_size();
        std::uint32_t* arg = argmax + b * g.out_size();
        for (std::size_t oy = 0; oy < g.out_height; ++oy)
            for (std::size_t ox = 0; ox < g.out_width; ++ox)
                for (std::size_t c = 0; c < g.channels; ++c) {
                    float best = -std::numeric_limits<float>::infinity();
                    std::size_t where = 0;
                    for (std::size_t ky = 0; ky < g.window; ++ky)
                        for (std::size_t kx = 0; kx < g.window; ++kx) {
                            const std::size_t at =
                                ((oy * g.stride + ky) * g.in_width + ox * g.stride + kx) * g.channels + c;
                            if (img[at] > best || (ky == 0 && kx == 0)) {
                                best = img[at];
                                where = at;
                            }
                        }
                    const std::size_t o = (oy * g.out_width + ox) * g.channels + c;
                    out[o] = best;
                    arg[o] = static_cast<std::uint32_t>(where);
                }
    }
}

// dx = 0 except at each window's winner, which receives dy (overlapping windows add up).
inline void max_pool2d_backward(const PoolGeometry& g, const float* dy, const std::uint32_t* argmax, float* dx,
                                std::size_t batch) noexcept {
    for (std::size_t b = 0; b < batch; ++b) {
        float* d = dx + b * g.in_size();
        for (std::size_t i = 0; i < g.in_size(); ++i) d[i] = 0.0f;
        const float* dout = dy + b * g.out_size();
        const std::uint32_t* arg = argmax + b * g.out_size();
        for (std::size_t o = 0; o < g.out_size(); ++o) d[arg[o]] += dout[o];
    }
}

}  // namespace ctnn::kernels
