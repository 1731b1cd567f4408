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
                double expected = bias[j], magnitude = std::abs(bias[j]);
                for (std::size_t k = 0; k < K; ++k) {
                    expected += double(x[r * K + k]) * double(w[k * N + j]);
                    magnitude += std::abs(double(x[r * K + k]) * double(w[k * N + j]));
                }
                CAPTURE(K); CAPTURE(N); CAPTURE(n); CAPTURE(r); CAPTURE(j);
                // Relative to the result, plus a little of sum |x w| for the cancellation of long sums.
                CHECK(std::abs(y[r * N + j] - expected) <= 1e-5 * std::abs(expected) + 1e-6 * magnitude);
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
    // Weights larger than a 2 MB L2: one or two rows take the whole-row blocks where the CPU's L2 is smaller.
    check_against_naive_loops<5408, 128>();
    check_against_naive_loops<4500, 150>();
}

// The block width changes which columns are computed together, never a sum: every width gives the same bits, and
// so does small_batch_affine, whichever width its timed choice took on this CPU.
TEST_CASE("small_batch: wide and narrow column blocks give the same bits") {
    constexpr std::size_t K = 300, N = 150;
    ctnn::Rng rng(17);
    std::vector<float> w(K * N), bias(N), x(2 * K);
    for (auto& v : w) v = rng.uniform(-1.0f, 1.0f);
    for (auto& v : bias) v = rng.uniform(-1.0f, 1.0f);
    for (auto& v : x) v = rng.uniform(-1.0f, 1.0f);
    namespace d = ctnn::kernels::detail;
    const auto narrow = [&]<std::size_t R>() {
        std::vector<float> y(R * N);
        d::small_batch_rows_in_blocks<K, N, R, d::small_batch_block_vectors, d::FloatWeights>(x.data(), w.data(),
                                                                                              bias.data(), y.data());
        return y;
    };
    const auto wide = [&]<std::size_t R>() {
        std::vector<float> y(R * N);
        d::small_batch_rows_in_blocks<K, N, R, d::small_batch_wide_vectors<R>, d::FloatWeights>(x.data(), w.data(),
                                                                                               bias.data(), y.data());
        return y;
    };
    const auto chosen = [&](std::size_t n) {
        std::vector<float> y(n * N);
        ctnn::kernels::small_batch_affine<K, N>(x.data(), n, w.data(), bias.data(), y.data());
        return y;
    };
    const std::vector<float> narrow1 = narrow.template operator()<1>(), narrow2 = narrow.template operator()<2>();
    CHECK(wide.template operator()<1>() == narrow1);
    CHECK(wide.template operator()<2>() == narrow2);
    CHECK(chosen(1) == narrow1);
    CHECK(chosen(2) == narrow2);
    for (float& v : w) v = -v;  // the check can fail
    CHECK(wide.template operator()<2>() != narrow2);
}

TEST_CASE("second_is_clearly_faster calls both candidates alike and decides by the margin") {
    namespace d = ctnn::kernels::detail;
    volatile float sink = 0.0f;
    std::size_t first_calls = 0, second_calls = 0;
    const auto work = [&] {
        for (int i = 0; i < 200; ++i) sink = sink + 1.0f;
    };
    const auto first = [&] { ++first_calls; work(); };
    const auto second = [&] { ++second_calls; work(); };
    const d::TimedChoiceRounds plan{.rounds = 3, .calls_per_round = 4, .margin = 0.9};
    (void)d::second_is_clearly_faster(first, second, plan);
    CHECK(first_calls == 1 + 3 * 4);
    CHECK(second_calls == 1 + 3 * 4);
    // No time is below zero, so a margin of 0 never picks the second; a margin of 1e9 always does, the first
    // taking a measurable time (200 dependent volatile additions per call).
    CHECK_FALSE(d::second_is_clearly_faster(first, second, {.rounds = 3, .calls_per_round = 4, .margin = 0.0}));
    CHECK(d::second_is_clearly_faster(first, second, {.rounds = 3, .calls_per_round = 4, .margin = 1e9}));
}
