#include <doctest/doctest.h>

#include <memory>

#include "ctnn/ctnn.hpp"
#include "network_values.hpp"
#include "serial_gradients.hpp"
#include "seed_networks.hpp"
#include "synthetic_data.hpp"

using namespace ctnn;

namespace {
using SmallMlp = Sequential<Input<8, 8, 1>, Flatten, Dense<64, 32>, ReLU, Dense<32, 4>>;
using SmallCnn = Sequential<Input<8, 8, 1>, Conv2D<3, 3, 1, 4>, ReLU, MaxPool2D<2>, Flatten, Dense<36, 4>>;
using SoftmaxMlp = Sequential<Input<8, 8, 1>, Flatten, Dense<64, 16>, ReLU, Dense<16, 4>, Softmax>;
}  // namespace

TEST_CASE("fit learns a separable problem: MLP, CNN, and a network ending in Softmax") {
    const auto train = testing::blobs(1000, 8, 4, 1), test = testing::blobs(300, 8, 4, 2);
    {
        SmallMlp net{seed(1)};
        Adam opt(1e-2f);
        const History h = fit(net, train, opt, {.epochs = 3, .batch = 32, .verbosity = Verbosity::silent});
        REQUIRE(h.size() == 3);
        CHECK(h.back().loss < h.front().loss);
        CHECK(evaluate(net, test).accuracy > 0.95);
    }
    {
        SmallCnn net{seed(2)};
        Adam opt(1e-2f);
        fit(net, train, opt, {.epochs = 3, .batch = 16, .verbosity = Verbosity::silent});
        CHECK(evaluate(net, test).accuracy > 0.95);
    }
    {
        SoftmaxMlp net{seed(3)};
        SGD opt(0.1f, 0.9f, true);
        fit(net, train, opt, {.epochs = 3, .batch = 32, .verbosity = Verbosity::silent});
        const Evaluation e = evaluate(net, test);
        CHECK(e.accuracy > 0.95);
        CHECK(e.loss < 0.5);
    }
}

TEST_CASE("fit is deterministic for a given seed and thread count, and the seed shuffles differently") {
    const auto train = testing::blobs(333, 8, 4, 3);  // 333 = 10 batches of 32 + a partial one of 13
    auto run = [&](std::uint64_t shuffle_seed) {
        SmallCnn net{seed(4)};
        Adam opt;
        fit(net, train, opt, {.epochs = 2, .batch = 32, .seed = shuffle_seed, .verbosity = Verbosity::silent});
        return testing::parameter_values(net);
    };
    const auto a = run(1), b = run(1), c = run(2);
    CHECK(a == b);
    CHECK(a != c);
}

TEST_CASE("fit reports validation figures, calls the callback, and stops when it says so") {
    const auto train = testing::blobs(200, 8, 4, 5), validation = testing::blobs(100, 8, 4, 6);
    SmallMlp net{seed(5)};
    Adam opt(1e-2f);
    std::size_t calls = 0;
    const History h = fit(net, train, opt,
                          {.epochs = 10,
                           .batch = 20,
                           .validation = &validation,
                           .verbosity = Verbosity::silent,
                           .on_epoch_end = [&](const EpochRecord& r) {
                               ++calls;
                               CHECK(r.validation_accuracy.has_value());
                               CHECK(r.seconds >= 0.0);
                               return r.epoch < 1;  // stop after the second epoch
                           }});
    CHECK(calls == 2);
    CHECK(h.size() == 2);
    CHECK(*h.back().validation_accuracy == doctest::Approx(evaluate(net, validation).accuracy));
}

TEST_CASE("fit and evaluate refuse data that does not fit the network") {
    SmallMlp net{seed(1), /*max_batch=*/16};
    Adam opt;
    const auto wrong_size = testing::blobs(10, 9, 4, 1);
    CHECK_THROWS_AS(fit(net, wrong_size, opt, {.verbosity = Verbosity::silent}), std::invalid_argument);
    CHECK_THROWS_AS(evaluate(net, wrong_size), std::invalid_argument);
    const auto too_many_classes = testing::blobs(10, 8, 5, 1);
    CHECK_THROWS_AS(evaluate(net, too_many_classes), std::invalid_argument);
    const auto fine = testing::blobs(10, 8, 4, 1);
    CHECK_THROWS_AS(fit(net, fine, opt, {.batch = 17, .verbosity = Verbosity::silent}), std::invalid_argument);
}

TEST_CASE("evaluate's confusion matrix and predict agree") {
    const auto train = testing::blobs(500, 8, 4, 7), test = testing::blobs(64, 8, 4, 8);
    SmallMlp net{seed(6)};
    Adam opt(1e-2f);
    fit(net, train, opt, {.epochs = 2, .verbosity = Verbosity::silent});
    const Evaluation e = evaluate(net, test);
    CHECK(e.confusion.total() == 64);
    std::vector<std::uint8_t> predicted(64);
    predict(net, test.images.data(), 64, predicted.data());
    std::size_t hits = 0;
    for (std::size_t i = 0; i < 64; ++i) {
        hits += predicted[i] == test.labels[i];
        const auto one = predict(net, test.image(i));
        CHECK(one.label == predicted[i]);
        float total = 0;
        for (float p : one.probabilities) total += p;
        CHECK(total == doctest::Approx(1.0f));
    }
    CHECK(static_cast<double>(hits) / 64 == doctest::Approx(e.accuracy));
}

TEST_CASE("a step split across threads matches the serial step, and repeats exactly") {
    using Cnn = testing::SeedCnn;  // large enough per sample for a batch to be split
    static_assert(3 * Cnn::forward_flops_per_sample * 64 >= 2 * min_flops_per_thread);
    static_assert(3 * SmallMlp::forward_flops_per_sample * 64 < 2 * min_flops_per_thread);  // stays serial
    const auto batch = testing::blobs(64, 28, 10, 9);
    auto step_with = [&](int threads) {
        set_num_threads(threads);
        auto net = std::make_unique<Cnn>(seed(7));
        SGD opt(0.5f);
        StepPlan plan(*net);
        const BatchLoss loss = train_step(plan, opt, batch.images.data(), batch.labels.data(), 64);
        set_num_threads(0);
        return std::pair{testing::parameter_values(*net), loss};
    };
    const auto [serial, serial_loss] = step_with(1);
    const auto [split, split_loss] = step_with(2);
    const auto [again, again_loss] = step_with(2);
    REQUIRE(serial.size() == split.size());
    std::size_t far = 0;
    for (std::size_t i = 0; i < serial.size(); ++i)
        far += std::abs(split[i] - serial[i]) > 1e-5f * (1.0f + std::abs(serial[i]));
    CHECK(far == 0);
    CHECK(split_loss.loss_sum == doctest::Approx(serial_loss.loss_sum));
    CHECK(split_loss.correct == serial_loss.correct);
    CHECK(split == again);
}

TEST_CASE("train_step overwrites stale gradients: they equal those of a cleared, accumulating backward pass") {
    using Cnn = testing::SeedCnn;
    const std::size_t n = 40;
    const auto batch = testing::blobs(n, 28, 10, 11);
    // Reference on one thread, as the convolution's weight gradient sums its per-thread parts in an order that
    // depends on the thread count.
    const std::vector<float> expected = testing::serial_gradients<Cnn>(5, batch).values;

    for (int threads : {1, 2}) {
        set_num_threads(threads);
        auto net = std::make_unique<Cnn>(seed(5));
        // Stale values everywhere, in the layers' gradients and in every part's (after a first step).
        SGD frozen(0.0f);  // lr 0: the parameters stay as they are, the step only computes gradients
        StepPlan plan(*net);
        const auto other = testing::blobs(n, 28, 10, 12);  // leaves other gradients in every part
        train_step(plan, frozen, other.images.data(), other.labels.data(), n);
        net->visit_parameters(
            [](std::size_t, const ParameterView& p) { std::fill(p.gradient.begin(), p.gradient.end(), 1e3f); });
        train_step(plan, frozen, batch.images.data(), batch.labels.data(), n);
        set_num_threads(0);
        const std::vector<float> got = testing::gradient_values(*net);
        REQUIRE(got.size() == expected.size());
        std::size_t far = 0;
        for (std::size_t i = 0; i < got.size(); ++i)
            far += threads == 1 ? got[i] != expected[i]  // the same sums in the same order
                                : std::abs(got[i] - expected[i]) > 1e-5f * (1.0f + std::abs(expected[i]));
        INFO("threads " << threads);
        CHECK(far == 0);
    }
}
