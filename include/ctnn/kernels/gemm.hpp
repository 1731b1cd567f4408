#pragma once
// General matrix product, row-major: C[m x n] (+)= op(A)[m x k] * op(B)[k x n].
// The one hot kernel behind Dense and Conv2D, forward and backward.
//
// Structure (Goto/BLIS): B is packed into zero-padded panels of NR columns (NR = 1 or 2 SIMD vectors), k is
// cut into balanced blocks of at most gemm_kc_max, and an MR x NR register tile walks over C. op(A) is read in
// place: a row of A (no transpose) or MR consecutive entries of a column (transpose) are contiguous already,
// so packing A would only add a pass over memory; only the ragged last row tile of a transposed A is copied.
// Each element of C is summed in the same order whatever the tile, block or thread split: p ascending inside a
// k block, k blocks in order. Threads split C into whole tiles, so results do not depend on the thread count.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "ctnn/core/buffer.hpp"
#include "ctnn/core/parallel.hpp"
#include "ctnn/kernels/detail/simd.hpp"

#include "ctnn/kernels/detail/warnings_push.hpp"

namespace ctnn::kernels {

enum class Trans : bool { no = false, yes = true };

namespace detail {

// Register tiles. With 32 vector registers (AVX-512) 8 x 2 vectors keeps 16 accumulators, 2 B vectors and a
// broadcast live; with 16 registers (SSE2, AVX2) 6 x 2 vectors keeps 12. A narrow 8 x 1 tile serves n <= lanes.
inline constexpr std::size_t gemm_mr_wide = lanes == 16 ? 8 : 6;
inline constexpr std::size_t gemm_mr_narrow = 8;
// Blocking. kc is a constant, not read from the cache sizes, because it fixes each sum's order and results must
// not depend on the CPU; a kc x NR panel of B (48 KB with AVX-512, 24 KB with AVX2) streams from L2 while the
// tile's entries of A stay in L1, and kc_max 192, 256 and 384 measured the same on the Xeon of docs/performance.md.
// mc x kc floats of A (216 KiB) and kc x nc of packed B (768 KiB) are revisited from L2: within the 1-2 MB L2 of
// current x86-64 server cores (Skylake-SP and later, Zen 4 and 5). Neither changes a result.
inline constexpr std::size_t gemm_kc_max = 384;
inline constexpr std::size_t gemm_mc = 144;  // rows of A revisited per panel of B
inline constexpr std::size_t gemm_nc = 512;  // columns of B packed at once

// Balanced k blocking that depends on k only (summation order must not depend on anything else).
inline std::size_t gemm_kc(std::size_t k) noexcept {
    const std::size_t blocks = (k + gemm_kc_max - 1) / gemm_kc_max;
    return blocks == 0 ? 0 : (k + blocks - 1) / blocks;
}

inline std::size_t round_up(std::size_t x, std::size_t to) noexcept { return (x + to - 1) / to * to; }

// Grow-only per-thread scratch: allocated once per thread, reused by every later call.
inline float* gemm_scratch(std::size_t floats) {
    thread_local Buffer buffer;
    ensure_size(buffer, floats);
    return buffer.data();
}

// How the micro-kernel reads op(A)(ii, p) for the rows of one tile.
template <std::size_t MR>
struct RowsA {  // op(A) rows contiguous in p (A not transposed): one pointer per row
    const float* row[MR];
    float at(std::size_t ii, std::size_t p) const noexcept { return row[ii][p]; }
};
struct ColsA {  // MR consecutive rows contiguous at fixed p (A transposed, or a packed copy)
    const float* a;
    std::size_t stride;
    float at(std::size_t ii, std::size_t p) const noexcept { return a[p * stride + ii]; }
};

// C[MR x NV*lanes] (+)= sum over p < kc of op(A)(:, p) * Bpanel(p, :). Row p of the B panel starts at
// bp + p * bstride: a packed panel (bstride = NV*lanes) or B read in place (bstride = its leading dimension).
// init (optional, aligned, NV*lanes floats) starts every row's sum, e.g. at a bias.
// Kept out of line: inlined into the blocking loops, g++ 12 spills the row pointers inside the k loop.
template <std::size_t MR, std::size_t NV, class AOp>
[[gnu::noinline]] inline void gemm_micro(std::size_t kc, const AOp& a, const float* bp, float* c, std::size_t ldc, bool load_c,
                       const float* init = nullptr, std::size_t bstride = NV * lanes) noexcept {
    vec acc[MR][NV];
    vec start[NV];
#pragma GCC unroll 4
    for (std::size_t v = 0; v < NV; ++v) start[v] = init ? vec::load_aligned(init + v * lanes) : vec(0.0f);
#pragma GCC unroll 16
    for (std::size_t ii = 0; ii < MR; ++ii)
#pragma GCC unroll 4
        for (std::size_t v = 0; v < NV; ++v) acc[ii][v] = start[v];
    for (std::size_t p = 0; p < kc; ++p) {
        vec bv[NV];
#pragma GCC unroll 4
        for (std::size_t v = 0; v < NV; ++v) bv[v] = vec::load_unaligned(bp + p * bstride + v * lanes);
#pragma GCC unroll 16
        for (std::size_t ii = 0; ii < MR; ++ii) {
            const vec av(a.at(ii, p));
#pragma GCC unroll 4
            for (std::size_t v = 0; v < NV; ++v) acc[ii][v] = fmadd(av, bv[v], acc[ii][v]);
        }
    }
#pragma GCC unroll 16
    for (std::size_t ii = 0; ii < MR; ++ii)
#pragma GCC unroll 4
        for (std::size_t v = 0; v < NV; ++v) {
            float* cp = c + ii * ldc + v * lanes;
            vec r = acc[ii][v];
            if (load_c) r = vec::load_unaligned(cp) + r;
            r.store_unaligned(cp);
        }
}

// C[0:mm, 0:nn] (+)= the top-left of a computed NR-wide tile (ragged edges of C).
template <std::size_t NR>
inline void merge_tile(const float* tile, std::size_t mm, std::size_t nn, float* c, std::size_t ldc,
                       bool load_c) noexcept {
    for (std::size_t ii = 0; ii < mm; ++ii) {
        float* row = c + ii * ldc;
        for (std::size_t v = 0; v < nn; v += lanes) {
            const std::size_t w = std::min(lanes, nn - v);
            vec x = vec::load_aligned(tile + ii * NR + v);
            if (w == lanes) {
                if (load_c) x = vec::load_unaligned(row + v) + x;
                x.store_unaligned(row + v);
            } else {
                if (load_c) x = load_partial(row + v, w) + x;
                store_partial(x, row + v, w);
            }
        }
    }
}

// op(A) as the driver sees it: element (i, p) is a[i*lda + p] (no) or a[p*lda + i] (yes).
struct AMatrix {
    const float* a;
    std::size_t lda;
    Trans trans;
};

// Packs op(B)[0:k, j0:j0+nc] into panels: for each k block (p0, kc), at dst + p0 * round_up(nc, NR), panel jr
// (kc x NR, zero-padded past nc) at offset jr * kc. packed_b_size gives the floats needed.
template <std::size_t NR>
inline std::size_t packed_b_size(std::size_t k, std::size_t nc) noexcept {
    return k * round_up(nc, NR);
}

#if defined(__AVX512F__)
// In-place transpose of a 16 x 16 block held as 16 rows: unpack pairs, then pairs of pairs, then 128-bit blocks.
inline void transpose16(__m512 (&r)[16]) noexcept {
    __m512 t[16];
    for (std::size_t i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (std::size_t i = 0; i < 4; ++i) {
        const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    // Now r[4i+q] holds rows 4i..4i+3 of columns 4L+q in its 128-bit block L.
    __m512 out[16];
    for (std::size_t q = 0; q < 4; ++q) {
        const __m512 a = _mm512_shuffle_f32x4(r[q], r[4 + q], 0x88), b = _mm512_shuffle_f32x4(r[q], r[4 + q], 0xDD);
        const __m512 c = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0x88);
        const __m512 d = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0xDD);
        out[q] = _mm512_shuffle_f32x4(a, c, 0x88);
        out[8 + q] = _mm512_shuffle_f32x4(a, c, 0xDD);
        out[4 + q] = _mm512_shuffle_f32x4(b, d, 0x88);
        out[12 + q] = _mm512_shuffle_f32x4(b, d, 0xDD);
    }
    for (std::size_t q = 0; q < 16; ++q) r[q] = out[q];
}
#endif

template <std::size_t NR>
inline void pack_b(Trans trans_b, const float* b, std::size_t ldb, std::size_t k, std::size_t j0, std::size_t nc,
                   float* dst) noexcept {
    const std::size_t kcb = gemm_kc(k);
    const std::size_t ncp = round_up(nc, NR);
    for (std::size_t p0 = 0; p0 < k; p0 += kcb) {
        const std::size_t kc = std::min(kcb, k - p0);
        for (std::size_t jr = 0; jr < nc; jr += NR) {
            const std::size_t nn = std::min(NR, nc - jr);
            float* panel = dst + p0 * ncp + jr * kc;
            if (trans_b == Trans::no) {
                for (std::size_t p = 0; p < kc; ++p) {
                    const float* src = b + (p0 + p) * ldb + j0 + jr;
                    float* out = panel + p * NR;
                    for (std::size_t v = 0; v < NR; v += lanes) {
                        const vec x = v + lanes <= nn ? vec::load_unaligned(src + v)
                                      : v < nn     ? load_partial(src + v, nn - v)
                                                   : vec(0.0f);
                        x.store_aligned(out + v);
                    }
                }
            } else {
                // op(B)(p, j) = b[j*ldb + p]: a transpose. For A B^T with few rows of A (Dense's input gradient)
                // this pass costs as much as the product, so AVX-512 does it 16 x 16 in registers
                // (gemm_nt/32/128/784: 73 -> 96 GFLOP/s; AVX-512 gathers were slower than scalar copies).
                std::size_t j = 0;
#if defined(__AVX512F__)
                if constexpr (lanes == 16) {
                    for (; j + 16 <= nn; j += 16) {
                        const float* src = b + (j0 + jr + j) * ldb + p0;
                        std::size_t p = 0;
                        for (; p + 16 <= kc; p += 16) {
                            __m512 r[16];
                            for (std::size_t q = 0; q < 16; ++q) r[q] = _mm512_loadu_ps(src + q * ldb + p);
                            transpose16(r);
                            for (std::size_t q = 0; q < 16; ++q) _mm512_store_ps(panel + (p + q) * NR + j, r[q]);
                        }
                        for (; p < kc; ++p)
                            for (std::size_t q = 0; q < 16; ++q) panel[p * NR + j + q] = src[q * ldb + p];
                    }
                }
#endif
                for (; j < nn; ++j) {
                    const float* src = b + (j0 + jr + j) * ldb + p0;
                    for (std::size_t p = 0; p < kc; ++p) panel[p * NR + j] = src[p];
                }
                for (; j < NR; ++j)
                    for (std::size_t p = 0; p < kc; ++p) panel[p * NR + j] = 0.0f;
            }
        }
    }
}

// Where the NR-wide panels of op(B) are: packed by pack_b (panel jr of the k block at p0 at
// packed + p0 * round_up(nc, NR) + jr * kc, rows NR apart), or B itself read in place (not transposed, nc a
// multiple of NR: the panel starts at b + p0 * ldb + jr, rows ldb apart).
struct BPanels {
    const float* base;
    std::size_t ld;  // 0: packed
    const float* panel(std::size_t p0, std::size_t jr, std::size_t kc, std::size_t ncp) const noexcept {
        return ld == 0 ? base + p0 * ncp + jr * kc : base + p0 * ld + jr;
    }
    // Floats from one row of a panel to the next, for panels NR wide.
    std::size_t row_stride(std::size_t nr) const noexcept { return ld == 0 ? nr : ld; }
};

// No epilogue: C as the products leave it.
struct NoEpilogue {
    void operator()(float* /*c*/, std::size_t /*ldc*/, std::size_t /*rows*/, std::size_t /*col*/,
                    std::size_t /*cols*/) const noexcept {}
};

// C[m x nc] (+)= op(A)[m x k] * op(B)[k x nc], the panels of B as `b` says (packed by pack_b<NV*lanes> or
// in place). init (optional): a row of round_up(nc, NR) aligned floats that C starts from instead of zero
// (not with accumulate), e.g. a zero-padded bias. epilogue(c, ldc, rows, col, cols) runs on every tile of C
// (rows x cols at c, column col + col0 of the caller's C) once its last k block is summed, while it is in L1.
template <std::size_t MR, std::size_t NV, class Epilogue = NoEpilogue>
inline void gemm_panels(const AMatrix& A, std::size_t m, std::size_t nc, std::size_t k, BPanels b, float* c,
                        std::size_t ldc, bool accumulate, const float* init = nullptr, const Epilogue& epilogue = {},
                        std::size_t col0 = 0) noexcept {
    constexpr std::size_t nr = NV * lanes;
    const std::size_t kcb = gemm_kc(k);
    const std::size_t ncp = round_up(nc, nr);
    const std::size_t bstride = b.row_stride(nr);
    alignas(64) float ctile[MR * nr];
    alignas(64) float aedge[MR * gemm_kc_max];
    for (std::size_t p0 = 0; p0 < k; p0 += kcb) {
        const std::size_t kc = std::min(kcb, k - p0);
        const bool load_c = accumulate || p0 > 0;
        const bool last_block = p0 + kc == k;
        const float* start = load_c ? nullptr : init;
        for (std::size_t i0 = 0; i0 < m; i0 += gemm_mc) {
            const std::size_t mc = std::min(gemm_mc, m - i0);
            // The ragged last row tile of a transposed A is copied zero-padded, so reads stay inside A.
            const std::size_t medge = mc % MR;
            if (A.trans == Trans::yes && medge != 0) {
                const std::size_t ie = i0 + mc - medge;
                for (std::size_t p = 0; p < kc; ++p) {
                    const float* src = A.a + (p0 + p) * A.lda + ie;
                    for (std::size_t ii = 0; ii < MR; ++ii) aedge[p * MR + ii] = ii < medge ? src[ii] : 0.0f;
                }
            }
            for (std::size_t jr = 0; jr < nc; jr += nr) {
                const std::size_t nn = std::min(nr, nc - jr);
                const float* panel = b.panel(p0, jr, kc, ncp);
                for (std::size_t ir = 0; ir < mc; ir += MR) {
                    const std::size_t mm = std::min(MR, mc - ir);
                    const std::size_t i = i0 + ir;
                    float* ct = c + i * ldc + jr;
                    const bool full = mm == MR && nn == nr;
                    float* dst = full ? ct : ctile;
                    const std::size_t ldd = full ? ldc : nr;
                    const bool ld = full && load_c;
                    if (A.trans == Trans::no) {
                        RowsA<MR> ra;
                        for (std::size_t ii = 0; ii < MR; ++ii)
                            ra.row[ii] = A.a + (i + (ii < mm ? ii : 0)) * A.lda + p0;
                        gemm_micro<MR, NV>(kc, ra, panel, dst, ldd, ld, start ? start + jr : nullptr, bstride);
                    } else if (mm == MR) {
                        gemm_micro<MR, NV>(kc, ColsA{A.a + p0 * A.lda + i, A.lda}, panel, dst, ldd, ld,
                                           start ? start + jr : nullptr, bstride);
                    } else {
                        gemm_micro<MR, NV>(kc, ColsA{aedge, MR}, panel, dst, ldd, ld, start ? start + jr : nullptr,
                                           bstride);
                    }
                    if (!full) merge_tile<nr>(ctile, mm, nn, ct, ldc, load_c);
                    if constexpr (!std::is_same_v<Epilogue, NoEpilogue>)
                        if (last_block) epilogue(ct, ldc, mm, col0 + jr, nn);
                }
            }
        }
    }
}

template <std::size_t MR, std::size_t NV, class Epilogue = NoEpilogue>
inline void gemm_prepacked(const AMatrix& A, std::size_t m, std::size_t nc, std::size_t k, const float* pb,
                           float* c, std::size_t ldc, bool accumulate, const float* init = nullptr,
                           const Epilogue& epilogue = {}, std::size_t col0 = 0) noexcept {
    gemm_panels<MR, NV>(A, m, nc, k, BPanels{pb, 0}, c, ldc, accumulate, init, epilogue, col0);
}

// Up to this many rows of A, a B that need not be transposed is read in place: a packed panel would serve
// only m / MR register tiles, so packing it (a pass over all of B) cost more than its contiguous rows save.
// One Zen 5 core, n = 128, k = 5408 (Dense<5408,128>'s forward), packed -> in place, GFLOP/s: m = 8: 94 -> 164,
// m = 16: 141 -> 187, m = 32: 169 -> 191, m = 64: 187 -> 190, m = 128: 207 -> 176. Both sum in the same order.
inline constexpr std::size_t gemm_direct_b_max_m = 32;

template <std::size_t MR, std::size_t NV, class Epilogue>
inline void gemm_serial_tiled(Trans trans_a, Trans trans_b, std::size_t m, std::size_t n, std::size_t k,
                              const float* a, std::size_t lda, const float* b, std::size_t ldb, float* c,
                              std::size_t ldc, bool accumulate, const Epilogue& epilogue, std::size_t col0) {
    constexpr std::size_t nr = NV * lanes;
    if (trans_b == Trans::no && n % nr == 0 && m <= gemm_direct_b_max_m) {
        gemm_panels<MR, NV>(AMatrix{a, lda, trans_a}, m, n, k, BPanels{b, ldb}, c, ldc, accumulate, nullptr, epilogue,
                            col0);
        return;
    }
    const std::size_t nc_max = std::min(gemm_nc, round_up(n, nr));
    float* pb = gemm_scratch(packed_b_size<nr>(k, nc_max));
    for (std::size_t j0 = 0; j0 < n; j0 += gemm_nc) {
        const std::size_t nc = std::min(gemm_nc, n - j0);
        pack_b<nr>(trans_b, b, ldb, k, j0, nc, pb);
        gemm_prepacked<MR, NV>(AMatrix{a, lda, trans_a}, m, nc, k, pb, c + j0, ldc, accumulate, nullptr, epilogue,
                               col0 + j0);
    }
}

// Which register tile a product uses, decided once from the whole problem, never from one thread's panel:
// both tiles sum an element in the same order today, and a future tile that does not must not make results
// depend on the thread count.
enum class GemmKernel { narrow, wide };

inline GemmKernel gemm_kernel_for(std::size_t n) noexcept { return n <= lanes ? GemmKernel::narrow : GemmKernel::wide; }

template <class Epilogue = NoEpilogue>
inline void gemm_serial(GemmKernel kernel, Trans trans_a, Trans trans_b, std::size_t m, std::size_t n, std::size_t k,
                        const float* a, std::size_t lda, const float* b, std::size_t ldb, float* c, std::size_t ldc,
                        bool accumulate, const Epilogue& epilogue = {}, std::size_t col0 = 0) {
    if (m == 0 || n == 0) return;
    if (k == 0) {
        if (!accumulate)
            for (std::size_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
        epilogue(c, ldc, m, col0, n);
        return;
    }
    if (kernel == GemmKernel::narrow)
        gemm_serial_tiled<gemm_mr_narrow, 1>(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate, epilogue,
                                             col0);
    else
        gemm_serial_tiled<gemm_mr_wide, 2>(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate, epilogue,
                                           col0);
}

// Below this many multiply-adds a second thread costs more than it saves. 4M keeps the batch-32 products of
// ctnn_train_bench's MLP (3.2M) serial: with sleeping OpenMP waiters (OMP_WAIT_POLICY=passive) splitting them
// made its epoch 0.36 -> 0.46 s on 2 cores (`ctnn_train_bench --models mlp --threads 2`).
inline constexpr std::size_t gemm_parallel_min_madds = std::size_t{1} << 22;

}  // namespace detail

// op(A) is A (m x k, leading dimension lda) or A^T with A stored k x m; likewise op(B).
// accumulate == false overwrites C, true adds to it. Threads (ctnn::num_threads()) split C into panels of
// whole register tiles, so every element is summed in the same order for any thread count.
// epilogue(c, ldc, rows, col, cols), when given, runs once on every block of C (rows x cols at c, starting at
// column col) after its sum is complete, each block while it is in L1 (Dense's bias and activation): every
// element of C is in exactly one block, and what it does to one element must depend on that element and its
// column only (the blocks differ with the thread split).
template <class Epilogue = detail::NoEpilogue>
inline void gemm(Trans trans_a, Trans trans_b, std::size_t m, std::size_t n, std::size_t k, const float* a,
                 std::size_t lda, const float* b, std::size_t ldb, float* c, std::size_t ldc, bool accumulate = false,
                 const Epilogue& epilogue = {}) noexcept {
    using namespace detail;
    const GemmKernel kernel = gemm_kernel_for(n);
    const std::size_t madds = m * n * k;
    if (madds < gemm_parallel_min_madds || num_threads() <= 1) {
        gemm_serial(kernel, trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate, epilogue);
        return;
    }
    // Split the longer side of C; granules are whole tiles of the widest kernel.
    const std::size_t col_granule = 2 * lanes, row_granule = gemm_mr_wide;
    const bool by_cols = n / col_granule >= m / row_granule;
    const std::size_t granule = by_cols ? col_granule : row_granule;
    const std::size_t extent = by_cols ? n : m;
    const std::size_t max_parts = (extent + granule - 1) / granule;
    parallel_parts(max_parts, [&](std::size_t part, std::size_t parts) {
        const Range r = split_range(extent, part, parts, granule);
        if (r.begin >= r.end) return;
        if (by_cols) {
            const float* bs = trans_b == Trans::no ? b + r.begin : b + r.begin * ldb;
            gemm_serial(kernel, trans_a, trans_b, m, r.end - r.begin, k, a, lda, bs, ldb, c + r.begin, ldc,
                        accumulate, epilogue, r.begin);
        } else {
            const float* as = trans_a == Trans::no ? a + r.begin * lda : a + r.begin;
            gemm_serial(kernel, trans_a, trans_b, r.end - r.begin, n, k, as, lda, b, ldb, c + r.begin * ldc, ldc,
                        accumulate, epilogue);
        }
    });
}

}  // namespace ctnn::kernels

#include "ctnn/kernels/detail/warnings_pop.hpp"
