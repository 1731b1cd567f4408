#pragma once
// Max pooling over NHWC images; the forward pass records where each maximum came from.
// Channels are contiguous in NHWC, so both passes run SIMD across channels; a window's first element wins ties.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "ctnn/kernels/detail/simd.hpp"

#include "ctnn/kernels/detail/warnings_push.hpp"

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
    using detail::vec;
    using ivec = xsimd::batch<std::int32_t>;
    static_assert(ivec::size == vec::size);
    constexpr std::size_t w = detail::lanes;
    // Offsets travel as float lanes beside the values (exact below 2^24: an image is far smaller), so one
    // float mask selects both; they become int32 only when stored.
    alignas(64) float lane_index[w];
    for (std::size_t l = 0; l < w; ++l) lane_index[l] = static_cast<float>(l);
    const vec lane = vec::load_aligned(lane_index);
    for (std::size_t b = 0; b < batch; ++b) {
        const float* img = x + b * g.in_size();
        float* out = y + b * g.out_size();
        std::uint32_t* arg = argmax + b * g.out_size();
        for (std::size_t oy = 0; oy < g.out_height; ++oy)
            for (std::size_t ox = 0; ox < g.out_width; ++ox) {
                const std::size_t origin = (oy * g.stride * g.in_width + ox * g.stride) * g.channels;
                const std::size_t o = (oy * g.out_width + ox) * g.channels;
                std::size_t c = 0;
                for (; c + w <= g.channels; c += w) {
                    vec best = vec::load_unaligned(img + origin + c);
                    vec where = vec(static_cast<float>(origin + c)) + lane;
                    for (std::size_t ky = 0; ky < g.window; ++ky)
                        for (std::size_t kx = 0; kx < g.window; ++kx) {
                            if (ky == 0 && kx == 0) continue;
                            const std::size_t at = origin + (ky * g.in_width + kx) * g.channels + c;
                            const vec v = vec::load_unaligned(img + at);
                            const auto better = v > best;
                            best = xsimd::select(better, v, best);
                            where = xsimd::select(better, vec(static_cast<float>(at)) + lane, where);
                        }
                    best.store_unaligned(out + o + c);
                    xsimd::batch_cast<std::int32_t>(where).store_unaligned(reinterpret_cast<std::int32_t*>(arg + o + c));
                }
                for (std::size_t left = g.channels - c; left != 0; --left, ++c) {
                    float best = img[origin + c];
                    std::size_t where = origin + c;
                    for (std::size_t ky = 0; ky < g.window; ++ky)
                        for (std::size_t kx = 0; kx < g.window; ++kx) {
                            const std::size_t at = origin + (ky * g.in_width + kx) * g.channels + c;
                            if (img[at] > best) {
                                best = img[at];
                                where = at;
                            }
                        }
                    out[o + c] = best;
                    arg[o + c] = static_cast<std::uint32_t>(where);
                }
            }
    }
}

// dx = 0 except at each window's winner, which receives dy (overlapping windows add up).
inline void max_pool2d_backward(const PoolGeometry& g, const float* dy, const std::uint32_t* argmax, float* dx,
                                std::size_t batch) noexcept {
    using detail::vec;
    using ivec = xsimd::batch<std::int32_t>;
    constexpr std::size_t w = detail::lanes;
    alignas(64) float lane_index[w];
    for (std::size_t l = 0; l < w; ++l) lane_index[l] = static_cast<float>(l);
    const vec lane = vec::load_aligned(lane_index);
    const vec zero(0.0f);
    // Non-overlapping windows: every input pixel belongs to at most one window, so each is written once by a
    // select instead of a scatter; pixels no window covers stay zero.
    const bool disjoint = g.stride >= g.window;
    // Windows that tile the image without gaps (stride == window) write every pixel they cover: only the
    // bottom rows and right columns past the last window need zeros, not a pass over all of dx.
    const bool tiled = g.stride == g.window;
    const std::size_t covered_rows = g.out_height * g.stride, covered_cols = g.out_width * g.stride;
    for (std::size_t b = 0; b < batch; ++b) {
        float* d = dx + b * g.in_size();
        if (tiled) {
            const std::size_t row = g.in_width * g.channels;
            for (std::size_t iy = 0; iy < covered_rows; ++iy)
                std::fill(d + iy * row + covered_cols * g.channels, d + (iy + 1) * row, 0.0f);
            std::fill(d + covered_rows * row, d + g.in_size(), 0.0f);
        } else {
            std::fill(d, d + g.in_size(), 0.0f);
        }
        const float* dout = dy + b * g.out_size();
        const std::uint32_t* arg = argmax + b * g.out_size();
        if (!disjoint) {
            for (std::size_t o = 0; o < g.out_size(); ++o) d[arg[o]] += dout[o];
            continue;
        }
        for (std::size_t oy = 0; oy < g.out_height; ++oy)
            for (std::size_t ox = 0; ox < g.out_width; ++ox) {
                const std::size_t origin = (oy * g.stride * g.in_width + ox * g.stride) * g.channels;
                const std::size_t o = (oy * g.out_width + ox) * g.channels;
                std::size_t c = 0;
                for (; c + w <= g.channels; c += w) {
                    const vec grad = vec::load_unaligned(dout + o + c);
                    const vec winner = xsimd::batch_cast<float>(
                        ivec::load_unaligned(reinterpret_cast<const std::int32_t*>(arg + o + c)));
                    for (std::size_t ky = 0; ky < g.window; ++ky)
                        for (std::size_t kx = 0; kx < g.window; ++kx) {
                            const std::size_t at = origin + (ky * g.in_width + kx) * g.channels + c;
                            const auto hit = winner == vec(static_cast<float>(at)) + lane;
                            xsimd::select(hit, grad, zero).store_unaligned(d + at);
                        }
                }
                for (std::size_t left = g.channels - c; left != 0; --left, ++c) {
                    for (std::size_t ky = 0; ky < g.window; ++ky)
                        for (std::size_t kx = 0; kx < g.window; ++kx)
                            d[origin + (ky * g.in_width + kx) * g.channels + c] = 0.0f;
                    d[arg[o + c]] = dout[o + c];
                }
            }
    }
}

}  // namespace ctnn::kernels

#include "ctnn/kernels/detail/warnings_pop.hpp"
