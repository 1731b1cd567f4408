#pragma once
// bfloat16 weights for inference: the top 16 bits of a float (8 exponent bits, 7 mantissa bits), rounded to
// nearest even. Half the bytes of float weights, so a layer whose weights stream from L3 at batch 1 (the seed
// CNN's Dense<5408,128>: 2.77 MB, more than a 2 MB L2) may fit L2 (1.38 MB). Inputs, sums and outputs stay
// float; a weight widens to float exactly (a shift), so the only error is the weights' rounding (relative 2^-9).
//
// affine_bf16 is small_batch.hpp's kernel reading bf16 weights: each output sums k ascending from zero, whatever
// the row group, so a row's result does not depend on how many rows are computed with it.

#include <bit>
#include <cstddef>
#include <cstdint>

#include "ctnn/kernels/detail/simd.hpp"
#include "ctnn/kernels/small_batch.hpp"

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

// The weight policy of small_batch.hpp's kernel for bf16 weights.
struct Bf16Weights {
    using value_type = std::uint16_t;
    static vec load(const std::uint16_t* p, std::size_t count) noexcept { return load_bf16(p, count); }
};

}  // namespace detail

// y = x W for n rows of any count, W K x N row-major in bf16 (no bias: the layer adds its own), in groups of 4
// rows, each group streaming W once.
template <std::size_t K, std::size_t N>
inline void affine_bf16(const float* x, std::size_t n, const std::uint16_t* w, float* y) noexcept {
    detail::small_batch_affine_rows<K, N, detail::Bf16Weights>(x, n, w, nullptr, y);
}

}  // namespace ctnn::kernels

#include "ctnn/kernels/detail/warnings_pop.hpp"
