#include "ctnn/kernels/gemm.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <tuple>
#include <vector>

#include "ctnn/core/parallel.hpp"
#include "ctnn/kernels/elementwise.hpp"
#include "reference_kernels.hpp"

using ctnn::kernels::gemm;
using ctnn::kernels::Trans;

namespace {

// Runs gemm and the reference on one shape; the error bound is relative to sum |a||b| per element and grows with k.
void check_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, bool accumulate, std::size_t pad = 0) {
    const std::size_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
    const auto a = ctnn::reference::random_vector((ta ? k : m) * lda, 1 + m * 7 + k);
    const auto b = ctnn::reference::random_vector((tb ? n : k) * ldb, 2 + n * 5 + k);
    auto c = ctnn::reference::random_vector(m * ldc, 3 + m + n);
    auto expect = c;
    gemm(ta ? Trans::yes : Trans::no, tb ? Trans::yes : Trans::no, m, n, k, a.data(), lda, b.data(), ldb, c.data(),
         ldc, accumulate);
    ctnn::reference::gemm(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, expect.data(), ldc, accumulate);
    const double eps = 2.0 * static_cast<double>(k + 2) * 0x1.0p-24;
    std::size_t bad = 0;
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < ldc; ++j) {
            const double got = c[i * ldc + j], want = expect[i * ldc + j];
            if (j >= n) {  // padding columns must be untouched
                bad += got != want;
                continue;
            }
            const double scale =
                ctnn::reference::gemm_abs_bound(ta, tb, i, j, k, a.data(), lda, b.data(), ldb) +
                (accumulate ? std::abs(want) : 0.0) + 1e-30;
            bad += std::abs(got - want) > eps * scale;
        }
    INFO("ta=" << ta << " tb=" << tb << " m=" << m << " n=" << n << " k=" << k << " acc=" << accumulate);
    CHECK(bad == 0);
}

}  // namespace

TEST_CASE("gemm matches the reference on awkward shapes, all transposes") {
    const std::size_t sizes[] = {1, 7, 31, 33, 127};
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            for (std::size_t m : sizes)
                for (std::size_t n : sizes)
                    for (std::size_t k : {std::size_t{1}, std::size_t{33}, std::size_t{127}})
                        check_gemm(ta, tb, m, n, k, (m + n + k) % 2 == 0);
}

TEST_CASE("gemm accumulate and overwrite, leading dimensions larger than the matrix") {
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            for (bool acc : {false, true}) {
                check_gemm(ta, tb, 17, 45, 300, acc, 3);  // k spans two k blocks
                check_gemm(ta, tb, 9, 16, 5, acc, 1);
            }
}

TEST_CASE("gemm on the MNIST layer shapes") {
    check_gemm(false, false, 32, 128, 784, false);   // Dense 784->128 forward
    check_gemm(true, false, 784, 128, 32, true);     // its weight gradient
    check_gemm(false, true, 32, 784, 128, false);    // its input gradient
    check_gemm(false, false, 64, 10, 128, false);    // Dense 128->10
    check_gemm(false, false, 676, 32, 9, false);     // conv1 per image
    check_gemm(false, false, 576, 64, 288, false);   // conv2 per image
    check_gemm(true, false, 288, 64, 576, true);     // conv2 weight gradient
    check_gemm(false, true, 576, 288, 64, false);    // conv2 patch gradient
}

TEST_CASE("gemm with k == 0 clears or keeps C") {
    std::vector<float> c(6, 5.0f);
    gemm(Trans::no, Trans::no, 2, 3, 0, nullptr, 1, nullptr, 3, c.data(), 3, true);
    CHECK(c[0] == 5.0f);
    gemm(Trans::no, Trans::no, 2, 3, 0, nullptr, 1, nullptr, 3, c.data(), 3, false);
    CHECK(c[5] == 0.0f);
}

TEST_CASE("gemm gives bitwise identical results on 1 and 2 threads") {
    const std::tuple<std::size_t, std::size_t, std::size_t> shapes[] = {
        {64, 784, 128}, {300, 70, 257}, {33, 5408, 128}, {784, 128, 32}};
    for (auto [m, n, k] : shapes)
        for (bool ta : {false, true})
            for (bool tb : {false, true}) {
                const auto a = ctnn::reference::random_vector(m * k, 11);
                const auto b = ctnn::reference::random_vector(k * n, 12);
                std::vector<float> c1(m * n, 1.0f), c2(m * n, 1.0f);
                const Trans xa = ta ? Trans::yes : Trans::no, xb = tb ? Trans::yes : Trans::no;
                const std::size_t lda = ta ? m : k, ldb = tb ? k : n;
                ctnn::set_num_threads(1);
                gemm(xa, xb, m, n, k, a.data(), lda, b.data(), ldb, c1.data(), n, true);
                ctnn::set_num_threads(2);
                gemm(xa, xb, m, n, k, a.data(), lda, b.data(), ldb, c2.data(), n, true);
                ctnn::set_num_threads(0);
                CHECK(c1 == c2);
            }
}

TEST_CASE("gemm reads a B of few-row products in place: matches the reference, unaligned rows included") {
    // m <= gemm_direct_b_max_m, B not transposed, n a multiple of the tile width: B is not packed.
    for (bool ta : {false, true})
        for (std::size_t m : {std::size_t{1}, std::size_t{7}, std::size_t{8}, std::size_t{31}, std::size_t{32}})
            for (std::size_t n : {std::size_t{16}, std::size_t{32}, std::size_t{128}})
                for (std::size_t pad : {std::size_t{0}, std::size_t{5}}) {
                    check_gemm(ta, false, m, n, 800, (m + pad) % 2 == 0, pad);  // k in two blocks
                    check_gemm(ta, false, m, n, 9, (m + pad) % 2 == 1, pad);
                }
}

TEST_CASE("gemm: rows of B read in place and rows of B packed are bitwise equal") {
    // The same rows of A in a 32-row product (B in place) and in a 96-row one (B packed) are summed in the same
    // order, so a network gives the same numbers whatever its batch.
    constexpr std::size_t big = 96, small = ctnn::kernels::detail::gemm_direct_b_max_m, n = 128, k = 5408;
    static_assert(small < big);
    for (bool ta : {false, true}) {
        const std::size_t lda_big = ta ? big : k, lda_small = ta ? small : k;
        const auto a_big = ctnn::reference::random_vector(big * k, 21);
        std::vector<float> a_small(small * k);
        for (std::size_t i = 0; i < small; ++i)
            for (std::size_t p = 0; p < k; ++p)
                (ta ? a_small[p * lda_small + i] : a_small[i * lda_small + p]) =
                    ta ? a_big[p * lda_big + i] : a_big[i * lda_big + p];
        const auto b = ctnn::reference::random_vector(k * n, 22);
        std::vector<float> c_big(big * n), c_small(small * n);
        const Trans xa = ta ? Trans::yes : Trans::no;
        gemm(xa, Trans::no, big, n, k, a_big.data(), lda_big, b.data(), n, c_big.data(), n);
        gemm(xa, Trans::no, small, n, k, a_small.data(), lda_small, b.data(), n, c_small.data(), n);
        CHECK(std::equal(c_small.begin(), c_small.end(), c_big.begin()));
    }
}

// The epilogue runs once on every element of C, after that element's last k block, with its column: the bias
// and ReLU done there give the bits of the product followed by add_bias and relu, on 1 and 2 threads, on the
// packed and the in-place B paths, ragged tiles and several k blocks included.
TEST_CASE("gemm epilogue: every element once, complete, with its column") {
    const std::tuple<std::size_t, std::size_t, std::size_t> shapes[] = {
        {1, 5, 3}, {7, 40, 500}, {33, 600, 20}, {32, 128, 900}, {64, 256, 300}, {100, 16, 1}};
    for (const auto& shape : shapes)
        for (bool ta : {false, true})
            for (bool tb : {false, true})
                for (int threads : {1, 2}) {
                    // Plain variables: clang 14 does not let a lambda capture structured bindings.
                    const std::size_t m = std::get<0>(shape), n = std::get<1>(shape), k = std::get<2>(shape);
                    const auto a = ctnn::reference::random_vector(m * k, 21);
                    const auto b = ctnn::reference::random_vector(k * n, 22);
                    const auto bias = ctnn::reference::random_vector(n, 23);
                    const Trans xa = ta ? Trans::yes : Trans::no, xb = tb ? Trans::yes : Trans::no;
                    const std::size_t lda = ta ? m : k, ldb = tb ? k : n;
                    ctnn::set_num_threads(threads);
                    std::vector<float> plain(m * n), fused(m * n);
                    std::vector<int> visits(m * n, 0);
                    gemm(xa, xb, m, n, k, a.data(), lda, b.data(), ldb, plain.data(), n);
                    ctnn::kernels::add_bias(plain.data(), bias.data(), m, n);
                    ctnn::kernels::relu(plain.data(), plain.data(), m * n);
                    float* base = fused.data();
                    gemm(xa, xb, m, n, k, a.data(), lda, b.data(), ldb, fused.data(), n, false,
                         [&](float* c, std::size_t ldc, std::size_t rows, std::size_t col, std::size_t cols) {
                             const std::size_t row0 = static_cast<std::size_t>(c - base) / n;
                             CHECK(ldc == n);
                             CHECK(static_cast<std::size_t>(c - base) % n == col);
                             for (std::size_t r = 0; r < rows; ++r) {
                                 float* row = c + r * ldc;
                                 ctnn::kernels::add_bias(row, bias.data() + col, 1, cols);
                                 ctnn::kernels::relu(row, row, cols);
                                 for (std::size_t j = 0; j < cols; ++j) ++visits[(row0 + r) * n + col + j];
                             }
                         });
                    ctnn::set_num_threads(0);
                    INFO("m=" << m << " n=" << n << " k=" << k << " ta=" << ta << " tb=" << tb << " threads=" << threads);
                    CHECK(std::all_of(visits.begin(), visits.end(), [](int v) { return v == 1; }));
                    CHECK(fused == plain);
                }
}
