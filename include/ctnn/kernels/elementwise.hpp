#pragma once
// Element-wise and row-wise kernels: activations, bias, softmax, dropout masks.
// xt::maximum does not take xtensor's SIMD path, hence hand-written xsimd loops here. Pointers may have any
// alignment (unaligned loads and stores; on current cores they cost nothing when the data is aligned anyway);
// the tail shorter than one vector is done by the same formula in scalar code.
// Scalar tails count down a separate `left`: with `for (; i < n; ++i)` g++ 12 reports a false
// -Waggressive-loop-optimizations error once n is a compile-time multiple of the vector width (Dense<784,128>).

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "ctnn/kernels/detail/simd.hpp"

#include "ctnn/kernels/detail/warnings_push.hpp"

namespace ctnn::kernels {

// y = max(x, 0), and NaN stays NaN (as in PyTorch), in the vector body and the tail alike: a NaN input must
// reach the loss, where fit stops on it, not vanish into zeros while the weights go NaN. -0 maps to +0.
inline void relu(const float* x, float* y, std::size_t n) noexcept {
    using detail::vec;
    const vec zero(0.0f);
    std::size_t i = 0;
    for (; i + detail::lanes <= n; i += detail::lanes) {
        const vec v = vec::load_unaligned(x + i);
        xsimd::select((v > zero) || xsimd::isnan(v), v, zero).store_unaligned(y + i);
    }
    for (std::size_t left = n - i; left != 0; --left, ++i) y[i] = x[i] > 0.0f || std::isnan(x[i]) ? x[i] : 0.0f;
}

// dx = dy where the forward output was positive, else 0.
inline void relu_backward(const float* y, const float* dy, float* dx, std::size_t n) noexcept {
    using detail::vec;
    const vec zero(0.0f);
    std::size_t i = 0;
    for (; i + detail::lanes <= n; i += detail::lanes)
        xsimd::select(vec::load_unaligned(y + i) > zero, vec::load_unaligned(dy + i), zero).store_unaligned(dx + i);
    for (std::size_t left = n - i; left != 0; --left, ++i) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

// y[r, c] += bias[c]
inline void add_bias(float* y, const float* bias, std::size_t rows, std::size_t cols) noexcept {
    using detail::vec;
    for (std::size_t r = 0; r < rows; ++r) {
        float* row = y + r * cols;
        std::size_t c = 0;
        for (; c + detail::lanes <= cols; c += detail::lanes)
            (vec::load_unaligned(row + c) + vec::load_unaligned(bias + c)).store_unaligned(row + c);
        for (std::size_t left = cols - c; left != 0; --left, ++c) row[c] += bias[c];
    }
}

// y[i] += x[i].
inline void add_to(float* y, const float* x, std::size_t n) noexcept {
    using detail::vec;
    std::size_t i = 0;
    for (; i + detail::lanes <= n; i += detail::lanes)
        (vec::load_unaligned(y + i) + vec::load_unaligned(x + i)).store_unaligned(y + i);
    for (; i < n; ++i) y[i] += x[i];
}

// out[i] = a[i] + b[i] (a residual block's shortcut, forward and backward).
inline void add(const float* a, const float* b, float* out, std::size_t n) noexcept {
    using detail::vec;
    std::size_t i = 0;
    for (; i + detail::lanes <= n; i += detail::lanes)
        (vec::load_unaligned(a + i) + vec::load_unaligned(b + i)).store_unaligned(out + i);
    for (; i < n; ++i) out[i] = a[i] + b[i];
}

// out[c] (+)= sum over rows of x[r, c]  (the bias gradient). Rows are added in order, so the result does not
// depend on the vector width's tail split.
inline void sum_rows(const float* x, std::size_t rows, std::size_t cols, float* out, bool accumulate) noexcept {
    using detail::vec;
    std::size_t c = 0;
    // Four vectors of columns at a time: the row loop is then four independent add chains.
    for (; c + 4 * detail::lanes <= cols; c += 4 * detail::lanes) {
        vec s[4];
        for (std::size_t v = 0; v < 4; ++v)
            s[v] = accumulate ? vec::load_unaligned(out + c + v * detail::lanes) : vec(0.0f);
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t v = 0; v < 4; ++v) s[v] += vec::load_unaligned(x + r * cols + c + v * detail::lanes);
        for (std::size_t v = 0; v < 4; ++v) s[v].store_unaligned(out + c + v * detail::lanes);
    }
    for (; c + detail::lanes <= cols; c += detail::lanes) {
        vec s = accumulate ? vec::load_unaligned(out + c) : vec(0.0f);
        for (std::size_t r = 0; r < rows; ++r) s += vec::load_unaligned(x + r * cols + c);
        s.store_unaligned(out + c);
    }
    for (std::size_t left = cols - c; left != 0; --left, ++c) {
        float s = accumulate ? out[c] : 0.0f;
        for (std::size_t r = 0; r < rows; ++r) s += x[r * cols + c];
        out[c] = s;
    }
}

// dz = A's derivative applied to dy (from A's output y), and sums[c] (+)= the column sums of dz, in one pass:
// each row's dz is added while it is in L1. The sums are those of sum_rows on dz, bit for bit (rows in order,
// each column from zero or from what sums holds).
template <class A>
inline void activation_backward_and_column_sums(const float* y, const float* dy, float* dz, std::size_t rows,
                                                std::size_t cols, float* sums, bool accumulate) noexcept {
    if (!accumulate) std::fill_n(sums, cols, 0.0f);
    for (std::size_t r = 0; r < rows; ++r) {
        A::apply_backward(y + r * cols, dy + r * cols, dz + r * cols, cols);
        add_to(sums, dz + r * cols, cols);
    }
}

// Row-wise softmax, stable (subtracts the row maximum).
inline void softmax_rows(const float* x, float* y, std::size_t rows, std::size_t cols) noexcept {
    using detail::vec;
    constexpr std::size_t w = detail::lanes;
    for (std::size_t r = 0; r < rows; ++r) {
        const float* in = x + r * cols;
        float* out = y + r * cols;
        if (cols == 0) continue;
        float top = in[0];
        std::size_t c = 0;
        if (cols >= w) {
            vec m = vec::load_unaligned(in);
            for (c = w; c + w <= cols; c += w) m = xsimd::max(m, vec::load_unaligned(in + c));
            top = detail::hmax(m);
        }
        for (std::size_t left = cols - c; left != 0; --left, ++c) top = std::max(top, in[c]);
        vec vsum(0.0f);
        const vec vtop(top);
        for (c = 0; c + w <= cols; c += w) {
            const vec e = xsimd::exp(vec::load_unaligned(in + c) - vtop);
            e.store_unaligned(out + c);
            vsum += e;
        }
        float total = xsimd::hadd(vsum);
        for (std::size_t left = cols - c; left != 0; --left, ++c) total += out[c] = std::exp(in[c] - top);
        const float inv = 1.0f / total;
        const vec vinv(inv);
        for (c = 0; c + w <= cols; c += w) (vec::load_unaligned(out + c) * vinv).store_unaligned(out + c);
        for (std::size_t left = cols - c; left != 0; --left, ++c) out[c] *= inv;
    }
}

// Softmax backward per row: dx = y * (dy - sum(dy * y)).
inline void softmax_rows_backward(const float* y, const float* dy, float* dx, std::size_t rows,
                                  std::size_t cols) noexcept {
    using detail::vec;
    constexpr std::size_t w = detail::lanes;
    for (std::size_t r = 0; r < rows; ++r) {
        const float* yr = y + r * cols;
        const float* dyr = dy + r * cols;
        float* dxr = dx + r * cols;
        vec vdot(0.0f);
        std::size_t c = 0;
        for (; c + w <= cols; c += w)
            vdot = detail::fmadd(vec::load_unaligned(dyr + c), vec::load_unaligned(yr + c), vdot);
        float dot = xsimd::hadd(vdot);
        for (std::size_t left = cols - c; left != 0; --left, ++c) dot += dyr[c] * yr[c];
        const vec vd(dot);
        for (c = 0; c + w <= cols; c += w)
            (vec::load_unaligned(yr + c) * (vec::load_unaligned(dyr + c) - vd)).store_unaligned(dxr + c);
        for (std::size_t left = cols - c; left != 0; --left, ++c) dxr[c] = yr[c] * (dyr[c] - dot);
    }
}

// out = x * mask (dropout forward with a pre-scaled mask, and its backward).
inline void multiply(const float* x, const float* mask, float* out, std::size_t n) noexcept {
    using detail::vec;
    std::size_t i = 0;
    for (; i + detail::lanes <= n; i += detail::lanes)
        (vec::load_unaligned(x + i) * vec::load_unaligned(mask + i)).store_unaligned(out + i);
    for (std::size_t left = n - i; left != 0; --left, ++i) out[i] = x[i] * mask[i];
}

}  // namespace ctnn::kernels

#include "ctnn/kernels/detail/warnings_pop.hpp"
