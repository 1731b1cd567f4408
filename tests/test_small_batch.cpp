#include <doctest/doctest.h>
#include <cmath>
#include <vector>
#include "ctnn/core/random.hpp"
#include "ctnn/kernels/small_batch.hpp"

namespace {
template <std::size_t K, std::size_t N>
void check_against_naive_loops() {
    ctnn::Rng rng(K * 131 + N);
    std::vector<float> w(K * N), bias(N);
    for (auto& v : w) v = rng.uniform(-1.0f, 1.0f);
    for (auto& v : bias) v = rng.uniform(-1.0f, 1.0f);
    for (std::size_t n = 1; n <= ctnn::kernels::small_batch_max_rows; ++n) {
        std::vector<float> x(n * K);
        for (auto& v : x) v = rng.uniform(-1.0f, 1.0f);
        // One guard element past y: the partial stores must not write beyond n x N.
        std::vector<float> y(n * N + 1, 12345.0f);
        ctnn::kernels::small_batch_affine<K, N>(x.data(), n, w.data(), bias.data(), y.data());
        for (std::size_t r = 0; r < n; ++r)
            for (std::size_t j = 0; j < N; ++j) {
                double expected = bias[j];
                for (std::size_t k = 0; k < K; ++k) expected += double(x[r * K + k]) * double(w[k * N + j]);
                CAPTURE(K); CAPTURE(N); CAPTURE(n); CAPTURE(r); CAPTURE(j);
                CHECK(y[r * N + j] == doctest::Approx(expected).epsilon(1e-5));
            }
        CHECK(y[n * N] == 12345.0f);
    }
}
}  // namespace

TEST_CASE("small_batch_affine equals naive loops for 1 to 8 rows on awkward shapes") {
    check_against_naive_loops<1, 1>();
    check_against_naive_loops<7, 10>();
    check_against_naive_loops<784, 128>();
    check_against_naive_loops<128, 10>();
    check_against_naive_loops<33, 17>();
    check_against_naive_loops<5, 64>();
    check_against_naive_loops<3, 100>();
    check_against_naive_loops<2, 129>();
}
