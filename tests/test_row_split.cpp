// train_step's multi-threaded step for networks with one dominant Dense layer (row_split_step.hpp): the
// layer is split between threads by weight rows, the rest by samples. Checked against the plain forward and
// backward pass on one thread, for the wide layer at the start, in the middle and at the top of a network.

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "ctnn/ctnn.hpp"
#include "network_values.hpp"
#include "seed_networks.hpp"
#include "serial_gradients.hpp"
#include "synthetic_data.hpp"

using namespace ctnn;

namespace {

using testing::SeedCnn;
using testing::SeedMlp;
// The wide layer right below the Softmax: nothing above it but the loss.
using ConvToSoftmax =
    Sequential<Input<28, 28, 1>, Conv2D<5, 5, 1, 32>, ReLU, Flatten, Dense<24 * 24 * 32, 10>, Softmax>;
// The wide layer first: nothing below it.
using DenseFirst = Sequential<Input<32, 32, 1>, Flatten, Dense<1024, 64>, ReLU, Dense<64, 10>>;
// The convolution holds most of the parameters: no layer is split by rows.
using ConvHeavy = Sequential<Input<8, 8, 4>, Conv2D<3, 3, 4, 64>, ReLU, Flatten, Dense<2304, 1>>;

static_assert(StepPlan<SeedCnn>::row_split_layer == 4);
static_assert(StepPlan<SeedMlp>::row_split_layer == 1);
static_assert(StepPlan<ConvToSoftmax>::row_split_layer == 3);
static_assert(StepPlan<DenseFirst>::row_split_layer == 1);
static_assert(StepPlan<ConvHeavy>::row_split_layer == ConvHeavy::layer_count);
// A network that couples its batch (BatchNorm) is never split by rows, nor by samples.
using DenseWithBatchNorm = Sequential<Input<32, 32, 1>, Flatten, Dense<1024, 64>, BatchNorm<>, ReLU, Dense<64, 10>>;
static_assert(StepPlan<DenseWithBatchNorm>::row_split_layer == DenseWithBatchNorm::layer_count);

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
    StepPlan plan(*net);
    plan.prepare_parts(threads);
    std::array<BatchLoss, 64> losses{};
    SGD frozen(0.0f);  // lr 0: the step leaves the parameters as they are and the gradients in the layers
    const auto other = batch_for<Net>(n, 99);
    detail::row_split_step(plan, frozen, other.images.data(), other.labels.data(), n, threads, losses);
    net->visit_parameters(
        [](std::size_t, const ParameterView& p) { std::fill(p.gradient.begin(), p.gradient.end(), 1e3f); });
    losses = {};
    team = detail::row_split_step(plan, frozen, batch.images.data(), batch.labels.data(), n, threads, losses);
    set_num_threads(0);
    return {testing::gradient_values(*net), total_loss(losses)};
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

namespace {

struct StepsRun {
    std::vector<float> parameters;
    std::vector<BatchLoss> losses;  // one per step
};

// `steps` Adam steps of n samples each on `threads` threads, batch s being samples [s n, (s + 1) n) of `data`:
// in one parallel region (row_split_steps) or one region per step (row_split_step).
StepsRun train_steps(const data::Dataset& data, std::size_t n, std::size_t steps, std::size_t threads,
                     bool one_region) {
    using Net = testing::SeedCnn;
    set_num_threads(static_cast<int>(threads));
    auto net = std::make_unique<Net>(seed(6));
    StepPlan plan(*net);
    Adam opt(1e-2f);
    Buffer images(n * Net::input_shape::size);
    std::vector<std::uint8_t> labels(n);
    std::vector<std::uint32_t> order(data.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::uint32_t>(i);
    const auto load = [&](std::size_t step) {
        data::gather_batch(data, order, step * n, n, images.data(), labels.data());
    };
    StepsRun run;
    if (one_region) {
        detail::row_split_steps(plan, opt, images.data(), labels.data(), n, threads, steps, load,
                                [&](std::size_t step, const BatchLoss& loss) {
                                    CHECK(step == run.losses.size());
                                    run.losses.push_back(loss);
                                });
    } else {
        for (std::size_t step = 0; step < steps; ++step) {
            load(step);
            std::array<BatchLoss, 64> losses{};
            const std::size_t team = detail::row_split_step(plan, opt, images.data(), labels.data(), n, threads,
                                                            losses);
            run.losses.push_back(total_loss({losses.data(), team}));
        }
    }
    set_num_threads(0);
    run.parameters = testing::parameter_values(*net);
    return run;
}

}  // namespace

TEST_CASE("row split: steps sharing one parallel region equal one region per step, loss by loss") {
    const auto data = testing::blobs(6 * 20, 28, 10, 41);
    for (std::size_t threads : {2, 3}) {
        INFO("threads: ", threads);
        const StepsRun shared = train_steps(data, 20, 6, threads, true);
        const StepsRun separate = train_steps(data, 20, 6, threads, false);
        REQUIRE(shared.losses.size() == 6);
        CHECK(shared.parameters == separate.parameters);
        for (std::size_t s = 0; s < 6; ++s) {
            CHECK(shared.losses[s].loss_sum == separate.losses[s].loss_sum);
            CHECK(shared.losses[s].correct == separate.losses[s].correct);
        }
        CHECK(shared.losses.back().loss_sum < shared.losses.front().loss_sum);  // the steps did train
    }
}

TEST_CASE("row split: an exception from loading a batch or from the step callback reaches the caller") {
    using Net = testing::SeedCnn;
    const auto data = testing::blobs(40, 28, 10, 42);
    set_num_threads(2);
    auto net = std::make_unique<Net>(seed(7));
    StepPlan plan(*net);
    Adam opt;
    std::vector<std::size_t> done_steps;
    const auto run = [&](std::size_t failing_load, std::size_t failing_done) {
        done_steps.clear();
        detail::row_split_steps(
            plan, opt, data.images.data(), data.labels.data(), 20, 2, 5,
            [&](std::size_t step) {
                if (step == failing_load) throw std::runtime_error("load " + std::to_string(step));
            },
            [&](std::size_t step, const BatchLoss&) {
                if (step == failing_done) throw std::runtime_error("done " + std::to_string(step));
                done_steps.push_back(step);
            });
    };
    CHECK_THROWS_WITH_AS(run(3, 99), "load 3", std::runtime_error);
    CHECK(done_steps == std::vector<std::size_t>{0, 1, 2});
    CHECK(opt.steps() == 3);
    CHECK_THROWS_WITH_AS(run(99, 1), "done 1", std::runtime_error);
    CHECK(done_steps == std::vector<std::size_t>{0});
    CHECK(opt.steps() == 3 + 2);
    CHECK_THROWS_WITH_AS(run(99, 4), "done 4", std::runtime_error);  // the last step's callback, after the region
    CHECK(opt.steps() == 3 + 2 + 5);
    run(99, 99);
    CHECK(done_steps == std::vector<std::size_t>{0, 1, 2, 3, 4});
    set_num_threads(0);
}

TEST_CASE("row split: fit on 2 threads equals train_step batch by batch, the last batch partial") {
    using Net = testing::SeedCnn;
    const auto train = testing::blobs(3 * 32 + 5, 28, 10, 43);
    set_num_threads(2);
    auto fitted = std::make_unique<Net>(seed(8));
    auto stepped = std::make_unique<Net>(seed(8));
    StepPlan stepped_plan(*stepped);
    Adam fit_opt, step_opt;
    const History h = fit(*fitted, train, fit_opt,
                          {.epochs = 2, .batch = 32, .shuffle = false, .verbosity = Verbosity::silent});
    double loss_sum = 0.0;
    for (int epoch = 0; epoch < 2; ++epoch) {
        loss_sum = 0.0;
        for (std::size_t first = 0; first < train.size(); first += 32) {
            const std::size_t n = std::min<std::size_t>(32, train.size() - first);
            loss_sum += train_step(stepped_plan, step_opt, train.images.data() + first * Net::input_shape::size,
                                   train.labels.data() + first, n)
                            .loss_sum;
        }
    }
    set_num_threads(0);
    CHECK(testing::parameter_values(*fitted) == testing::parameter_values(*stepped));
    REQUIRE(h.size() == 2);
    CHECK(h.back().loss == doctest::Approx(loss_sum / static_cast<double>(train.size())).epsilon(1e-12));
}

TEST_CASE("row split: the gradients and the update do not depend on how the row blocks are split") {
    using Net = testing::SeedCnn;
    const auto batch = testing::blobs(24, 28, 10, 44);
    set_num_threads(2);
    const auto step_with = [&](std::size_t first_blocks) {
        auto net = std::make_unique<Net>(seed(9));
        StepPlan plan(*net);
        Adam opt;
        std::array<BatchLoss, 64> losses{};
        const std::size_t team = detail::row_split_step(plan, opt, batch.images.data(), batch.labels.data(), 12, 2,
                                                        losses);
        REQUIRE(plan.row_split_state().balance.blocks() == 16);
        if (team == 2) plan.row_split_state().balance.assign({0, first_blocks, 16});
        detail::row_split_step(plan, opt, batch.images.data() + 12 * 784, batch.labels.data() + 12, 12, 2, losses);
        if (team == 2) CHECK(plan.row_split_state().balance.range(0).end == first_blocks);
        return std::pair{testing::gradient_values(*net), testing::parameter_values(*net)};
    };
    const auto even = step_with(8);
    for (std::size_t first_blocks : {1, 5, 11, 15}) {
        INFO("thread 0 takes blocks [0, ", first_blocks, ")");
        const auto moved = step_with(first_blocks);
        CHECK(moved.first == even.first);
        CHECK(moved.second == even.second);
    }
    set_num_threads(0);
}

TEST_CASE("row split: the threads' buffers are sized by the batch, not by max_batch, and grow with it") {
    using Net = testing::SeedCnn;
    const auto data = testing::blobs(40, 28, 10, 45);
    set_num_threads(2);
    auto net = std::make_unique<Net>(seed(10));  // max_batch 256
    StepPlan plan(*net);
    Adam opt;
    std::array<BatchLoss, 64> losses{};
    const std::size_t team = detail::row_split_step(plan, opt, data.images.data(), data.labels.data(), 31, 2, losses);
    if (team == 2) {
        CHECK(plan.part_workspace(1).max_batch() == 16);  // the second thread's share of 31 samples at most
        CHECK(plan.row_split_state().rows == 31);
        detail::row_split_step(plan, opt, data.images.data(), data.labels.data(), 12, 2, losses);
        CHECK(plan.part_workspace(1).max_batch() == 16);  // kept: a smaller batch fits
        CHECK(plan.row_split_state().rows == 31);
        detail::row_split_step(plan, opt, data.images.data(), data.labels.data(), 40, 2, losses);
        CHECK(plan.part_workspace(1).max_batch() == 20);  // grown for a larger one
        CHECK(plan.row_split_state().rows == 40);
    } else {
        MESSAGE("one thread only: no part workspaces to check");
    }
    set_num_threads(0);
    plan.prepare_parts(3, 8);  // a new part gets what is asked; existing ones are never shrunk
    CHECK(plan.part_workspace(2).max_batch() == 8);
    CHECK(plan.part_workspace(1).max_batch() >= 8);
}
