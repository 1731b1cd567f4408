#pragma once
// Naive reference loops for the kernel tests: obvious code, double accumulation, no dependence on the fast
// kernels (only the geometry structs are shared).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "ctnn/core/random.hpp"
#include "ctnn/kernels/gemm.hpp"
#include "ctnn/kernels/im2col.hpp"
#include "ctnn/kernels/pooling.hpp"

namespace ctnn::reference {

// A square-kernel geometry as Conv2D<k,k,...> with `valid` or `same` (TensorFlow) padding would build it.
inline kernels::ConvGeometry conv_geometry(std::size_t h, std::size_t w, std::size_t c, std::size_t k,
                                           std::size_t stride, bool same) {
    const std::size_t oh = same ? (h + stride - 1) / stride : (h - k) / stride + 1;
    const std::size_t ow = same ? (w + stride - 1) / stride : (w - k) / stride + 1;
    const std::size_t pad_h = same ? ((oh - 1) * stride + k > h ? ((oh - 1) * stride + k - h) / 2 : 0) : 0;
    const std::size_t pad_w = same ? ((ow - 1) * stride + k > w ? ((ow - 1) * stride + k - w) / 2 : 0) : 0;
    return {h, w, c, k, k, stride, pad_h, pad_w, oh, ow};
}

inline std::vector<float> random_vector(std::size_t n, std::uint64_t seed_value, float lo = -1.0f, float hi = 1.0f) {
    Rng rng(seed_value);
    std::vector<float> v(n);
    for (auto& x : v) x = rng.uniform(lo, hi);
    return v;
}

inline double op_at(const float* m, std::size_t ld, bool trans, std::size_t r, std::size_t c) {
    return trans ? m[c * ld + r] : m[r * ld + c];
}

// C (+)= op(A) op(B), accumulated in double.
inline void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
                 const float* b, std::size_t ldb, float* c, std::size_t ldc, bool accumulate) {
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            double s = accumulate ? c[i * ldc + j] : 0.0;
            for (std::size_t p = 0; p < k; ++p) s += op_at(a, lda, ta, i, p) * op_at(b, ldb, tb, p, j);
            c[i * ldc + j] = static_cast<float>(s);
        }
}

// Sum of |op(A)| |op(B)| per element: the scale that rounding errors are relative to.
inline double gemm_abs_bound(bool ta, bool tb, std::size_t i, std::size_t j, std::size_t k, const float* a,
                             std::size_t lda, const float* b, std::size_t ldb) {
    double s = 0.0;
    for (std::size_t p = 0; p < k; ++p) s += std::abs(op_at(a, lda, ta, i, p) * op_at(b, ldb, tb, p, j));
    return s;
}

inline float pixel(const kernels::ConvGeometry& g, const float* img, std::ptrdiff_t y, std::ptrdiff_t x,
                   std::size_t c) {
    if (y < 0 || x < 0 || y >= static_cast<std::ptrdiff_t>(g.in_height) ||
        x >= static_cast<std::ptrdiff_t>(g.in_width))
        return 0.0f;
    return img[(static_cast<std::size_t>(y) * g.in_width + static_cast<std::size_t>(x)) * g.channels + c];
}

inline std::ptrdiff_t in_y(const kernels::ConvGeometry& g, std::size_t oy, std::size_t ky) {
    return static_cast<std::ptrdiff_t>(oy * g.stride + ky) - static_cast<std::ptrdiff_t>(g.pad_top);
}
inline std::ptrdiff_t in_x(const kernels::ConvGeometry& g, std::size_t ox, std::size_t kx) {
    return static_cast<std::ptrdiff_t>(ox * g.stride + kx) - static_cast<std::ptrdiff_t>(g.pad_left);
}

// Direct convolution, NHWC, weights HWIO [kh][kw][cin][cout].
inline void conv2d_forward(const kernels::ConvGeometry& g, std::size_t cout, const float* x, const float* w,
                           const float* bias, float* y, std::size_t batch) {
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t oy = 0; oy < g.out_height; ++oy)
            for (std::size_t ox = 0; ox < g.out_width; ++ox)
                for (std::size_t o = 0; o < cout; ++o) {
                    double s = bias[o];
                    for (std::size_t ky = 0; ky < g.kernel_height; ++ky)
                        for (std::size_t kx = 0; kx < g.kernel_width; ++kx)
                            for (std::size_t c = 0; c < g.channels; ++c)
                                s += static_cast<double>(pixel(g, x + b * g.image_size(), in_y(g, oy, ky),
                                                               in_x(g, ox, kx), c)) *
                                     w[((ky * g.kernel_width + kx) * g.channels + c) * cout + o];
                    y[((b * g.out_height + oy) * g.out_width + ox) * cout + o] = static_cast<float>(s);
                }
}

// dw += sum x * dy; db += sum dy; dx = sum w * dy (overwritten), all by direct loops.
inline void conv2d_backward(const kernels::ConvGeometry& g, std::size_t cout, const float* x, const float* w,
                            const float* dy, float* dw, float* db, float* dx, std::size_t batch) {
    std::vector<double> gw(g.patch_size() * cout, 0.0), gb(cout, 0.0), gx(batch * g.image_size(), 0.0);
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t oy = 0; oy < g.out_height; ++oy)
            for (std::size_t ox = 0; ox < g.out_width; ++ox)
                for (std::size_t o = 0; o < cout; ++o) {
                    const double d = dy[((b * g.out_height + oy) * g.out_width + ox) * cout + o];
                    gb[o] += d;
                    for (std::size_t ky = 0; ky < g.kernel_height; ++ky)
                        for (std::size_t kx = 0; kx < g.kernel_width; ++kx)
                            for (std::size_t c = 0; c < g.channels; ++c) {
                                const std::size_t widx = ((ky * g.kernel_width + kx) * g.channels + c) * cout + o;
                                const std::ptrdiff_t iy = in_y(g, oy, ky), ix = in_x(g, ox, kx);
                                gw[widx] += d * pixel(g, x + b * g.image_size(), iy, ix, c);
                                if (iy >= 0 && ix >= 0 && iy < static_cast<std::ptrdiff_t>(g.in_height) &&
                                    ix < static_cast<std::ptrdiff_t>(g.in_width))
                                    gx[b * g.image_size() +
                                       (static_cast<std::size_t>(iy) * g.in_width + static_cast<std::size_t>(ix)) *
                                           g.channels +
                                       c] += d * w[widx];
                            }
                }
    for (std::size_t i = 0; i < gw.size(); ++i) dw[i] = static_cast<float>(dw[i] + gw[i]);
    for (std::size_t i = 0; i < cout; ++i) db[i] = static_cast<float>(db[i] + gb[i]);
    if (dx)
        for (std::size_t i = 0; i < gx.size(); ++i) dx[i] = static_cast<float>(gx[i]);
}

inline void im2col(const kernels::ConvGeometry& g, const float* img, float* patches) {
    std::size_t at = 0;
    for (std::size_t oy = 0; oy < g.out_height; ++oy)
        for (std::size_t ox = 0; ox < g.out_width; ++ox)
            for (std::size_t ky = 0; ky < g.kernel_height; ++ky)
                for (std::size_t kx = 0; kx < g.kernel_width; ++kx)
                    for (std::size_t c = 0; c < g.channels; ++c)
                        patches[at++] = pixel(g, img, in_y(g, oy, ky), in_x(g, ox, kx), c);
}

inline void max_pool2d(const kernels::PoolGeometry& g, const float* x, float* y, std::uint32_t* arg,
                       std::size_t batch) {
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t oy = 0; oy < g.out_height; ++oy)
            for (std::size_t ox = 0; ox < g.out_width; ++ox)
                for (std::size_t c = 0; c < g.channels; ++c) {
                    float best = -std::numeric_limits<float>::infinity();
                    std::size_t where = 0;
                    bool first = true;
                    for (std::size_t ky = 0; ky < g.window; ++ky)
                        for (std::size_t kx = 0; kx < g.window; ++kx) {
                            const std::size_t at =
                                ((oy * g.stride + ky) * g.in_width + ox * g.stride + kx) * g.channels + c;
                            const float v = x[b * g.in_size() + at];
                            if (first || v > best) {
                                best = v;
                                where = at;
                                first = false;
                            }
                        }
                    const std::size_t o = b * g.out_size() + (oy * g.out_width + ox) * g.channels + c;
                    y[o] = best;
                    arg[o] = static_cast<std::uint32_t>(where);
                }
}

}  // namespace ctnn::reference
