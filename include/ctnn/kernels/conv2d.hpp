#pragma once
// Batched 2-D convolution, NHWC activations, HWIO weights ([KH*KW*Cin, Cout] row-major), forward and backward.
//
// Each image is cut into tiles of output pixels whose im2col rows (tile x patch_size) stay in L1/L2; each tile
// is multiplied by the weights, packed once per call into the GEMM's panel layout. One GEMM over the whole
// batch's im2col matrix would stream a matrix far larger than L2 (and first touch it), which is what makes
// batch GEMM slow here. Threads take fixed contiguous ranges of images; weight and bias gradients are
// accumulated per range in the workspace and added in range order, so results depend on the thread count only.

#include <algorithm>
#include <cstddef>

#include "ctnn/core/parallel.hpp"
#include "ctnn/kernels/elementwise.hpp"
#include "ctnn/kernels/gemm.hpp"
#include "ctnn/kernels/im2col.hpp"

namespace ctnn::kernels {

namespace detail {

inline constexpr std::size_t conv_align = 16;  // floats: keeps every workspace region 64-byte aligned

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
    return std::clamp<std::size_t>(rows / 24 * 24, 24, 1032);
}

struct ConvLayout {
    std::size_t tile_rows;
    std::size_t packed_w;    // W packed as the B operand of the forward GEMM
    std::size_t packed_wt;   // W^T packed as the B operand of the input-gradient GEMM
    std::size_t patches;     // per part: tile_rows x patch_size im2col tile
    std::size_t dpatches;    // per part: tile_rows x patch_size patch gradients
    std::size_t packed_dy;   // per part: tile of dY packed as the B operand of the weight-gradient GEMM
    std::size_t dw, db;      // per part: partial weight and bias gradients
    std::size_t per_part() const noexcept { return patches + dpatches + packed_dy + dw + db; }
    std::size_t shared() const noexcept { return packed_w + packed_wt; }
};

inline ConvLayout conv_layout(const ConvGeometry& g, std::size_t out_channels) noexcept {
    ConvLayout l{};
    const std::size_t p = g.patch_size(), t = conv_tile_rows(g);
    l.tile_rows = t;
    l.packed_w = conv_round(p * round_up(out_channels, tile_nr(out_channels)));
    l.packed_wt = conv_round(out_channels * round_up(p, tile_nr(p)));
    l.patches = conv_round(t * p);
    l.dpatches = conv_round(t * p);
    l.packed_dy = conv_round(t * round_up(out_channels, tile_nr(out_channels)));
    l.dw = conv_round(p * out_channels);
    l.db = conv_round(out_channels);
    return l;
}

inline std::size_t conv_parts(std::size_t batch, std::size_t max_threads) noexcept {
    std::size_t parts = static_cast<std::size_t>(num_threads());
    if (max_threads != 0) parts = std::min(parts, max_threads);
    return std::max<std::size_t>(std::min(parts, batch), 1);
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
inline void conv2d_forward(const ConvGeometry& g, std::size_t out_channels, const float* x, const float* w,
                           const float* bias, float* y, std::size_t batch, float* workspace,
                           std::size_t max_threads = 0) noexcept {
    using namespace detail;
    const ConvLayout l = conv_layout(g, out_channels);
    const std::size_t p = g.patch_size(), npix = g.patch_count(), cout = out_channels;
    if (batch == 0 || cout == 0 || npix == 0) return;
    float* packed_w = workspace;
    with_tile(cout, [&]<std::size_t MR, std::size_t NV>() { pack_b<NV * lanes>(Trans::no, w, cout, p, 0, cout, packed_w); });
    const std::size_t parts = conv_parts(batch, max_threads);
    parallel_parts(parts, [&](std::size_t part, std::size_t nparts) {
        const Range images = split_range(batch, part, nparts);
        float* tile = workspace + l.shared() + part * l.per_part();
        for (std::size_t b = images.begin; b < images.end; ++b) {
            const float* image = x + b * g.image_size();
            float* out = y + b * npix * cout;
            for (std::size_t t0 = 0; t0 < npix; t0 += l.tile_rows) {
                const std::size_t rows = std::min(l.tile_rows, npix - t0);
                im2col_rows(g, image, t0, rows, tile, p);
                with_tile(cout, [&]<std::size_t MR, std::size_t NV>() {
                    gemm_prepacked<MR, NV>(AMatrix{tile, p, Trans::no}, rows, cout, p, packed_w, out + t0 * cout, cout,
                                           false);
                });
                add_bias(out + t0 * cout, bias, rows, cout);
            }
        }
    });
}

// dw += sum over the batch of patches^T dy; db += sum of dy over pixels and images; dx (when not null) is
// overwritten with the input gradient col2im(dy w^T). The first layer of a network passes dx = nullptr.
inline void conv2d_backward(const ConvGeometry& g, std::size_t out_channels, const float* x, const float* w,
                            const float* dy, float* dw, float* db, float* dx, std::size_t batch,
                            float* workspace, std::size_t max_threads = 0) noexcept {
    using namespace detail;
    const ConvLayout l = conv_layout(g, out_channels);
    const std::size_t p = g.patch_size(), npix = g.patch_count(), cout = out_channels;
    if (batch == 0 || cout == 0) return;
    float* packed_wt = workspace + l.packed_w;
    if (dx)
        with_tile(p, [&]<std::size_t MR, std::size_t NV>() { pack_b<NV * lanes>(Trans::yes, w, cout, cout, 0, p, packed_wt); });
    const std::size_t parts = conv_parts(batch, max_threads);
    std::size_t used_parts = 1;  // parallel_parts runs serially inside an enclosing parallel region
    parallel_parts(parts, [&](std::size_t part, std::size_t nparts) {
        if (part == 0) used_parts = nparts;
        const Range images = split_range(batch, part, nparts);
        float* base = workspace + l.shared() + part * l.per_part();
        float* tile = base;
        float* dtile = tile + l.patches;
        float* packed_dy = dtile + l.dpatches;
        // One part accumulates straight into dw/db; several keep partial sums reduced below in part order.
        float* gw = nparts == 1 ? dw : packed_dy + l.packed_dy;
        float* gb = nparts == 1 ? db : gw + l.dw;
        if (nparts > 1) {
            zero_run(gw, p * cout);
            zero_run(gb, cout);
        }
        for (std::size_t b = images.begin; b < images.end; ++b) {
            const float* image = x + b * g.image_size();
            const float* grad = dy + b * npix * cout;
            float* dimage = dx ? dx + b * g.image_size() : nullptr;
            if (dimage) zero_run(dimage, g.image_size());
            for (std::size_t t0 = 0; t0 < npix; t0 += l.tile_rows) {
                const std::size_t rows = std::min(l.tile_rows, npix - t0);
                const float* gtile = grad + t0 * cout;
                im2col_rows(g, image, t0, rows, tile, p);
                with_tile(cout, [&]<std::size_t MR, std::size_t NV>() {
                    pack_b<NV * lanes>(Trans::no, gtile, cout, rows, 0, cout, packed_dy);
                    gemm_prepacked<MR, NV>(AMatrix{tile, p, Trans::yes}, p, cout, rows, packed_dy, gw, cout, true);
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
            const float* gw = workspace + l.shared() + part * l.per_part() + l.patches + l.dpatches + l.packed_dy;
            add_run(gw, dw, p * cout);
            add_run(gw + l.dw, db, cout);
        }
    }
}

}  // namespace ctnn::kernels
