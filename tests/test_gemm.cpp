#include "ctnn/kernels/gemm.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <tuple>
#include <vector>

#include "ctnn/core/parallel.hpp"
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
