#pragma once
// Affine maps of a few rows, y = x W + bias with x n x K (n <= small_batch_max_rows), W K x N row-major: the
// inference path of Dense at batch 1-8. A GEMM made for training shapes spends its time here on packing, a
// full register tile of which one row is used, and a thread decision; this streams W once per group of rows
// straight from where it lives, with the bias as the starting sum and no scratch memory.
//
// Per column block, R rows x V vectors of accumulators stay in registers while k runs over all of K, so each
// element of W is loaded once per group of R rows: for the shapes of Dense the cost is W's bytes over the
// cache or memory bandwidth, not FLOPs. K and N are template parameters so the block loops unroll fully.

#include <cstddef>

#include "ctnn/core/cache_sizes.hpp"
#include "ctnn/kernels/detail/simd.hpp"
#include "ctnn/kernels/detail/timed_choice.hpp"

namespace ctnn::kernels {

inline constexpr std::size_t small_batch_max_rows = 8;

namespace detail {

// Rows per pass and vectors per column block: R x V accumulators plus V loaded vectors of W must fit the
// register file (32 vector registers with AVX-512, 16 with AVX2 and SSE).
inline constexpr std::size_t small_batch_rows_per_pass = 4;
inline constexpr std::size_t small_batch_block_vectors = lanes == 16 ? 4 : 2;
// For one or two rows, a wide block: as many vectors as the registers hold beside R broadcasts of x (W's loads
// fold into the FMAs), so more independent sums are in flight and W is read in fewer strided passes (with AVX-512
// one, a whole 128-column row per k). Where W is larger than the core's L2 (the seed CNN's Dense<5408,128>, 2.77
// MB, streamed from L3 or memory at batch 1) it was faster on every CPU measured, up to 2x on a Zen 3 with AVX2.
// Where W fits L2 it was 1.7x faster on a Zen 5, 1.3x on the Zen 3, and 1.2x slower on a Xeon
// (docs/performance.md), so there the first call of each shape times both (timed_choice.hpp). Same bits either
// way: each sum starts at its bias and runs k ascending.
inline constexpr std::size_t small_batch_wide_max_rows = 2;
template <std::size_t R>
inline constexpr std::size_t small_batch_wide_vectors = lanes == 16 || R == 1 ? 8 : 4;

// How a kernel reads its weights: `count` (<= lanes) of them at p as a vector, zeros past count.
struct FloatWeights {
    using value_type = float;
    static vec load(const float* p, std::size_t count) noexcept { return load_some(p, count); }
};

// Columns [j0, j0 + V * lanes) of R rows; `last` floats of the final vector are real (the rest of W's row
// and y's row may not exist), so the final vector is loaded and stored partially when last < lanes. Each sum
// starts at the bias (zero when bias is null) and runs k ascending. Weights: a policy as FloatWeights.
template <std::size_t K, std::size_t R, std::size_t V, class Weights>
inline void small_batch_block(const float* x, std::size_t ldx, const typename Weights::value_type* w,
                              std::size_t ldw, const float* bias, float* y, std::size_t ldy,
                              std::size_t last) noexcept {
    vec acc[R][V];
    vec b[V];
#pragma GCC unroll 8
    for (std::size_t v = 0; v < V; ++v)
        b[v] = bias == nullptr ? vec(0.0f) : load_some(bias + v * lanes, v + 1 < V ? lanes : last);
#pragma GCC unroll 8
    for (std::size_t r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (std::size_t v = 0; v < V; ++v) acc[r][v] = b[v];
    for (std::size_t k = 0; k < K; ++k) {
        const typename Weights::value_type* wk = w + k * ldw;
#pragma GCC unroll 8
        for (std::size_t v = 0; v < V; ++v) b[v] = Weights::load(wk + v * lanes, v + 1 < V ? lanes : last);
#pragma GCC unroll 8
        for (std::size_t r = 0; r < R; ++r) {
            const vec xr(x[r * ldx + k]);
#pragma GCC unroll 8
            for (std::size_t v = 0; v < V; ++v) acc[r][v] = fmadd(xr, b[v], acc[r][v]);
        }
    }
#pragma GCC unroll 8
    for (std::size_t r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (std::size_t v = 0; v < V; ++v) store_some(acc[r][v], y + r * ldy + v * lanes, v + 1 < V ? lanes : last);
}

// All N columns of R rows in blocks of V vectors: full blocks, then the remaining whole vectors one at a time,
// then a partial one.
template <std::size_t K, std::size_t N, std::size_t R, std::size_t V, class Weights>
inline void small_batch_rows_in_blocks(const float* x, const typename Weights::value_type* w, const float* bias,
                                       float* y) noexcept {
    constexpr std::size_t block = V * lanes;
    constexpr std::size_t full_blocks = N / block;
    const auto bias_at = [&](std::size_t j) { return bias == nullptr ? nullptr : bias + j; };
    for (std::size_t j = 0; j < full_blocks * block; j += block)
        small_batch_block<K, R, V, Weights>(x, K, w + j, N, bias_at(j), y + j, N, lanes);
    std::size_t j = full_blocks * block;
    for (; j + lanes <= N; j += lanes) small_batch_block<K, R, 1, Weights>(x, K, w + j, N, bias_at(j), y + j, N, lanes);
    if (j < N) small_batch_block<K, R, 1, Weights>(x, K, w + j, N, bias_at(j), y + j, N, N - j);
}

// Whether the wide block is faster for this shape where W fits L2: timed once per program, on the first call's
// own data (x and y do not overlap, so the calls can repeat). That first call runs the layer as often as
// TimedChoiceRounds says, for each width.
template <std::size_t K, std::size_t N, std::size_t R, class Weights>
inline bool wide_block_faster_in_l2(const float* x, const typename Weights::value_type* w, const float* bias,
                                    float* y) noexcept {
    static const bool faster = second_is_clearly_faster(
        [&] { small_batch_rows_in_blocks<K, N, R, small_batch_block_vectors, Weights>(x, w, bias, y); },
        [&] { small_batch_rows_in_blocks<K, N, R, small_batch_wide_vectors<R>, Weights>(x, w, bias, y); });
    return faster;
}

// All N columns of R rows, in the block width for R and for where W lives.
template <std::size_t K, std::size_t N, std::size_t R, class Weights>
inline void small_batch_rows(const float* x, const typename Weights::value_type* w, const float* bias,
                             float* y) noexcept {
    if constexpr (R <= small_batch_wide_max_rows && N >= small_batch_wide_vectors<R> * lanes) {
        constexpr std::size_t weight_bytes = K * N * sizeof(typename Weights::value_type);
        if (weight_bytes > cache_sizes().l2 || wide_block_faster_in_l2<K, N, R, Weights>(x, w, bias, y)) {
            small_batch_rows_in_blocks<K, N, R, small_batch_wide_vectors<R>, Weights>(x, w, bias, y);
            return;
        }
    }
    small_batch_rows_in_blocks<K, N, R, small_batch_block_vectors, Weights>(x, w, bias, y);
}

// y[r, :] = x[r, :] W + bias for any n, in groups of small_batch_rows_per_pass rows.
template <std::size_t K, std::size_t N, class Weights>
inline void small_batch_affine_rows(const float* x, std::size_t n, const typename Weights::value_type* w,
                                    const float* bias, float* y) noexcept {
    constexpr std::size_t R = small_batch_rows_per_pass;
    for (; n >= R; n -= R, x += R * K, y += R * N) small_batch_rows<K, N, R, Weights>(x, w, bias, y);
    switch (n) {
        case 3: small_batch_rows<K, N, 3, Weights>(x, w, bias, y); break;
        case 2: small_batch_rows<K, N, 2, Weights>(x, w, bias, y); break;
        case 1: small_batch_rows<K, N, 1, Weights>(x, w, bias, y); break;
        default: break;
    }
}

}  // namespace detail

// y[r, :] = x[r, :] W + bias for r < n, n <= small_batch_max_rows; x is n x K, y n x N, both dense.
template <std::size_t K, std::size_t N>
inline void small_batch_affine(const float* x, std::size_t n, const float* w, const float* bias, float* y) noexcept {
    detail::small_batch_affine_rows<K, N, detail::FloatWeights>(x, n, w, bias, y);
}

}  // namespace ctnn::kernels
