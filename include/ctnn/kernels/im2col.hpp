#pragma once
// im2col / col2im for one NHWC image. A patch row is (out_y, out_x); its columns are (ky, kx, channel),
// matching Conv2D weights stored [KH*KW*Cin, Cout], so patches x weights lands directly in NHWC.
// In NHWC the kw*Cin entries of one kernel row are contiguous in the image whenever the patch is inside it,
// so the copies run as vector loops over those runs; only patches touching the padding go pixel by pixel.

#include <cstddef>

#include "ctnn/kernels/detail/simd.hpp"

#include "ctnn/kernels/detail/warnings_push.hpp"

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

namespace detail {

// The vector part's length is computed first: with a compile-time n (a layer's channel count) g++ 12 then
// sees both loops' exact trip counts instead of reporting a false -Waggressive-loop-optimizations error.
inline void copy_run(const float* src, float* dst, std::size_t n) noexcept {
    const std::size_t body = n - n % lanes;
    for (std::size_t i = 0; i < body; i += lanes) vec::load_unaligned(src + i).store_unaligned(dst + i);
    for (std::size_t i = body; i < n; ++i) dst[i] = src[i];
}

inline void add_run(const float* src, float* dst, std::size_t n) noexcept {
    const std::size_t body = n - n % lanes;
    for (std::size_t i = 0; i < body; i += lanes)
        (vec::load_unaligned(dst + i) + vec::load_unaligned(src + i)).store_unaligned(dst + i);
    for (std::size_t i = body; i < n; ++i) dst[i] += src[i];
}

inline void zero_run(float* dst, std::size_t n) noexcept {
    const std::size_t body = n - n % lanes;
    for (std::size_t i = 0; i < body; i += lanes) vec(0.0f).store_unaligned(dst + i);
    for (std::size_t i = body; i < n; ++i) dst[i] = 0.0f;
}

// Calls run(patch_offset, image_offset, length) for every in-image run of patch row `patch`, and
// pad(patch_offset, length) for every run that falls in the padding.
template <class Run, class Pad>
inline void for_each_run(const ConvGeometry& g, std::size_t patch, Run&& run, Pad&& pad) noexcept {
    const std::size_t oy = patch / g.out_width, ox = patch % g.out_width;
    const std::size_t row_len = g.kernel_width * g.channels;
    const std::ptrdiff_t iy0 = static_cast<std::ptrdiff_t>(oy * g.stride) - static_cast<std::ptrdiff_t>(g.pad_top);
    const std::ptrdiff_t ix0 = static_cast<std::ptrdiff_t>(ox * g.stride) - static_cast<std::ptrdiff_t>(g.pad_left);
    const auto h = static_cast<std::ptrdiff_t>(g.in_height), w = static_cast<std::ptrdiff_t>(g.in_width);
    const bool x_inside = ix0 >= 0 && ix0 + static_cast<std::ptrdiff_t>(g.kernel_width) <= w;
    for (std::size_t ky = 0; ky < g.kernel_height; ++ky) {
        const std::ptrdiff_t iy = iy0 + static_cast<std::ptrdiff_t>(ky);
        const std::size_t at = ky * row_len;
        if (iy < 0 || iy >= h) {
            pad(at, row_len);
        } else if (x_inside) {
            run(at, (static_cast<std::size_t>(iy) * g.in_width + static_cast<std::size_t>(ix0)) * g.channels, row_len);
        } else {
            for (std::size_t kx = 0; kx < g.kernel_width; ++kx) {
                const std::ptrdiff_t ix = ix0 + static_cast<std::ptrdiff_t>(kx);
                if (ix < 0 || ix >= w)
                    pad(at + kx * g.channels, g.channels);
                else
                    run(at + kx * g.channels,
                        (static_cast<std::size_t>(iy) * g.in_width + static_cast<std::size_t>(ix)) * g.channels,
                        g.channels);
            }
        }
    }
}

}  // namespace detail

// Patch rows [first, first + count) of one image into rows of `patches` spaced ld >= patch_size apart.
inline void im2col_rows(const ConvGeometry& g, const float* image, std::size_t first, std::size_t count,
                        float* patches, std::size_t ld) noexcept {
    for (std::size_t r = 0; r < count; ++r) {
        float* row = patches + r * ld;
        detail::for_each_run(
            g, first + r, [&](std::size_t at, std::size_t src, std::size_t n) { detail::copy_run(image + src, row + at, n); },
            [&](std::size_t at, std::size_t n) { detail::zero_run(row + at, n); });
    }
}

// Adds patch rows [first, first + count) back into the image (the adjoint of im2col_rows; accumulates).
inline void col2im_rows(const ConvGeometry& g, const float* patches, std::size_t first, std::size_t count,
                        std::size_t ld, float* image) noexcept {
    for (std::size_t r = 0; r < count; ++r) {
        const float* row = patches + r * ld;
        detail::for_each_run(
            g, first + r, [&](std::size_t at, std::size_t dst, std::size_t n) { detail::add_run(row + at, image + dst, n); },
            [](std::size_t, std::size_t) {});
    }
}

// patches[patch_count x patch_size] from one image; padding reads as zero.
inline void im2col(const ConvGeometry& g, const float* image, float* patches) noexcept {
    im2col_rows(g, image, 0, g.patch_count(), patches, g.patch_size());
}

// The adjoint of im2col: image = sum of every patch entry back at its pixel (overwrites image).
inline void col2im(const ConvGeometry& g, const float* patches, float* image) noexcept {
    detail::zero_run(image, g.image_size());
    col2im_rows(g, patches, 0, g.patch_count(), g.patch_size(), image);
}

}  // namespace ctnn::kernels

#include "ctnn/kernels/detail/warnings_pop.hpp"
