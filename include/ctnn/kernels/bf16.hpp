#pragma once
// bfloat16 weights for inference: the top 16 bits of a float (8 exponent bits, 7 mantissa bits), rounded to
// nearest even. Half the bytes of float weights, so a layer whose weights stream from L3 at batch 1 (the seed
// CNN's Dense<5408,128>: 2.77 MB, more than a 2 MB L2) may fit L2 (1.38 MB). Inputs, sums and outputs stay
// float; a weight widens to float exactly (a shift), so the only error is the weights' rounding (relative 2^-9).
//
// small_batch_affine_bf16 is small_batch.hpp's kernel reading bf16 weights: each output sums k ascending from
// zero, whatever the row group, so a row's result does not depend on how many rows are computed with it.

#include <bit>
#include <cstddef>
#include <cstdint>

#include "ctnn/kernels/detail/simd.hpp"

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include "ctnn/kernels/detail/warnings_push.hpp"

namespace ctnn::kernels {

// Round to nearest, ties to even; NaN stays NaN (quiet), infinities and signed zeros are kept.
constexpr std::uint16_t to_bf16(float value) noexcept {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
    if ((bits & 0x7F800000u) == 0x7F800000u && (bits & 0x007FFFFFu) != 0)
        return static_cast<std::uint16_t>((bits >> 16) | 0x0040u);
    const std::uint32_t rounding = 0x7FFFu + ((bits >> 16) & 1u);
    return static_cast<std::uint16_t>((bits + rounding) >> 16);
}
constexpr float from_bf16(std::uint16_t value) noexcept {
    return std::bit_cast<float>(static_cast<std::uint32_t>(value) << 16);
}

namespace detail {

// `count` bf16 values at p widened to a float vector (count <= lanes; zeros past count).
inline vec load_bf16(const std::uint16_t* p, std::size_t count) noexcept {
#if defined(__AVX512F__)
    if constexpr (lanes == 16) {
        __m256i half;
        if (count == lanes) {
            half = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        } else {
#if defined(__AVX512BW__) && defined(__AVX512VL__)
            half = _mm256_maskz_loadu_epi16(static_cast<__mmask16>((1u << count) - 1u), p);
#else
            alignas(32) std::uint16_t some[lanes] = {};
            for (std::size_t i = 0; i < count; ++i) some[i] = p[i];
            half = _mm256_load_si256(reinterpret_cast<const __m256i*>(some));
#endif
        }
        return vec(_mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(half), 16)));
    }
#endif
#if defined(__AVX2__) && !defined(__AVX512F__)
    if constexpr (lanes == 8) {
        if (count == lanes) {
            const __m128i half = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
            return vec(_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(half), 16)));
        }
    }
#endif
    alignas(64) float widened[lanes] = {};
    for (std::size_t i = 0; i < count; ++i) widened[i] = from_bf16(p[i]);
    return vec::load_aligned(widened);
}

template <std::size_t K, std::size_t R, std::size_t V>
inline void small_batch_block_bf16(const float* x, std::size_t ldx, const std::uint16_t* w, std::size_t ldw,
                                   float* y, std::size_t ldy, std::size_t last) noexcept {
    vec acc[R][V];
#pragma GCC unroll 8
    for (std::size_t r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (std::size_t v = 0; v < V; ++v) acc[r][v] = vec(0.0f);
    for (std::size_t k = 0; k < K; ++k) {
        const std::uint16_t* wk = w + k * ldw;
        vec b[V];
#pragma GCC unroll 8
        for (std::size_t v = 0; v < V; ++v) b[v] = load_bf16(wk + v * lanes, v + 1 < V ? lanes : last);
#pragma GCC unroll 8
        for (std::size_t r = 0; r < R; ++r) {
            const vec xr(x[r * ldx + k]);
#pragma GCC unroll 8
            for (std::size_t v = 0; v < V; ++v) acc[r][v] = fmadd(xr, b[v], acc[r][v]);
        }
    }
#pragma GCC unroll 8
    for (std::size_t r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (std::size_t v = 0; v < V; ++v) {
            float* out = y + r * ldy + v * lanes;
            if (v + 1 < V || last == lanes)
                acc[r][v].store_unaligned(out);
            else
                store_partial(acc[r][v], out, last);
        }
}

template <std::size_t K, std::size_t N, std::size_t R>
inline void small_batch_rows_bf16(const float* x, const std::uint16_t* w, float* y) noexcept {
    constexpr std::size_t V = lanes == 16 ? 4 : 2;
    constexpr std::size_t block = V * lanes;
    constexpr std::size_t full_blocks = N / block;
    for (std::size_t j = 0; j < full_blocks * block; j += block)
        small_batch_block_bf16<K, R, V>(x, K, w + j, N, y + j, N, lanes);
    std::size_t j = full_blocks * block;
    for (; j + lanes <= N; j += lanes) small_batch_block_bf16<K, R, 1>(x, K, w + j, N, y + j, N, lanes);
    if (j < N) small_batch_block_bf16<K, R, 1>(x, K, w + j, N, y + j, N, N - j);
}

}  // namespace detail

// y = x W for n rows of any count, W K x N row-major in bf16 (no bias: the layer adds its own), in groups of 4
// rows, each group streaming W once.
template <std::size_t K, std::size_t N>
inline void affine_bf16(const float* x, std::size_t n, const std::uint16_t* w, float* y) noexcept {
    constexpr std::size_t R = 4;
    for (; n >= R; n -= R, x += R * K, y += R * N) detail::small_batch_rows_bf16<K, N, R>(x, w, y);
    switch (n) {
        case 3: detail::small_batch_rows_bf16<K, N, 3>(x, w, y); break;
        case 2: detail::small_batch_rows_bf16<K, N, 2>(x, w, y); break;
        case 1: detail::small_batch_rows_bf16<K, N, 1>(x, w, y); break;
        default: break;
    }
}

}  // namespace ctnn::kernels

#include "ctnn/kernels/detail/warnings_pop.hpp"
