#pragma once
// Batched 2-D convolution, NHWC activations, HWIO weights ([KH*KW*Cin, Cout] row-major), forward and backward.
//
// All paths run the GEMM's register micro-kernel on the weights packed once per call into its panel layout;
// they differ in how the patch matrix (rows: output pixels, columns: ky, kx, cin) reaches it:
// - tap table (patch_size <= 32, e.g. the first MNIST layer, 3x3x1): the micro-kernel reads the image itself
//   through a table of tap offsets. With K = 9 an im2col copy costs more than the product: measured on conv1
//   (28x28x1 -> 32, batch 64) forward 92 GFLOP/s direct vs 30 through im2col, backward 75 vs 23.
// - kernel rows in place (patch fits one k block, kw*Cin >= one vector, e.g. 3x3x32): in NHWC the kw*Cin
//   entries of one kernel row are contiguous in the image, so the micro-kernel runs once per kernel row on
//   them, adding into the same C tile (conv2 forward 111 vs 104 GFLOP/s through im2col tiles).
// - im2col tiles otherwise, and for the weight gradient of larger patches: tiles of output pixels whose im2col
//   rows (~96 KiB) stay in L2 while every column panel passes over them. One GEMM over the whole batch's
//   im2col matrix would stream a matrix far larger than L2, which is what makes batch GEMM slow here.
// Padding: the direct paths copy the image into a zero-bordered buffer first, so no tap ever needs a test.
// Threads take fixed contiguous ranges of images; weight and bias gradients are accumulated per range in the
// workspace and added in range order, so results depend on the thread count only (the forward pass and the
// input gradient not even on that).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

#include "ctnn/core/parallel.hpp"
#include "ctnn/kernels/elementwise.hpp"
#include "ctnn/kernels/gemm.hpp"
#include "ctnn/kernels/im2col.hpp"

#include "ctnn/kernels/detail/warnings_push.hpp"

namespace ctnn::kernels {

namespace detail {

inline constexpr std::size_t conv_align = 16;        // floats: keeps every workspace region 64-byte aligned
// Patch sizes up to this take the direct path (ctnn_bench: conv2d_*_im2col, registered beside the direct path
// for the shapes it serves, shows what the other path would cost).
inline constexpr std::size_t conv_direct_max_patch = 32;
// The most output pixels one tile of the im2col path holds (a multiple of the 24-row register blocks); see
// conv_tile_rows below and ctnn_bench's conv2d benchmarks.
inline constexpr std::size_t conv_max_tile_rows = 1032;

inline std::size_t conv_round(std::size_t floats) noexcept { return round_up(floats, conv_align); }

// The register tile for a GEMM with n columns: one vector wide for narrow n, two otherwise.
template <class F>
inline void with_tile(std::size_t n, F&& f) {
    if (n <= lanes)
        f.template operator()<gemm_mr_narrow, 1>();
    else
        f.template operator()<gemm_mr_wide, 2>();
}

inline std::size_t tile_nr(std::size_t n) noexcept { return n <= lanes ? lanes : 2 * lanes; }

// Output pixels per tile: an im2col tile of ~96 KiB (L2-resident, reused by every column panel), a multiple of
// both register tile heights.
inline std::size_t conv_tile_rows(const ConvGeometry& g) noexcept {
    const std::size_t rows = (96 * 1024 / sizeof(float)) / std::max<std::size_t>(g.patch_size(), 1);
    return std::clamp<std::size_t>(rows / 24 * 24, 24, conv_max_tile_rows);
}

// Forward: small patches read the image through a tap table; larger ones that fit one k block read each kernel
// row's kw*Cin contiguous run in place (one micro-kernel call per kernel row); the rest go through im2col tiles.
// Backward (weight gradient): only the tap table avoids im2col.
inline bool conv_direct(const ConvGeometry& g) noexcept {
    const std::size_t p = g.patch_size();
    return p <= conv_direct_max_patch || (p <= gemm_kc_max && g.kernel_width * g.channels >= lanes);
}
inline bool conv_direct_backward(const ConvGeometry& g) noexcept { return g.patch_size() <= conv_direct_max_patch; }

// The image as the direct path sees it: zero-bordered when the geometry pads.
constexpr bool conv_padded(const ConvGeometry& g) noexcept {
    return g.pad_top != 0 || g.pad_left != 0 || (g.out_height - 1) * g.stride + g.kernel_height > g.in_height ||
           (g.out_width - 1) * g.stride + g.kernel_width > g.in_width;
}
inline std::size_t padded_height(const ConvGeometry& g) noexcept {
    return std::max(g.pad_top + g.in_height, (g.out_height - 1) * g.stride + g.kernel_height);
}
inline std::size_t padded_width(const ConvGeometry& g) noexcept {
    return std::max(g.pad_left + g.in_width, (g.out_width - 1) * g.stride + g.kernel_width);
}

struct ConvLayout {
    std::size_t tile_rows;
    std::size_t packed_w;    // W packed as the B operand of the forward GEMM
    std::size_t packed_wt;   // W^T packed as the B operand of the input-gradient GEMM
    std::size_t bias;        // bias, zero-padded to whole panels
    std::size_t patches;     // per part: tile_rows x patch_size im2col tile
    std::size_t dpatches;    // per part: tile_rows x patch_size patch gradients
    std::size_t packed_dy;   // per part: tile of dY packed as the B operand of the weight-gradient GEMM
    std::size_t padded;      // per part: zero-bordered image copy (direct path with padding)
    std::size_t dw, db;      // per part: partial weight and bias gradients
    std::size_t shared() const noexcept { return packed_w + packed_wt + bias; }
    std::size_t per_part() const noexcept { return patches + dpatches + packed_dy + padded + dw + db; }
};

inline ConvLayout conv_layout(const ConvGeometry& g, std::size_t out_channels) noexcept {
    ConvLayout l{};
    const std::size_t p = g.patch_size(), t = conv_tile_rows(g);
    const std::size_t coutp = round_up(out_channels, tile_nr(out_channels));
    l.tile_rows = t;
    l.packed_w = conv_round(p * coutp);
    l.packed_wt = conv_round(out_channels * round_up(p, tile_nr(p)));
    l.bias = conv_round(coutp);
    l.patches = conv_round(t * p);
    l.dpatches = conv_round(t * p);
    l.packed_dy = conv_round(t * coutp);
    l.padded = conv_padded(g) ? conv_round(padded_height(g) * padded_width(g) * g.channels) : 0;
    l.dw = conv_round(p * out_channels);
    l.db = conv_round(out_channels);
    return l;
}

inline std::size_t conv_parts(std::size_t batch, std::size_t max_threads) noexcept {
    std::size_t parts = static_cast<std::size_t>(num_threads());
    if (max_threads != 0) parts = std::min(parts, max_threads);
    return std::max<std::size_t>(std::min(parts, batch), 1);
}

// op(A)(ii, p) = base[ii][offset[p]]: output pixel ii's patch entry p read straight from the image.
template <std::size_t MR>
struct PixelTapsA {
    const float* base[MR];
    const std::uint32_t* offset;
    float at(std::size_t ii, std::size_t p) const noexcept { return base[ii][offset[p]]; }
};

// op(A)(ii, p) = pixel[p][offset[ii]]: tap ii of output pixel p (the transposed patches of the weight gradient).
template <std::size_t MR>
struct TapPixelsA {
    const float* const* pixel;
    std::uint32_t offset[MR];
    float at(std::size_t ii, std::size_t p) const noexcept { return pixel[p][offset[ii]]; }
};

// What the direct path needs to address an image: its (maybe zero-bordered) copy and the tap offsets.
struct DirectImage {
    const float* data;
    std::size_t row_floats;  // floats per image row
    std::array<std::uint32_t, conv_direct_max_patch> tap{};

    DirectImage(const ConvGeometry& g, const float* image, float* padded_buffer) noexcept {
        if (padded_buffer) {
            const std::size_t hp = padded_height(g), wp = padded_width(g), c = g.channels;
            zero_run(padded_buffer, hp * wp * c);
            for (std::size_t y = 0; y < g.in_height; ++y)
                copy_run(image + y * g.in_width * c, padded_buffer + ((y + g.pad_top) * wp + g.pad_left) * c,
                         g.in_width * c);
            data = padded_buffer;
            row_floats = wp * c;
        } else {
            data = image;
            row_floats = g.in_width * g.channels;
        }
        if (g.patch_size() > conv_direct_max_patch) return;  // the im2col path never reads the taps
        std::size_t t = 0;
        for (std::size_t ky = 0; ky < g.kernel_height; ++ky)
            for (std::size_t kx = 0; kx < g.kernel_width; ++kx)
                for (std::size_t c = 0; c < g.channels; ++c)
                    tap[t++] = static_cast<std::uint32_t>(ky * row_floats + kx * g.channels + c);
    }
    // The first input float of output pixels first .. first + count - 1 (count <= MR) into base[0..count), and
    // of pixel `first` into the rest: one division per tile, not one per pixel.
    template <std::size_t MR>
    void pixels(const ConvGeometry& g, std::size_t first, std::size_t count, const float* (&base)[MR]) const noexcept {
        std::size_t oy = first / g.out_width, ox = first % g.out_width;
        const std::size_t step = g.stride * g.channels, row_step = g.stride * row_floats;
        const float* row = data + oy * row_step;
        for (std::size_t ii = 0; ii < count; ++ii) {
            base[ii] = row + ox * step;
            if (++ox == g.out_width) {
                ox = 0;
                row += row_step;
            }
        }
        for (std::size_t ii = count; ii < MR; ++ii) base[ii] = base[0];
    }
};

// y rows of one image = bias + patches * W, reading patches straight from the image.
template <std::size_t MR, std::size_t NV>
inline void direct_forward_image(const ConvGeometry& g, std::size_t cout, const DirectImage& img,
                                 const float* packed_w, const float* bias, float* y) noexcept {
    constexpr std::size_t nr = NV * lanes;
    const std::size_t p = g.patch_size(), npix = g.patch_count();
    alignas(64) float ctile[MR * nr];
    PixelTapsA<MR> a;
    a.offset = img.tap.data();
    for (std::size_t t0 = 0; t0 < npix; t0 += MR) {
        const std::size_t mm = std::min(MR, npix - t0);
        img.pixels(g, t0, mm, a.base);
        for (std::size_t jr = 0; jr < cout; jr += nr) {
            const std::size_t nn = std::min(nr, cout - jr);
            float* out = y + t0 * cout + jr;
            if (mm == MR && nn == nr) {
                gemm_micro<MR, NV>(p, a, packed_w + jr * p, out, cout, false, bias + jr);
            } else {
                gemm_micro<MR, NV>(p, a, packed_w + jr * p, ctile, nr, false, bias + jr);
                for (std::size_t ii = 0; ii < mm; ++ii) copy_run(ctile + ii * nr, out + ii * cout, nn);
            }
        }
    }
}

// The same for larger patches: kernel row ky of pixel ii is the contiguous run base[ii] + ky * row_floats.
template <std::size_t MR, std::size_t NV>
inline void direct_rows_forward_image(const ConvGeometry& g, std::size_t cout, const DirectImage& img,
                                      const float* packed_w, const float* bias, float* y) noexcept {
    constexpr std::size_t nr = NV * lanes;
    const std::size_t p = g.patch_size(), npix = g.patch_count(), run = g.kernel_width * g.channels;
    alignas(64) float ctile[MR * nr];
    const float* base[MR];
    for (std::size_t t0 = 0; t0 < npix; t0 += MR) {
        const std::size_t mm = std::min(MR, npix - t0);
        img.pixels(g, t0, mm, base);
        for (std::size_t jr = 0; jr < cout; jr += nr) {
            const std::size_t nn = std::min(nr, cout - jr);
            const bool full = mm == MR && nn == nr;
            float* out = y + t0 * cout + jr;
            float* dst = full ? out : ctile;
            const std::size_t ld = full ? cout : nr;
            for (std::size_t ky = 0; ky < g.kernel_height; ++ky) {
                RowsA<MR> a;
                for (std::size_t ii = 0; ii < MR; ++ii) a.row[ii] = base[ii] + ky * img.row_floats;
                gemm_micro<MR, NV>(run, a, packed_w + jr * p + ky * run * nr, dst, ld, ky > 0,
                                   ky == 0 ? bias + jr : nullptr);
            }
            if (!full)
                for (std::size_t ii = 0; ii < mm; ++ii) copy_run(ctile + ii * nr, out + ii * cout, nn);
        }
    }
}

// gw[p x cout] += sum over the tile's pixels of patch(pixel)^T dy(pixel); packed_dy holds dy packed by pack_b.
template <std::size_t MR, std::size_t NV>
inline void direct_weight_grad(std::size_t p, std::size_t cout, const float* const* pixel, const DirectImage& img,
                               std::size_t rows, const float* packed_dy, float* gw) noexcept {
    constexpr std::size_t nr = NV * lanes;
    const std::size_t kcb = gemm_kc(rows), coutp = round_up(cout, nr);
    alignas(64) float ctile[MR * nr];
    for (std::size_t p0 = 0; p0 < rows; p0 += kcb) {
        const std::size_t kc = std::min(kcb, rows - p0);
        for (std::size_t i0 = 0; i0 < p; i0 += MR) {
            const std::size_t mm = std::min(MR, p - i0);
            TapPixelsA<MR> a;
            a.pixel = pixel + p0;
            for (std::size_t ii = 0; ii < MR; ++ii) a.offset[ii] = img.tap[i0 + (ii < mm ? ii : 0)];
            for (std::size_t jr = 0; jr < cout; jr += nr) {
                const std::size_t nn = std::min(nr, cout - jr);
                const float* panel = packed_dy + p0 * coutp + jr * kc;
                float* out = gw + i0 * cout + jr;
                if (mm == MR && nn == nr) {
                    gemm_micro<MR, NV>(kc, a, panel, out, cout, true);
                } else {
                    gemm_micro<MR, NV>(kc, a, panel, ctile, nr, false);
                    for (std::size_t ii = 0; ii < mm; ++ii) add_run(ctile + ii * nr, out + ii * cout, nn);
                }
            }
        }
    }
}

// Tile heights for the weight gradient's taps: the fewest rows that cover a small patch in one pass.
template <std::size_t NV, class F>
inline void with_tap_tile(std::size_t p, F&& f) {
    if (p <= 4)
        f.template operator()<4, NV>();
    else if (p <= 8 || lanes != 16)
        f.template operator()<gemm_mr_narrow, NV>();
    else if (p == 9)
        f.template operator()<9, NV>();  // 3x3 single-channel kernels, the usual first layer
    else
        f.template operator()<12, NV>();  // 24 accumulators: fits AVX-512's 32 registers
}

// No epilogue: the output as the products leave it.
struct NoConvEpilogue {
    void operator()(float* /*y*/, std::size_t /*count*/) const noexcept {}
};

template <class Epilogue = NoConvEpilogue>
inline void conv_forward_impl(const ConvGeometry& g, std::size_t cout, const float* x, const float* w,
                              const float* bias, float* y, std::size_t batch, float* workspace,
                              std::size_t max_threads, bool direct, const Epilogue& epilogue = {}) noexcept {
    const ConvLayout l = conv_layout(g, cout);
    const std::size_t p = g.patch_size(), npix = g.patch_count();
    if (batch == 0 || cout == 0 || npix == 0) return;
    direct = direct && (p <= conv_direct_max_patch || p <= gemm_kc_max);  // the packed weights are one k block
    float* packed_w = workspace;
    float* padded_bias = workspace + l.packed_w + l.packed_wt;
    with_tile(cout, [&]<std::size_t MR, std::size_t NV>() { pack_b<NV * lanes>(Trans::no, w, cout, p, 0, cout, packed_w); });
    copy_run(bias, padded_bias, cout);
    zero_run(padded_bias + cout, round_up(cout, tile_nr(cout)) - cout);
    const std::size_t parts = conv_parts(batch, max_threads);
    parallel_parts(parts, [&](std::size_t part, std::size_t nparts) {
        const Range images = split_range(batch, part, nparts);
        float* tile = workspace + l.shared() + part * l.per_part();
        float* padded = l.padded ? tile + l.patches + l.dpatches + l.packed_dy : nullptr;
        for (std::size_t b = images.begin; b < images.end; ++b) {
            const float* image = x + b * g.image_size();
            float* out = y + b * npix * cout;
            if (direct) {
                const DirectImage img(g, image, padded);
                with_tile(cout, [&]<std::size_t MR, std::size_t NV>() {
                    if (p <= conv_direct_max_patch)
                        direct_forward_image<MR, NV>(g, cout, img, packed_w, padded_bias, out);
                    else
                        direct_rows_forward_image<MR, NV>(g, cout, img, packed_w, padded_bias, out);
                });
                epilogue(out, npix * cout);
                continue;
            }
            for (std::size_t t0 = 0; t0 < npix; t0 += l.tile_rows) {
                const std::size_t rows = std::min(l.tile_rows, npix - t0);
                im2col_rows(g, image, t0, rows, tile, p);
                with_tile(cout, [&]<std::size_t MR, std::size_t NV>() {
                    gemm_prepacked<MR, NV>(AMatrix{tile, p, Trans::no}, rows, cout, p, packed_w, out + t0 * cout, cout,
                                           false, padded_bias);
                });
                epilogue(out + t0 * cout, rows * cout);
            }
        }
    });
}

inline void conv_backward_impl(const ConvGeometry& g, std::size_t cout, const float* x, const float* w,
                               const float* dy, float* dw, float* db, float* dx, std::size_t batch, float* workspace,
                               std::size_t max_threads, bool direct) noexcept {
    const ConvLayout l = conv_layout(g, cout);
    const std::size_t p = g.patch_size(), npix = g.patch_count();
    if (batch == 0 || cout == 0) return;
    direct = direct && p <= conv_direct_max_patch;
    float* packed_wt = workspace + l.packed_w;
    if (dx)
        with_tile(p, [&]<std::size_t MR, std::size_t NV>() { pack_b<NV * lanes>(Trans::yes, w, cout, cout, 0, p, packed_wt); });
    const std::size_t parts = conv_parts(batch, max_threads);
    std::size_t used_parts = 1;  // parallel_parts runs serially inside an enclosing parallel region
    parallel_parts(parts, [&](std::size_t part, std::size_t nparts) {
        if (part == 0) used_parts = nparts;
        const Range images = split_range(batch, part, nparts);
        float* tile = workspace + l.shared() + part * l.per_part();
        float* dtile = tile + l.patches;
        float* packed_dy = dtile + l.dpatches;
        float* padded = l.padded ? packed_dy + l.packed_dy : nullptr;
        // One part accumulates straight into dw/db; several keep partial sums reduced below in part order.
        float* gw = nparts == 1 ? dw : packed_dy + l.packed_dy + l.padded;
        float* gb = nparts == 1 ? db : gw + l.dw;
        if (nparts > 1) {
            zero_run(gw, p * cout);
            zero_run(gb, cout);
        }
        std::array<const float*, conv_max_tile_rows> pixel{};
        for (std::size_t b = images.begin; b < images.end; ++b) {
            const float* image = x + b * g.image_size();
            const float* grad = dy + b * npix * cout;
            float* dimage = dx ? dx + b * g.image_size() : nullptr;
            if (dimage) zero_run(dimage, g.image_size());
            const DirectImage img = direct ? DirectImage(g, image, padded) : DirectImage(g, image, nullptr);
            for (std::size_t t0 = 0; t0 < npix; t0 += l.tile_rows) {
                const std::size_t rows = std::min(l.tile_rows, npix - t0);
                const float* gtile = grad + t0 * cout;
                with_tile(cout, [&]<std::size_t MR, std::size_t NV>() {
                    // dY rows of exactly one aligned panel are already in the packed layout (conv1: 32 channels).
                    const bool packed = cout == NV * lanes && reinterpret_cast<std::uintptr_t>(gtile) % 64 == 0;
                    const float* bpanel = packed ? gtile : packed_dy;
                    if (!packed) pack_b<NV * lanes>(Trans::no, gtile, cout, rows, 0, cout, packed_dy);
                    if (direct) {
                        for (std::size_t r = 0, oy = t0 / g.out_width, ox = t0 % g.out_width; r < rows; ++r) {
                            pixel[r] = img.data + oy * g.stride * img.row_floats + ox * g.stride * g.channels;
                            if (++ox == g.out_width) ox = 0, ++oy;
                        }
                        with_tap_tile<NV>(p, [&]<std::size_t TR, std::size_t TV>() {
                            direct_weight_grad<TR, TV>(p, cout, pixel.data(), img, rows, bpanel, gw);
                        });
                    } else {
                        im2col_rows(g, image, t0, rows, tile, p);
                        gemm_prepacked<MR, NV>(AMatrix{tile, p, Trans::yes}, p, cout, rows, bpanel, gw, cout, true);
                    }
                });
                sum_rows(gtile, rows, cout, gb, true);
                if (dimage) {
                    with_tile(p, [&]<std::size_t MR, std::size_t NV>() {
                        gemm_prepacked<MR, NV>(AMatrix{gtile, cout, Trans::no}, rows, p, cout, packed_wt, dtile, p,
                                               false);
                    });
                    col2im_rows(g, dtile, t0, rows, p, dimage);
                }
            }
        }
    });
    if (used_parts > 1) {
        for (std::size_t part = 0; part < used_parts; ++part) {
            const float* gw =
                workspace + l.shared() + part * l.per_part() + l.patches + l.dpatches + l.packed_dy + l.padded;
            add_run(gw, dw, p * cout);
            add_run(gw + l.dw, db, cout);
        }
    }
}

}  // namespace detail

// Floats of workspace conv2d_forward / conv2d_backward need for up to `threads` threads (size it with
// ctnn::num_threads()). The batch size does not change it: work is tiled per image.
inline std::size_t conv2d_workspace_size(const ConvGeometry& g, std::size_t out_channels, std::size_t batch,
                                         std::size_t threads) {
    (void)batch;
    const detail::ConvLayout l = detail::conv_layout(g, out_channels);
    return l.shared() + std::max<std::size_t>(threads, 1) * l.per_part();
}

// y[b, oy, ox, :] = bias + sum over the patch of x * w. x is NHWC [batch, H, W, Cin], w is [patch_size x Cout],
// y is NHWC [batch, OH, OW, Cout]. workspace: conv2d_workspace_size floats, 64-byte aligned.
// Threads: ctnn::num_threads() at call time, capped by max_threads (the count the workspace was sized for;
// 0 means num_threads(), which is right when the workspace was sized with it and the setting did not grow).
// epilogue(y, count), when given, runs on each image's output (or each tile of it, in the im2col path) right
// after it is computed, while it is in the core's L2: an activation that follows the convolution.
template <class Epilogue = detail::NoConvEpilogue>
inline void conv2d_forward(const ConvGeometry& g, std::size_t out_channels, const float* x, const float* w,
                           const float* bias, float* y, std::size_t batch, float* workspace,
                           std::size_t max_threads = 0, const Epilogue& epilogue = {}) noexcept {
    detail::conv_forward_impl(g, out_channels, x, w, bias, y, batch, workspace, max_threads, detail::conv_direct(g),
                              epilogue);
}

// dw += sum over the batch of patches^T dy; db += sum of dy over pixels and images; dx (when not null) is
// overwritten with the input gradient col2im(dy w^T). The first layer of a network passes dx = nullptr.
inline void conv2d_backward(const ConvGeometry& g, std::size_t out_channels, const float* x, const float* w,
                            const float* dy, float* dw, float* db, float* dx, std::size_t batch, float* workspace,
                            std::size_t max_threads = 0) noexcept {
    detail::conv_backward_impl(g, out_channels, x, w, dy, dw, db, dx, batch, workspace, max_threads,
                               detail::conv_direct_backward(g));
}

}  // namespace ctnn::kernels

#include "ctnn/kernels/detail/warnings_pop.hpp"
