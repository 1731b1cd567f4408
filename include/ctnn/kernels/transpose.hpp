#pragma once
// dst = src^T for a rows x cols block of floats: dst[j * ld_dst + i] = src[i * ld_src + j]. AVX-512 moves 16 x 16
// tiles through registers (gemm.hpp's transpose16); the edges, and other architectures, go element by element in
// 8 x 8 tiles, so that both sides are read and written a cache line at a time.

#include <algorithm>
#include <cstddef>

#include "ctnn/kernels/gemm.hpp"

#include "ctnn/kernels/detail/warnings_push.hpp"

namespace ctnn::kernels {

inline void transpose(const float* src, std::size_t rows, std::size_t cols, std::size_t ld_src, float* dst,
                      std::size_t ld_dst) noexcept {
    std::size_t i0 = 0;
#if defined(__AVX512F__)
    if constexpr (detail::lanes == 16) {
        for (; i0 + 16 <= rows; i0 += 16) {
            std::size_t j0 = 0;
            for (; j0 + 16 <= cols; j0 += 16) {
                __m512 r[16];
                for (std::size_t q = 0; q < 16; ++q) r[q] = _mm512_loadu_ps(src + (i0 + q) * ld_src + j0);
                detail::transpose16(r);
                for (std::size_t q = 0; q < 16; ++q) _mm512_storeu_ps(dst + (j0 + q) * ld_dst + i0, r[q]);
            }
            for (std::size_t j = j0; j < cols; ++j)
                for (std::size_t i = i0; i < i0 + 16; ++i) dst[j * ld_dst + i] = src[i * ld_src + j];
        }
    }
#endif
    constexpr std::size_t tile = 8;
    for (std::size_t ib = i0; ib < rows; ib += tile)
        for (std::size_t jb = 0; jb < cols; jb += tile) {
            const std::size_t ie = std::min(ib + tile, rows), je = std::min(jb + tile, cols);
            for (std::size_t j = jb; j < je; ++j)
                for (std::size_t i = ib; i < ie; ++i) dst[j * ld_dst + i] = src[i * ld_src + j];
        }
}

}  // namespace ctnn::kernels

#include "ctnn/kernels/detail/warnings_pop.hpp"
