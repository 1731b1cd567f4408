#pragma once
// im2col / col2im for one NHWC image. A patch row is (out_y, out_x); its columns are (ky, kx, channel),
// matching Conv2D weights stored [KH*KW*Cin, Cout], so patches x weights lands directly in NHWC.

#include <cstddef>

namespace ctnn::kernels {

struct ConvGeometry {
    std::size_t in_height, in_width, channels;
    std::size_t kernel_height, kernel_width;
    std::size_t stride;
    std::size_t pad_top, pad_left;
    std::size_t out_height, out_width;

    constexpr std::size_t patch_size() const noexcept { return kernel_height * kernel_width * channels; }
    constexpr std::size_t patch_count() const noexcept { return out_height * out_width; }
    constexpr std::size_t image_size() const noexcept { return in_height * in_width * channels; }
};

// patches[patch_count x patch_size] from one image; padding reads as zero.
inline void im2col(const ConvGeometry& g, const float* image, float* patches) noexcept {
    for (std::size_t oy = 0; oy < g.out_height; ++oy)
        for (std::size_t ox = 0; ox < g.out_width; ++ox) {
            float* row = patches + (oy * g.out_width + ox) * g.patch_size();
            for (std::size_t ky = 0; ky < g.kernel_height; ++ky) {
                const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * g.stride + ky) -
                                          static_cast<std::ptrdiff_t>(g.pad_top);
                for (std::size_t kx = 0; kx < g.kernel_width; ++kx) {
                    const std::ptrdiff_t ix = static_cast<std::ptrdiff_t>(ox * g.stride + kx) -
                                              static_cast<std::ptrdiff_t>(g.pad_left);
                    float* dst = row + (ky * g.kernel_width + kx) * g.channels;
                    const bool inside = iy >= 0 && ix >= 0 && iy < static_cast<std::ptrdiff_t>(g.in_height) &&
                                        ix < static_cast<std::ptrdiff_t>(g.in_width);
                    for (std::size_t c = 0; c < g.channels; ++c)
                        dst[c] = inside ? image[(static_cast<std::size_t>(iy) * g.in_width +
                                                 static_cast<std::size_t>(ix)) * g.channels + c]
                                        : 0.0f;
                }
            }
        }
}

// The adjoint of im2col: image = sum of every patch entry back at its pixel (overwrites image).
inline void col2im(const ConvGeometry& g, const float* patches, float* image) noexcept {
    for (std::size_t i = 0; i < g.image_size(); ++i) image[i] = 0.0f;
    for (std::size_t oy = 0; oy < g.out_height; ++oy)
        for (std::size_t ox = 0; ox < g.out_width; ++ox) {
            const float* row = patches + (oy * g.out_width + ox) * g.patch_size();
            for (std::size_t ky = 0; ky < g.kernel_height; ++ky) {
                const std::ptrdiff_t iy = static_cast<std::ptrdiff_t>(oy * g.stride + ky) -
                                          static_cast<std::ptrdiff_t>(g.pad_top);
                if (iy < 0 || iy >= static_cast<std::ptrdiff_t>(g.in_height)) continue;
                for (std::size_t kx = 0; kx < g.kernel_width; ++kx) {
                    const std::ptrdiff_t ix = static_cast<std::ptrdiff_t>(ox * g.stride + kx) -
                                              static_cast<std::ptrdiff_t>(g.pad_left);
                    if (ix < 0 || ix >= static_cast<std::ptrdiff_t>(g.in_width)) continue;
                    const float* src = row + (ky * g.kernel_width + kx) * g.channels;
                    float* dst = image + (static_cast<std::size_t>(iy) * g.in_width + static_cast<std::size_t>(ix)) *
                                             g.channels;
                    for (std::size_t c = 0; c < g.channels; ++c) dst[c] += src[c];
                }
            }
        }
}

}  // namespace ctnn::kernels
