#pragma once
// A small-patch convolution followed by max pooling whose windows tile its output (window == stride): each
// register tile holds the convolution's output for whole pooling windows, so only the pooled maximum and where
// it came from leave the core, and going back the convolution's output gradient (the pooled gradient routed to
// each window's winner) is formed in registers pixel by pixel and consumed at once by the weight and bias
// gradients. Per image this saves the round trip of the convolution's output and of its gradient through the
// cache (86 KB each for the seed CNN's Conv2D<3,3,1,32>), the pooling pass, and the bias gradient's separate
// pass (whose add chains, one per vector of channels, are latency-bound).
//
// The results are the bits of the unfused kernels (conv2d_forward, max_pool2d, conv2d_backward on one image,
// max_pool2d_backward): each output element is the bias plus the taps' products fused in tap order, the
// window's maximum is taken in raster order with the first of equal values winning, the weight gradient sums
// the image's pixels in raster order in the same k blocks (tiles of conv_tile_rows pixels, blocks of gemm_kc)
// from zero and adds each block's sum to what the gradient holds, and the bias gradient adds the pixels one
// after another to what it holds. tests/test_conv_max_pool.cpp checks this bit for bit.
//
// Served: the direct tap path (patch <= conv_direct_max_patch floats, no padding) with channels in whole
// vectors; anything else keeps the unfused kernels (ConvMaxPool::fusable says which).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

#include "ctnn/kernels/conv2d.hpp"
#include "ctnn/kernels/pooling.hpp"

#include "ctnn/kernels/detail/warnings_push.hpp"

namespace ctnn::kernels {

template <ConvGeometry G, std::size_t Cout, PoolGeometry P>
struct ConvMaxPool {
    using vec = detail::vec;
    static constexpr std::size_t lanes = detail::lanes;
    static constexpr std::size_t K = P.window;
    static constexpr std::size_t taps = G.patch_size();
    static constexpr std::size_t pixels = G.patch_count();
    static constexpr std::size_t row_floats = G.in_width * G.channels;  // one input image row
    // AVX-512 has 32 vector registers, SSE and AVX2 have 16; half of them hold accumulators.
    static constexpr std::size_t accumulator_budget = lanes == 16 ? 16 : 8;
    // Vectors of output channels per register tile: two on AVX-512 when the channels allow, else one.
    static constexpr std::size_t group_vectors = lanes == 16 && Cout % (2 * lanes) == 0 ? 2 : 1;
    static constexpr std::size_t group = group_vectors * lanes;
    static constexpr std::size_t window_pixels = K * K;
    static constexpr std::size_t window_accumulators = window_pixels * group_vectors;

    static constexpr bool fusable = taps <= detail::conv_direct_max_patch && !detail::conv_padded(G) &&
                                    P.window == P.stride &&
                                    P.in_height == G.out_height && P.in_width == G.out_width &&
                                    P.channels == Cout && Cout % lanes == 0 && P.out_height > 0 &&
                                    P.out_width > 0 && window_accumulators <= accumulator_budget;

    // Windows side by side in one register tile of the forward pass; a row's last edge_windows windows make a
    // narrower tile of their own (one window of 2x2 pixels x 2 vectors is still 8 independent FMA chains, as
    // many as two FMA units with 4 cycles of latency keep busy).
    static constexpr std::size_t tile_windows =
        std::min<std::size_t>(std::max<std::size_t>(accumulator_budget / window_accumulators, 1), P.out_width);
    static constexpr std::size_t edge_windows = P.out_width % tile_windows;
    // Taps per register tile of the weight gradient: tap rows x group_vectors accumulators.
    static constexpr std::size_t tap_rows = std::min<std::size_t>(taps, (accumulator_budget + 4) / group_vectors);

    // Offset of tap t (ky, kx, cin: the weights' row order) from its output pixel's first input float.
    static constexpr std::array<std::size_t, taps> tap_offset = [] {
        std::array<std::size_t, taps> t{};
        std::size_t i = 0;
        for (std::size_t ky = 0; ky < G.kernel_height; ++ky)
            for (std::size_t kx = 0; kx < G.kernel_width; ++kx)
                for (std::size_t c = 0; c < G.channels; ++c) t[i++] = ky * row_floats + kx * G.channels + c;
        return t;
    }();
    // First input float of output pixel (oy, ox).
    static constexpr std::size_t pixel_offset(std::size_t oy, std::size_t ox) noexcept {
        return oy * G.stride * row_floats + ox * G.stride * G.channels;
    }

    using ivec = xsimd::batch<std::int32_t>;
    static_assert(ivec::size == lanes);

    // where ? a : b, lane by lane, as a blend of float bits under the float comparison's own mask. xsimd 8's
    // int32 select for avx512bw also instantiates its 8- and 16-bit blends, which GCC's intrinsic macros reject
    // at -O0 (the Debug and sanitizer builds); a float blend is the same one instruction and keeps every bit.
    static ivec select_bits(const xsimd::batch_bool<float>& where, const ivec& a, const ivec& b) noexcept {
        return xsimd::bitwise_cast<ivec>(
            xsimd::select(where, xsimd::bitwise_cast<vec>(a), xsimd::bitwise_cast<vec>(b)));
    }

    static ivec lane_offsets() noexcept {
        alignas(64) std::int32_t index[lanes];
        for (std::size_t l = 0; l < lanes; ++l) index[l] = static_cast<std::int32_t>(l);
        return ivec::load_aligned(index);
    }

    // One image: y (the pooled image, A applied) and argmax (each maximum's offset in the convolution's output
    // image, as max_pool2d records it), or no argmax when it is null (inference: the maxima alone, a third of
    // the work after the FMAs). w is [taps x Cout] (HWIO), bias [Cout].
    template <class A>
    static void forward_image(const float* image, const float* w, const float* bias, float* y,
                              std::uint32_t* argmax) noexcept {
        if (argmax != nullptr)
            forward_rows<A, true>(image, w, bias, y, argmax);
        else
            forward_rows<A, false>(image, w, bias, y, nullptr);
    }

    // One image's weight and bias gradients, added to gw [taps x Cout] and gb [Cout], from the gradient of the
    // pooled output with A's derivative already taken (pooled_gradient) and the forward pass's argmax.
    static void backward_image(const float* image, const float* pooled_gradient, const std::uint32_t* argmax,
                               float* gw, float* gb) noexcept {
        const ivec lane = lane_offsets();
        const std::size_t tile_rows = detail::conv_tile_rows(G);
        for (std::size_t t0 = 0; t0 < pixels; t0 += tile_rows) {
            const std::size_t rows = std::min(tile_rows, pixels - t0);
            const std::size_t kcb = detail::gemm_kc(rows);
            for (std::size_t p0 = t0; p0 < t0 + rows; p0 += kcb) {
                const std::size_t kc = std::min(kcb, t0 + rows - p0);
                for (std::size_t c0 = 0; c0 < Cout; c0 += group) {
                    backward_block<0>(image, pooled_gradient, argmax, p0, kc, c0, gw, gb, lane);
                }
            }
        }
    }

private:
    template <class A, bool record_argmax>
    static void forward_rows(const float* image, const float* w, const float* bias, float* y,
                             std::uint32_t* argmax) noexcept {
        const ivec lane = lane_offsets();
        // Windows first .. first + W of pooled row py.
        const auto tile = [&]<std::size_t W>(std::size_t py, std::size_t first) {
            const float* base = image + pixel_offset(py * K, first * K);
            const std::size_t o = (py * P.out_width + first) * Cout;
            for (std::size_t c0 = 0; c0 < Cout; c0 += group)
                forward_tile<W, record_argmax>(base, w + c0, bias + c0, y + o + c0,
                                               record_argmax ? argmax + o + c0 : nullptr,
                                               (py * K * P.in_width + first * K) * Cout + c0, lane);
        };
        for (std::size_t py = 0; py < P.out_height; ++py) {
            std::size_t px = 0;
            for (; px + tile_windows <= P.out_width; px += tile_windows)
                tile.template operator()<tile_windows>(py, px);
            if constexpr (edge_windows > 0) tile.template operator()<edge_windows>(py, px);
            float* y_row = y + py * P.out_width * Cout;
            A::apply(y_row, y_row, P.out_width * Cout);
        }
    }

    // Later maximum of a window in raster order: candidate where it is greater than best, else best (so the
    // first of equal values wins and a NaN candidate loses, max_pool2d's rule). x86's max instruction is
    // exactly this, with the candidate first.
    static vec later_if_greater(const vec& candidate, const vec& best) noexcept {
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
        return xsimd::max(candidate, best);
#else
        return xsimd::select(candidate > best, candidate, best);
#endif
    }

    // W windows of a pooled row starting at conv pixel `base`: channels c0 .. c0 + group.
    // `at` is the offset (in the convolution's output image) of the first window's first element.
    template <std::size_t W, bool record_argmax>
    static void forward_tile(const float* base, const float* w, const float* bias, float* y, std::uint32_t* argmax,
                             std::size_t at, const ivec& lane) noexcept {
        constexpr std::size_t V = group_vectors, KK = window_pixels;
        vec acc[W][KK][V];
        vec start[V];
        for (std::size_t v = 0; v < V; ++v) start[v] = vec::load_unaligned(bias + v * lanes);
#pragma GCC unroll 8
        for (std::size_t i = 0; i < W; ++i)
#pragma GCC unroll 16
            for (std::size_t k = 0; k < KK; ++k)
#pragma GCC unroll 2
                for (std::size_t v = 0; v < V; ++v) acc[i][k][v] = start[v];
#pragma GCC unroll 32
        for (std::size_t t = 0; t < taps; ++t) {
            vec wt[V];
#pragma GCC unroll 2
            for (std::size_t v = 0; v < V; ++v) wt[v] = vec::load_unaligned(w + t * Cout + v * lanes);
#pragma GCC unroll 8
            for (std::size_t i = 0; i < W; ++i)
#pragma GCC unroll 16
                for (std::size_t k = 0; k < KK; ++k) {
                    const vec x(base[pixel_offset(k / K, i * K + k % K) + tap_offset[t]]);
#pragma GCC unroll 2
                    for (std::size_t v = 0; v < V; ++v) acc[i][k][v] = detail::fmadd(x, wt[v], acc[i][k][v]);
                }
        }
        // The maximum in raster order, a later value winning only when greater (max_pool2d's rule).
#pragma GCC unroll 8
        for (std::size_t i = 0; i < W; ++i)
#pragma GCC unroll 2
            for (std::size_t v = 0; v < V; ++v) {
                const ivec origin = ivec(static_cast<std::int32_t>(at + i * K * Cout + v * lanes)) + lane;
                vec best = acc[i][0][v];
                ivec where = origin;
#pragma GCC unroll 16
                for (std::size_t k = 1; k < KK; ++k) {
                    if constexpr (record_argmax) {
                        const auto offset = static_cast<std::int32_t>(((k / K) * P.in_width + k % K) * Cout);
                        where = select_bits(acc[i][k][v] > best, origin + ivec(offset), where);
                    }
                    best = later_if_greater(acc[i][k][v], best);
                }
                best.store_unaligned(y + i * Cout + v * lanes);
                if constexpr (record_argmax)
                    where.store_unaligned(reinterpret_cast<std::int32_t*>(argmax + i * Cout + v * lanes));
            }
    }

    // Pixels p0 .. p0 + kc of the image, channels c0 .. c0 + group, taps T0 .. T0 + tap_rows: their share of the
    // weight gradient (a block sum added to gw) and, with the first taps, of the bias gradient.
    template <std::size_t T0>
    static void backward_block(const float* image, const float* pooled_gradient, const std::uint32_t* argmax,
                               std::size_t p0, std::size_t kc, std::size_t c0, float* gw, float* gb,
                               const ivec& lane) noexcept {
        constexpr std::size_t V = group_vectors, T = std::min(tap_rows, taps - T0);
        constexpr bool bias_here = T0 == 0;
        constexpr std::size_t covered_height = P.out_height * K, covered_width = P.out_width * K;
        vec acc[T][V];
        vec bias_sum[V];
#pragma GCC unroll 32
        for (std::size_t t = 0; t < T; ++t)
#pragma GCC unroll 2
            for (std::size_t v = 0; v < V; ++v) acc[t][v] = vec(0.0f);
        if constexpr (bias_here)
            for (std::size_t v = 0; v < V; ++v) bias_sum[v] = vec::load_unaligned(gb + c0 + v * lanes);
        // The convolution's output gradient at pixel (oy, ox): the pooled gradient where the pixel won its
        // window. here[v] is the offset of the pixel's channels in the convolution's output image, as argmax
        // records winners. A pixel past the image's last row is outside every window (zeros, nothing read).
        const auto routed = [&](std::size_t oy, std::size_t ox, const ivec (&here)[V], vec (&dy)[V]) {
            if (oy < covered_height && ox < covered_width) {
                const std::size_t q = ((oy / K) * P.out_width + ox / K) * Cout + c0;
#pragma GCC unroll 2
                for (std::size_t v = 0; v < V; ++v) {
                    const ivec winner =
                        ivec::load_unaligned(reinterpret_cast<const std::int32_t*>(argmax + q + v * lanes));
                    dy[v] = xsimd::select(xsimd::bool_cast(winner == here[v]),
                                          vec::load_unaligned(pooled_gradient + q + v * lanes), vec(0.0f));
                }
            } else {
                for (std::size_t v = 0; v < V; ++v) dy[v] = vec(0.0f);
            }
        };
        const ivec next_pixel(static_cast<std::int32_t>(Cout));
        ivec here[V];
        for (std::size_t v = 0; v < V; ++v)
            here[v] = ivec(static_cast<std::int32_t>(p0 * Cout + c0 + v * lanes)) + lane;
        std::size_t oy = p0 / G.out_width, ox = p0 % G.out_width;
        vec dy[V];
        routed(oy, ox, here, dy);
        for (std::size_t r = p0; r < p0 + kc; ++r) {
            const float* pixel = image + pixel_offset(oy, ox);
            // The next pixel's gradient is formed before this pixel's products are issued, so that its compare
            // and masked load are done by the time they are needed instead of stalling the FMAs.
            if (++ox == G.out_width) {
                ox = 0;
                ++oy;
            }
            for (std::size_t v = 0; v < V; ++v) here[v] += next_pixel;
            vec next[V];
            routed(oy, ox, here, next);
            if constexpr (bias_here)
                for (std::size_t v = 0; v < V; ++v) bias_sum[v] += dy[v];
#pragma GCC unroll 32
            for (std::size_t t = 0; t < T; ++t) {
                const vec x(pixel[tap_offset[T0 + t]]);
#pragma GCC unroll 2
                for (std::size_t v = 0; v < V; ++v) acc[t][v] = detail::fmadd(x, dy[v], acc[t][v]);
            }
            for (std::size_t v = 0; v < V; ++v) dy[v] = next[v];
        }
#pragma GCC unroll 32
        for (std::size_t t = 0; t < T; ++t)
#pragma GCC unroll 2
            for (std::size_t v = 0; v < V; ++v) {
                float* out = gw + (T0 + t) * Cout + c0 + v * lanes;
                (vec::load_unaligned(out) + acc[t][v]).store_unaligned(out);
            }
        if constexpr (bias_here)
            for (std::size_t v = 0; v < V; ++v) bias_sum[v].store_unaligned(gb + c0 + v * lanes);
        if constexpr (T0 + T < taps) backward_block<T0 + T>(image, pooled_gradient, argmax, p0, kc, c0, gw, gb, lane);
    }
};

}  // namespace ctnn::kernels

#include "ctnn/kernels/detail/warnings_pop.hpp"
