#pragma once
// Naive layer forwards written straight from the definitions, independent of ctnn's kernels: the references
// the layers are checked against.

#include <algorithm>
#include <cstddef>
#include <limits>
#include <vector>

namespace ctnn::reference {

// y[b, o] = sum_i x[b, i] w[i, o] + bias[o]
inline std::vector<float> dense(const float* x, const float* w, const float* bias, std::size_t n, std::size_t in,
                                std::size_t out) {
    std::vector<float> y(n * out);
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t o = 0; o < out; ++o) {
            double sum = bias[o];
            for (std::size_t i = 0; i < in; ++i) sum += static_cast<double>(x[b * in + i]) * w[i * out + o];
            y[b * out + o] = static_cast<float>(sum);
        }
    return y;
}

struct ConvShape {
    std::size_t height, width, channels, kernel_height, kernel_width, filters, stride, pad_top, pad_left,
        out_height, out_width;
};

// Direct convolution, NHWC input, HWIO weights, zero padding.
inline std::vector<float> conv2d(const ConvShape& s, const float* x, const float* w, const float* bias,
                                 std::size_t n) {
    std::vector<float> y(n * s.out_height * s.out_width * s.filters);
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t oy = 0; oy < s.out_height; ++oy)
            for (std::size_t ox = 0; ox < s.out_width; ++ox)
                for (std::size_t f = 0; f < s.filters; ++f) {
                    double sum = bias[f];
                    for (std::size_t ky = 0; ky < s.kernel_height; ++ky)
                        for (std::size_t kx = 0; kx < s.kernel_width; ++kx) {
                            const long iy = static_cast<long>(oy * s.stride + ky) - static_cast<long>(s.pad_top);
                            const long ix = static_cast<long>(ox * s.stride + kx) - static_cast<long>(s.pad_left);
                            if (iy < 0 || ix < 0 || iy >= static_cast<long>(s.height) ||
                                ix >= static_cast<long>(s.width))
                                continue;
                            for (std::size_t c = 0; c < s.channels; ++c)
                                sum += static_cast<double>(
                                           x[((b * s.height + static_cast<std::size_t>(iy)) * s.width +
                                              static_cast<std::size_t>(ix)) *
                                                 s.channels +
                                             c]) *
                                       w[((ky * s.kernel_width + kx) * s.channels + c) * s.filters + f];
                        }
                    y[((b * s.out_height + oy) * s.out_width + ox) * s.filters + f] = static_cast<float>(sum);
                }
    return y;
}

inline std::vector<float> max_pool(const float* x, std::size_t n, std::size_t height, std::size_t width,
                                   std::size_t channels, std::size_t window, std::size_t stride) {
    const std::size_t oh = (height - window) / stride + 1, ow = (width - window) / stride + 1;
    std::vector<float> y(n * oh * ow * channels);
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t oy = 0; oy < oh; ++oy)
            for (std::size_t ox = 0; ox < ow; ++ox)
                for (std::size_t c = 0; c < channels; ++c) {
                    float best = -std::numeric_limits<float>::infinity();
                    for (std::size_t ky = 0; ky < window; ++ky)
                        for (std::size_t kx = 0; kx < window; ++kx)
                            best = std::max(best, x[((b * height + oy * stride + ky) * width + ox * stride + kx) *
                                                        channels +
                                                    c]);
                    y[((b * oh + oy) * ow + ox) * channels + c] = best;
                }
    return y;
}

}  // namespace ctnn::reference
