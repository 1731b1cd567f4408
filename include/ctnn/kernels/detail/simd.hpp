#pragma once
// The SIMD vocabulary shared by the kernels: one batch type of the compile-time default arch, and an FMA that
// is really fused. xsimd 8.1's fma on AVX-512 is a separate multiply and add under clang 14, so the
// register-wide intrinsic is named directly where the flags provide it.

#include <cstddef>

#include <xsimd/xsimd.hpp>

#if defined(__AVX512F__) || defined(__FMA__)
#include <immintrin.h>
#endif

namespace ctnn::kernels::detail {

using vec = xsimd::batch<float>;
inline constexpr std::size_t lanes = vec::size;

// A template so that the branches for register widths other than the compiled one are discarded.
template <class V = vec>
inline V fmadd(const V& a, const V& b, const V& c) noexcept {
#if defined(__AVX512F__)
    if constexpr (V::size == 16) return V(_mm512_fmadd_ps(a, b, c));
#endif
#if defined(__FMA__)
    if constexpr (V::size == 8) return V(_mm256_fmadd_ps(a, b, c));
    if constexpr (V::size == 4) return V(_mm_fmadd_ps(a, b, c));
#endif
    return a * b + c;
}

// The first n < lanes floats at p as a vector, zeros elsewhere; and the matching partial store. AVX-512 has
// masked loads and stores for this; elsewhere a small aligned buffer does it.
inline vec load_partial(const float* p, std::size_t n) noexcept {
#if defined(__AVX512F__)
    if constexpr (lanes == 16)
        return vec(_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p));
#endif
    alignas(64) float tmp[lanes] = {};
    for (std::size_t i = 0; i < n && i < lanes; ++i) tmp[i] = p[i];
    return vec::load_aligned(tmp);
}

inline void store_partial(const vec& v, float* p, std::size_t n) noexcept {
#if defined(__AVX512F__)
    if constexpr (lanes == 16) {
        _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1u), v);
        return;
    }
#endif
    alignas(64) float tmp[lanes];
    v.store_aligned(tmp);
    for (std::size_t i = 0; i < n && i < lanes; ++i) p[i] = tmp[i];
}

// count <= lanes floats at p: a whole vector when count == lanes, else the partial forms above.
inline vec load_some(const float* p, std::size_t count) noexcept {
    return count == lanes ? vec::load_unaligned(p) : load_partial(p, count);
}
inline void store_some(const vec& v, float* p, std::size_t count) noexcept {
    if (count == lanes)
        v.store_unaligned(p);
    else
        store_partial(v, p, count);
}

// Horizontal maximum (xsimd 8.1 has no reduce_max).
inline float hmax(const vec& v) noexcept {
    alignas(64) float tmp[lanes];
    v.store_aligned(tmp);
    float best = tmp[0];
    for (std::size_t i = 1; i < lanes; ++i) best = tmp[i] > best ? tmp[i] : best;
    return best;
}

}  // namespace ctnn::kernels::detail
