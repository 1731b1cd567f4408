#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "ctnn/train/loss.hpp"
#include "gradient_check.hpp"

using namespace ctnn;

TEST_CASE("softmax cross-entropy equals -log softmax(label), counts arg-max hits") {
    const std::vector<float> logits{1.0f, 2.0f, 3.0f, /**/ 5.0f, 1.0f, 0.0f};
    const std::vector<std::uint8_t> labels{2, 1};
    std::vector<float> gradient(6);
    const BatchLoss loss = softmax_cross_entropy(logits.data(), labels.data(), 2, 3, gradient.data());
    auto expected_row = [&](std::size_t r) {
        const float* row = logits.data() + r * 3;
        double total = 0;
        for (int c = 0; c < 3; ++c) total += std::exp(static_cast<double>(row[c]));
        return -std::log(std::exp(static_cast<double>(row[labels[r]])) / total);
    };
    CHECK(loss.loss_sum == doctest::Approx(expected_row(0) + expected_row(1)));
    CHECK(loss.correct == 1);
    // Each gradient row sums to zero (softmax sums to one, the one-hot too).
    CHECK(gradient[0] + gradient[1] + gradient[2] == doctest::Approx(0.0).epsilon(1e-6));
}

TEST_CASE("softmax cross-entropy is stable for huge logits") {
    const std::vector<float> logits{1e4f, 0.0f, -1e4f};
    const std::vector<std::uint8_t> label{1};
    const BatchLoss loss = softmax_cross_entropy(logits.data(), label.data(), 1, 3, nullptr);
    CHECK(std::isfinite(loss.loss_sum));
    CHECK(loss.loss_sum == doctest::Approx(1e4));
}

TEST_CASE("the mean-loss gradient matches finite differences, and the probability form agrees with the logit form") {
    Rng rng(1);
    constexpr std::size_t n = 4, classes = 10;
    Buffer logits(n * classes), gradient(n * classes);
    testing::fill_uniform(logits, rng, -3.0f, 3.0f);
    const std::vector<std::uint8_t> labels{3, 0, 9, 3};
    softmax_cross_entropy(logits.data(), labels.data(), n, classes, gradient.data());
    auto mean_loss = [&] {
        return softmax_cross_entropy(logits.data(), labels.data(), n, classes, nullptr).loss_sum / n;
    };
    testing::check_coordinates("logits", std::span<float>(logits), std::span<const float>(gradient), mean_loss, rng,
                               {.step = 1e-2f, .absolute = 1e-4, .relative = 1e-2, .samples = 40});

    Buffer probabilities(n * classes), gradient_from_probabilities(n * classes);
    for (std::size_t r = 0; r < n; ++r) {
        double total = 0;
        for (std::size_t c = 0; c < classes; ++c) total += std::exp(static_cast<double>(logits[r * classes + c]));
        for (std::size_t c = 0; c < classes; ++c)
            probabilities[r * classes + c] =
                static_cast<float>(std::exp(static_cast<double>(logits[r * classes + c])) / total);
    }
    const BatchLoss a = softmax_cross_entropy(logits.data(), labels.data(), n, classes, nullptr);
    const BatchLoss b = cross_entropy_from_probabilities(probabilities.data(), labels.data(), n, classes,
                                                         gradient_from_probabilities.data());
    CHECK(a.loss_sum == doctest::Approx(b.loss_sum).epsilon(1e-5));
    CHECK(a.correct == b.correct);
    for (std::size_t i = 0; i < gradient.size(); ++i)
        CHECK(gradient[i] == doctest::Approx(gradient_from_probabilities[i]).epsilon(1e-5));
}
