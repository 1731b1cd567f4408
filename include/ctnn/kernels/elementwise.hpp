#pragma once
// Element-wise and row-wise kernels: activations, bias, softmax, dropout masks.
// xt::maximum does not take xtensor's SIMD path, hence hand-written loops here.

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace ctnn::kernels {

// y = max(x, 0)
inline void relu(const float* x, float* y, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) y[i] = std::max(x[i], 0.0f);
}

// dx = dy where the forward output was positive, else 0.
inline void relu_backward(const float* y, const float* dy, float* dx, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

// y[r, c] += bias[c]
inline void add_bias(float* y, const float* bias, std::size_t rows, std::size_t cols) noexcept {
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c) y[r * cols + c] += bias[c];
}

// out[c] (+)= sum over rows of x[r, c]  (the bias gradient)
inline void sum_rows(const float* x, std::size_t rows, std::size_t cols, float* out, bool accumulate) noexcept {
    if (!accumulate) std::fill(out, out + cols, 0.0f);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c) out[c] += x[r * cols + c];
}

// Row-wise softmax, stable (subtracts the row maximum).
inline void softmax_rows(const float* x, float* y, std::size_t rows, std::size_t cols) noexcept {
    for (std::size_t r = 0; r < rows; ++r) {
        const float* in = x + r * cols;
        float* out = y + r * cols;
        const float top = *std::max_element(in, in + cols);
        float total = 0.0f;
        for (std::size_t c = 0; c < cols; ++c) total += out[c] = std::exp(in[c] - top);
        const float inv = 1.0f / total;
        for (std::size_t c = 0; c < cols; ++c) out[c] *= inv;
    }
}

// Softmax backward per row: dx = y * (dy - sum(dy * y)).
inline void softmax_rows_backward(const float* y, const float* dy, float* dx, std::size_t rows,
                                  std::size_t cols) noexcept {
    for (std::size_t r = 0; r < rows; ++r) {
        const float* yr = y + r * cols;
        const float* dyr = dy + r * cols;
        float dot = 0.0f;
        for (std::size_t c = 0; c < cols; ++c) dot += dyr[c] * yr[c];
        for (std::size_t c = 0; c < cols; ++c) dx[r * cols + c] = yr[c] * (dyr[c] - dot);
    }
}

// out = x * mask (dropout forward with a pre-scaled mask, and its backward).
inline void multiply(const float* x, const float* mask, float* out, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) out[i] = x[i] * mask[i];
}

}  // namespace ctnn::kernels
