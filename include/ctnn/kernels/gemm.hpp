#pragma once
// General matrix product, row-major: C[m x n] (+)= op(A)[m x k] * op(B)[k x n].
// The one hot kernel behind Dense and Conv2D, forward and backward.

#include <cstddef>

namespace ctnn::kernels {

enum class Trans : bool { no = false, yes = true };

// op(A) is A (m x k, leading dimension lda) or A^T with A stored k x m; likewise op(B).
// accumulate == false overwrites C, true adds to it.
inline void gemm(Trans trans_a, Trans trans_b, std::size_t m, std::size_t n, std::size_t k, const float* a,
                 std::size_t lda, const float* b, std::size_t ldb, float* c, std::size_t ldc,
                 bool accumulate = false) noexcept {
    // Placeholder loop until the packed micro-kernel lands.
    for (std::size_t i = 0; i < m; ++i) {
        float* crow = c + i * ldc;
        if (!accumulate)
            for (std::size_t j = 0; j < n; ++j) crow[j] = 0.0f;
        for (std::size_t p = 0; p < k; ++p) {
            const float aip = trans_a == Trans::no ? a[i * lda + p] : a[p * lda + i];
            if (trans_b == Trans::no) {
                const float* brow = b + p * ldb;
                for (std::size_t j = 0; j < n; ++j) crow[j] += aip * brow[j];
            } else {
                for (std::size_t j = 0; j < n; ++j) crow[j] += aip * b[j * ldb + p];
            }
        }
    }
}

}  // namespace ctnn::kernels
