// train_step's multi-threaded step for networks with one dominant Dense layer (row_split_step.hpp): the
// layer is split between threads by weight rows, the rest by samples. Checked against the plain forward and
// backward pass on one thread, for the wide layer at the start, in the middle and at the top of a network.

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <vector>

#include "ctnn/ctnn.hpp"
#include "network_values.hpp"
#include "serial_gradients.hpp"
#include "seed_networks.hpp"
#include "synthetic_data.hpp"

using namespace ctnn;

namespace {

using testing::SeedCnn;
using testing::SeedMlp;
// The wide layer right below the Softmax: nothing above it but the loss.
using ConvToSoftmax = Sequential<Input<28, 28, 1>, Conv2D<5, 5, 1, 32>, ReLU, Flatten, Dense<24 * 24 * 32, 10>, Softmax>;
// The wide layer first: nothing below it.
using DenseFirst = Sequential<Input<32, 32, 1>, Flatten, Dense<1024, 64>, ReLU, Dense<64, 10>>;
// The convolution holds most of the parameters: no layer is split by rows.
using ConvHeavy = Sequential<Input<8, 8, 4>, Conv2D<3, 3, 4, 64>, ReLU, Flatten, Dense<2304, 1>>;

static_assert(SeedCnn::row_split_layer == 4);
static_assert(SeedMlp::row_split_layer == 1);
static_assert(ConvToSoftmax::row_split_layer == 3);
static_assert(DenseFirst::row_split_layer == 1);
static_assert(ConvHeavy::row_split_layer == ConvHeavy::layer_count);

template <class Net>
data::Dataset batch_for(std::size_t n, std::uint64_t seed_value) {
    constexpr std::size_t side = Net::input_shape::dims[0];
    static_assert(Net::input_shape::size == side * side, "one channel, square images");
    return testing::blobs(n, side, 10, seed_value);
}

// The row split's gradients on `threads` threads, over stale values everywhere (layers and parts).
template <class Net>
testing::BatchGradients row_split_gradients(const data::Dataset& batch, std::size_t threads, std::size_t& team) {
    const std::size_t n = batch.size();
    set_num_threads(static_cast<int>(threads));
    auto net = std::make_unique<Net>(seed(3));
    net->prepare_parts(threads);
    std::array<BatchLoss, 64> losses{};
    SGD frozen(0.0f);  // lr 0: the step leaves the parameters as they are and the gradients in the layers
    constexpr std::size_t last = testing::trained_last<Net>;
    const auto other = batch_for<Net>(n, 99);
    detail::row_split_step<Net, last>(*net, frozen, other.images.data(), other.labels.data(), n, threads, losses);
    net->visit_parameters(
        [](std::size_t, const ParameterView& p) { std::fill(p.gradient.begin(), p.gradient.end(), 1e3f); });
    losses = {};
    team = detail::row_split_step<Net, last>(*net, frozen, batch.images.data(), batch.labels.data(), n, threads,
                                             losses);
    set_num_threads(0);
    BatchLoss total;
    for (const BatchLoss& part : losses) {
        total.loss_sum += part.loss_sum;
        total.correct += part.correct;
    }
    return {testing::gradient_values(*net), total};
}

template <class Net>
void check_row_split(std::size_t n, std::size_t threads) {
    const auto batch = batch_for<Net>(n, 21);
    const testing::BatchGradients expected = testing::serial_gradients<Net>(3, batch);
    std::size_t team = 0, team_again = 0;
    const testing::BatchGradients got = row_split_gradients<Net>(batch, threads, team);
    const testing::BatchGradients again = row_split_gradients<Net>(batch, threads, team_again);
#ifdef _OPENMP
    CHECK(team == std::min(threads, n));
#else
    CHECK(team == 1);
#endif
    REQUIRE(got.values.size() == expected.values.size());
    float largest = 0.0f;
    for (float g : expected.values) largest = std::max(largest, std::abs(g));
    REQUIRE(largest > 0.0f);
    std::size_t far = 0;  // sums in another order: equal to float rounding, relative to the largest gradient
    for (std::size_t i = 0; i < got.values.size(); ++i)
        far += !(std::abs(got.values[i] - expected.values[i]) <= 1e-5f * largest);
    CHECK(far == 0);
    CHECK(got.loss.loss_sum == doctest::Approx(expected.loss.loss_sum).epsilon(1e-5));
    CHECK(got.loss.correct == expected.loss.correct);
    CHECK(got.values == again.values);  // fixed for a given thread count
}

}  // namespace

TEST_CASE("row split: the seed CNN's gradients equal the serial pass's, on 2 and 3 threads") {
    SUBCASE("2 threads") { check_row_split<SeedCnn>(40, 2); }
    SUBCASE("3 threads: uneven rows and samples") { check_row_split<SeedCnn>(40, 3); }
    SUBCASE("one sample: one thread") { check_row_split<SeedCnn>(1, 2); }
}

TEST_CASE("row split: wide layer first, in the middle before a Softmax, or with nothing below to back-propagate to") {
    SUBCASE("seed MLP") { check_row_split<SeedMlp>(37, 2); }
    SUBCASE("Dense straight before Softmax") { check_row_split<ConvToSoftmax>(9, 2); }
    SUBCASE("Dense on the flattened input") { check_row_split<DenseFirst>(10, 2); }
}

TEST_CASE("row split: training on 2 threads learns, and repeats exactly") {
    const auto train = testing::blobs(256, 28, 10, 31), test = testing::blobs(200, 28, 10, 32);
    auto train_with = [&](int threads) {
        set_num_threads(threads);
        auto net = std::make_unique<SeedCnn>(seed(4));
        Adam opt;
        fit(*net, train, opt, {.epochs = 4, .batch = 32, .seed = 5, .verbosity = Verbosity::silent});
        const double accuracy = evaluate(*net, test).accuracy;
        set_num_threads(0);
        return std::pair{testing::parameter_values(*net), accuracy};
    };
    const auto [first, accuracy] = train_with(2);
    const auto [second, accuracy_again] = train_with(2);
    CHECK(accuracy >= 0.9);
    CHECK(first == second);
    CHECK(accuracy == accuracy_again);
}
