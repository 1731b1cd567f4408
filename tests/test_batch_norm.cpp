// Tests for ctnn/layers/batch_norm.hpp: forward against a naive double-precision reference written from the
// definition, gradients against finite differences, the running statistics and their commit, model files, and
// the training engine's promise that a network that couples its batch is never split by samples.

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <memory>
#include <ratio>
#include <span>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/layers/batch_norm.hpp>

#include "gradient_check.hpp"
#include "idx_writer.hpp"  // TempDir
#include "network_values.hpp"

using namespace ctnn;

using PyTorchBatchNorm = BatchNorm<std::ratio<9, 10>, std::ratio<1, 100000>>;

static_assert(BatchNorm<>::bind<Shape<128>>::parameter_count == 256);
static_assert(BatchNorm<>::bind<Shape<128>>::state_count == 256);
static_assert(BatchNorm<>::bind<Shape<28, 28, 32>>::parameter_count == 64);
static_assert(BatchNorm<>::bind<Shape<28, 28, 32>>::state_count == 64);
static_assert(std::is_same_v<BatchNorm<>::bind<Shape<128>>::output_shape, Shape<128>>);
static_assert(std::is_same_v<BatchNorm<>::bind<Shape<28, 28, 32>>::output_shape, Shape<28, 28, 32>>);
static_assert(std::is_same_v<BatchNorm<>::bind<Shape<7, 5, 3>>::output_shape, Shape<7, 5, 3>>);
static_assert(BoundLayer<BatchNorm<>::bind<Shape<128>>>);
static_assert(BoundLayer<BatchNorm<>::bind<Shape<28, 28, 32>>>);
static_assert(CouplesBatch<BatchNorm<>::bind<Shape<128>>>);
static_assert(CouplesBatch<BatchNorm<>::bind<Shape<28, 28, 32>>>);
static_assert(!CouplesBatch<Dense<784, 128>::bind<Shape<784>>>);
static_assert(std::copyable<BatchNorm<>::bind<Shape<28, 28, 32>>::workspace>);
static_assert(BatchNorm<>::bind<Shape<28, 28, 32>>::fingerprint !=
              PyTorchBatchNorm::bind<Shape<28, 28, 32>>::fingerprint);
static_assert(BatchNorm<>::bind<Shape<28, 28, 32>>::fingerprint !=
              BatchNorm<std::ratio<99, 100>, std::ratio<1, 100000>>::bind<Shape<28, 28, 32>>::fingerprint);

// PyTorch 1.13 counts 102,026 trainable parameters for the same network (Linear 784->128, BatchNorm1d(128),
// ReLU, Linear 128->10); Keras reports its 256 non-trainable ones (moving mean and variance).
using BnMlp = Sequential<Input<28, 28, 1>, Flatten, Dense<784, 128>, BatchNorm<>, ReLU, Dense<128, 10>>;
static_assert(BnMlp::parameter_count == 102'026);
static_assert(BnMlp::state_count == 256);
static_assert(BnMlp::couples_batch);
static_assert(BnMlp::summary_rows[2].parameters == 256 && BnMlp::summary_rows[2].state == 256);
static_assert(!Sequential<Input<28, 28, 1>, Flatten, Dense<784, 128>, ReLU, Dense<128, 10>>::couples_batch);

namespace {

// ---- the naive reference, from the definition, in double ----

// Per-channel mean and biased variance of `rows` rows of `channels` values (channel c of row r at r * channels
// + c), two passes, channel by channel.
struct Statistics {
    std::vector<double> mean, variance;
};
Statistics reference_statistics(const float* x, std::size_t rows, std::size_t channels) {
    Statistics s{std::vector<double>(channels), std::vector<double>(channels)};
    for (std::size_t c = 0; c < channels; ++c) {
        double total = 0.0;
        for (std::size_t r = 0; r < rows; ++r) total += x[r * channels + c];
        const double mean = total / static_cast<double>(rows);
        double squares = 0.0;
        for (std::size_t r = 0; r < rows; ++r) {
            const double d = x[r * channels + c] - mean;
            squares += d * d;
        }
        s.mean[c] = mean;
        s.variance[c] = squares / static_cast<double>(rows);
    }
    return s;
}

// y = gamma * (x - mean) / sqrt(var + eps) + beta.
std::vector<double> reference_normalize(const float* x, std::size_t rows, std::size_t channels, const float* gamma,
                                        const float* beta, std::span<const double> mean,
                                        std::span<const double> variance, double eps) {
    std::vector<double> y(rows * channels);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < channels; ++c)
            y[r * channels + c] = gamma[c] * (x[r * channels + c] - mean[c]) / std::sqrt(variance[c] + eps) + beta[c];
    return y;
}
std::vector<double> as_doubles(std::span<const float> v) { return {v.begin(), v.end()}; }

// Random x with a different offset and spread per channel, so that normalising has something to remove.
void fill_channels(std::span<float> x, std::size_t channels, Rng& rng, float max_offset = 3.0f, float min_spread = 0.5f,
                   float max_spread = 2.0f) {
    std::vector<float> offset(channels), spread(channels);
    for (std::size_t c = 0; c < channels; ++c) {
        offset[c] = rng.uniform(-max_offset, max_offset);
        spread[c] = rng.uniform(min_spread, max_spread);
    }
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = offset[i % channels] + spread[i % channels] * rng.uniform(-1, 1);
}

template <class L>
void randomize_affine(L& layer, Rng& rng) {
    testing::fill_uniform(flat(layer.gamma), rng, 0.5f, 2.0f);
    testing::fill_uniform(flat(layer.beta), rng, -1.0f, 1.0f);
}

using testing::parameter_values;
using testing::state_values;
using testing::bits_of;

// ---- forward ----

template <class Spec, class S>
void check_training_forward(std::size_t n, std::uint64_t seed_value, double eps) {
    using L = typename Spec::template bind<S>;
    constexpr std::size_t channels = S::dims[S::rank - 1];
    const std::size_t rows = n * S::size / channels;
    INFO(L::name(), " on ", S::name(), ", n = ", n);
    Rng rng(seed_value);
    auto layer = std::make_unique<L>();
    layer->initialize(rng, Initializer::glorot_uniform);
    randomize_affine(*layer, rng);
    Buffer x(n * S::size), y(n * S::size);
    fill_channels(x, channels, rng);
    typename L::workspace ws(n);
    layer->forward(x.data(), y.data(), n, ws, Pass::training);

    const Statistics stats = reference_statistics(x.data(), rows, channels);
    const auto expected = reference_normalize(x.data(), rows, channels, layer->gamma.data(), layer->beta.data(),
                                              stats.mean, stats.variance, eps);
    for (std::size_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == doctest::Approx(expected[i]).epsilon(1e-5));
    // What backward will use: the batch's statistics.
    REQUIRE(ws.holds_training_statistics);
    for (std::size_t c = 0; c < channels; ++c) {
        CHECK(ws.mean[c] == doctest::Approx(stats.mean[c]).epsilon(1e-6));
        CHECK(ws.variance[c] == doctest::Approx(stats.variance[c]).epsilon(1e-5));
        CHECK(ws.inv_std[c] == doctest::Approx(1.0 / std::sqrt(stats.variance[c] + eps)).epsilon(1e-5));
    }
    // The output per channel has mean beta and variance gamma^2 * var / (var + eps).
    const Statistics out = reference_statistics(y.data(), rows, channels);
    for (std::size_t c = 0; c < channels; ++c) {
        const double g = layer->gamma.data()[c];
        CHECK(out.mean[c] == doctest::Approx(layer->beta.data()[c]).epsilon(1e-5));
        const double shrink = stats.variance[c] / (stats.variance[c] + eps);
        CHECK(out.variance[c] == doctest::Approx(g * g * shrink).epsilon(1e-4));
        if (rows > 1) CHECK(out.variance[c] == doctest::Approx(g * g).epsilon(2 * eps / stats.variance[c]));
    }
    // A training forward alone changes no state.
    for (std::size_t c = 0; c < channels; ++c) {
        CHECK(layer->running_mean.data()[c] == 0.0f);
        CHECK(layer->running_var.data()[c] == 1.0f);
    }
}

template <class S>
void check_inference_forward(std::size_t n, std::uint64_t seed_value) {
    using L = BatchNorm<>::bind<S>;
    constexpr std::size_t channels = S::dims[S::rank - 1];
    const std::size_t rows = n * S::size / channels;
    INFO(S::name(), ", n = ", n);
    Rng rng(seed_value);
    auto layer = std::make_unique<L>();
    layer->initialize(rng, Initializer::glorot_uniform);
    randomize_affine(*layer, rng);
    testing::fill_uniform(flat(layer->running_mean), rng, -2.0f, 2.0f);
    testing::fill_uniform(flat(layer->running_var), rng, 0.1f, 3.0f);
    const auto mean_before = bits_of(flat(layer->running_mean));
    const auto var_before = bits_of(flat(layer->running_var));
    Buffer x(n * S::size), y(n * S::size), y_training(n * S::size);
    fill_channels(x, channels, rng);
    typename L::workspace ws(n);
    layer->forward(x.data(), y.data(), n, ws, Pass::inference);

    const auto expected = reference_normalize(x.data(), rows, channels, layer->gamma.data(), layer->beta.data(),
                                              as_doubles(flat(layer->running_mean)),
                                              as_doubles(flat(layer->running_var)), 1e-3);
    for (std::size_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == doctest::Approx(expected[i]).epsilon(1e-5));
    CHECK_FALSE(ws.holds_training_statistics);
    CHECK(bits_of(flat(layer->running_mean)) == mean_before);
    CHECK(bits_of(flat(layer->running_var)) == var_before);
    // Inference treats samples independently: the last one alone gives the same output.
    Buffer y_last(S::size);
    typename L::workspace ws_one(1);
    layer->forward(x.data() + (n - 1) * S::size, y_last.data(), 1, ws_one, Pass::inference);
    for (std::size_t i = 0; i < S::size; ++i) REQUIRE(y_last[i] == y[(n - 1) * S::size + i]);
    // And it is not the training output (which uses the batch's statistics).
    layer->forward(x.data(), y_training.data(), n, ws, Pass::training);
    double largest_difference = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i)
        largest_difference = std::max(largest_difference, static_cast<double>(std::abs(y[i] - y_training[i])));
    CHECK(largest_difference > 0.1);
}

// ---- backward ----

// Analytic gradients against a naive reference (from the definition, in double) and against finite
// differences, with random gamma and beta (the generic checker leaves them at 1 and 0).
template <class S>
void check_gradients_with_random_affine(std::size_t n, std::uint64_t seed_value) {
    using L = BatchNorm<>::bind<S>;
    constexpr std::size_t channels = S::dims[S::rank - 1];
    const std::size_t rows = n * S::size / channels;
    const double m = static_cast<double>(rows);
    INFO(S::name(), ", n = ", n);
    Rng rng(seed_value);
    auto layer = std::make_unique<L>();
    layer->initialize(rng, Initializer::glorot_uniform);
    randomize_affine(*layer, rng);
    Buffer x(n * S::size), y(n * S::size), r(n * S::size), dx(n * S::size);
    fill_channels(x, channels, rng, 1.0f, 0.5f, 1.0f);
    testing::fill_uniform(r, rng);
    typename L::workspace ws(n);
    auto loss = [&] {
        layer->forward(x.data(), y.data(), n, ws, Pass::training);
        return testing::weighted_sum(y, r);
    };
    loss();
    layer->backward(x.data(), y.data(), r.data(), dx.data(), n, ws);

    // dbeta = sum dy, dgamma = sum dy xhat, dx = gamma / (m sigma) (m dy - sum dy - xhat sum dy xhat).
    const Statistics stats = reference_statistics(x.data(), rows, channels);
    for (std::size_t c = 0; c < channels; ++c) {
        const double sigma = std::sqrt(stats.variance[c] + 1e-3);
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (std::size_t row = 0; row < rows; ++row) {
            const std::size_t i = row * channels + c;
            sum_dy += r[i];
            sum_dy_xhat += r[i] * (x[i] - stats.mean[c]) / sigma;
        }
        CHECK(layer->beta_gradient.data()[c] == doctest::Approx(sum_dy).epsilon(1e-5));
        CHECK(layer->gamma_gradient.data()[c] == doctest::Approx(sum_dy_xhat).epsilon(1e-5));
        const double g = layer->gamma.data()[c];
        for (std::size_t row = 0; row < rows; ++row) {
            const std::size_t i = row * channels + c;
            const double xhat = (x[i] - stats.mean[c]) / sigma;
            const double expected = g / (m * sigma) * (m * r[i] - sum_dy - xhat * sum_dy_xhat);
            REQUIRE(dx[i] == doctest::Approx(expected).epsilon(1e-4));
        }
    }

    const std::vector<float> dgamma(layer->gamma_gradient.begin(), layer->gamma_gradient.end());
    const std::vector<float> dbeta(layer->beta_gradient.begin(), layer->beta_gradient.end());
    testing::GradientTolerance tol;
    tol.step = 1e-3f;
    testing::check_coordinates("input", std::span<float>(x), std::span<const float>(dx), loss, rng, tol);
    testing::check_coordinates("gamma", flat(layer->gamma), dgamma, loss, rng, tol);
    testing::check_coordinates("beta", flat(layer->beta), dbeta, loss, rng, tol);
}

}  // namespace

TEST_CASE("BatchNorm training forward matches the definition on features (rank 1)") {
    check_training_forward<BatchNorm<>, Shape<1>>(2, 1, 1e-3);
    check_training_forward<BatchNorm<>, Shape<1>>(5, 2, 1e-3);
    check_training_forward<BatchNorm<>, Shape<7>>(2, 3, 1e-3);
    check_training_forward<BatchNorm<>, Shape<7>>(5, 4, 1e-3);
    check_training_forward<BatchNorm<>, Shape<33>>(2, 5, 1e-3);
    check_training_forward<BatchNorm<>, Shape<33>>(5, 6, 1e-3);
    check_training_forward<BatchNorm<>, Shape<128>>(64, 7, 1e-3);
}

TEST_CASE("BatchNorm training forward matches the definition on images (rank 3)") {
    check_training_forward<BatchNorm<>, Shape<3, 5, 1>>(1, 11, 1e-3);
    check_training_forward<BatchNorm<>, Shape<3, 5, 1>>(2, 12, 1e-3);
    check_training_forward<BatchNorm<>, Shape<5, 3, 3>>(2, 13, 1e-3);
    check_training_forward<BatchNorm<>, Shape<7, 5, 31>>(3, 14, 1e-3);
    check_training_forward<BatchNorm<>, Shape<1, 1, 4>>(3, 15, 1e-3);
    check_training_forward<BatchNorm<>, Shape<9, 7, 32>>(2, 16, 1e-3);
}

TEST_CASE("BatchNorm statistics stay accurate over many values with a large mean") {
    // 64 x 28 x 28 values per channel around 1000 with a spread of 0.01: a float sum would lose the mean, and
    // with it the variance.
    using L = BatchNorm<>::bind<Shape<28, 28, 3>>;
    constexpr std::size_t n = 64, rows = n * 28 * 28;
    Rng rng(17);
    auto layer = std::make_unique<L>();
    layer->initialize(rng, Initializer::glorot_uniform);
    Buffer x(n * L::input_shape::size), y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = 1000.0f + static_cast<float>(i % 3) + 0.01f * rng.uniform(-1, 1);
    L::workspace ws(n);
    layer->forward(x.data(), y.data(), n, ws, Pass::training);
    const Statistics stats = reference_statistics(x.data(), rows, 3);
    for (std::size_t c = 0; c < 3; ++c) {
        CHECK(ws.mean[c] == doctest::Approx(stats.mean[c]).epsilon(1e-7));
        CHECK(ws.variance[c] == doctest::Approx(stats.variance[c]).epsilon(1e-4));
    }
    // The output: the float mean kept for backward is off by up to half an ulp of 1000 (2^-15), magnified by
    // 1 / sqrt(var + eps) ~ 31; nothing else should add more than float rounding.
    const auto expected = reference_normalize(x.data(), rows, 3, layer->gamma.data(), layer->beta.data(), stats.mean,
                                              stats.variance, 1e-3);
    for (std::size_t i = 0; i < y.size(); ++i) {
        const double allowed = 0x1p-15 / std::sqrt(stats.variance[i % 3] + 1e-3) + 1e-5;
        REQUIRE(std::abs(y[i] - expected[i]) <= allowed);
    }
}

TEST_CASE("BatchNorm inference uses the running statistics") {
    check_inference_forward<Shape<1>>(3, 21);
    check_inference_forward<Shape<33>>(4, 22);
    check_inference_forward<Shape<5, 3, 7>>(2, 23);
    check_inference_forward<Shape<4, 4, 32>>(3, 24);
}

TEST_CASE("BatchNorm gradients match finite differences (generic checker)") {
    testing::check_layer_gradients<BatchNorm<>::bind<Shape<7>>>(5, 31);
    testing::check_layer_gradients<BatchNorm<>::bind<Shape<33>>>(4, 32);
    testing::check_layer_gradients<BatchNorm<>::bind<Shape<1>>>(6, 33);
    testing::check_layer_gradients<BatchNorm<>::bind<Shape<3, 5, 2>>>(2, 34);
    testing::check_layer_gradients<BatchNorm<>::bind<Shape<4, 3, 31>>>(1, 35);
    testing::check_layer_gradients<PyTorchBatchNorm::bind<Shape<5, 3, 3>>>(2, 36);
}

TEST_CASE("BatchNorm gradients with random gamma and beta match the definition and finite differences") {
    check_gradients_with_random_affine<Shape<7>>(5, 41);
    check_gradients_with_random_affine<Shape<33>>(3, 42);
    check_gradients_with_random_affine<Shape<1>>(4, 43);
    check_gradients_with_random_affine<Shape<3, 5, 2>>(2, 44);
    check_gradients_with_random_affine<Shape<5, 3, 31>>(1, 45);
}

TEST_CASE("BatchNorm parameter gradients accumulate, overwrite, or go to a target; dx may be skipped") {
    using L = BatchNorm<>::bind<Shape<3, 2, 5>>;
    constexpr std::size_t n = 3, size = L::input_shape::size, channels = 5;
    Rng rng(51);
    L layer;
    layer.initialize(rng, Initializer::glorot_uniform);
    randomize_affine(layer, rng);
    Buffer x(n * size), y(n * size), dy(n * size), dx(n * size), dx_again(n * size);
    fill_channels(x, channels, rng);
    testing::fill_uniform(dy, rng);
    L::workspace ws(n);
    layer.forward(x.data(), y.data(), n, ws, Pass::training);
    layer.backward(x.data(), y.data(), dy.data(), dx.data(), n, ws);
    const std::vector<float> dgamma(layer.gamma_gradient.begin(), layer.gamma_gradient.end());
    const std::vector<float> dbeta(layer.beta_gradient.begin(), layer.beta_gradient.end());
    for (float g : dbeta) CHECK(g != 0.0f);

    // Accumulated: twice the gradient after a second backward, the same dx; dx == null skips only dx.
    layer.backward(x.data(), y.data(), dy.data(), dx_again.data(), n, ws);
    for (std::size_t c = 0; c < channels; ++c) {
        CHECK(layer.gamma_gradient.data()[c] == doctest::Approx(2 * dgamma[c]));
        CHECK(layer.beta_gradient.data()[c] == doctest::Approx(2 * dbeta[c]));
    }
    for (std::size_t i = 0; i < dx.size(); ++i) REQUIRE(dx_again[i] == dx[i]);
    layer.backward(x.data(), y.data(), dy.data(), nullptr, n, ws);
    for (std::size_t c = 0; c < channels; ++c) CHECK(layer.beta_gradient.data()[c] == doctest::Approx(3 * dbeta[c]));

    // Overwritten, in the layer's own tensors.
    layer.backward(x.data(), y.data(), dy.data(), nullptr, n, ws, GradientTarget{nullptr, GradientUpdate::overwrite});
    for (std::size_t c = 0; c < channels; ++c) {
        CHECK(layer.gamma_gradient.data()[c] == doctest::Approx(dgamma[c]));
        CHECK(layer.beta_gradient.data()[c] == doctest::Approx(dbeta[c]));
    }

    // To a destination, gamma then beta (visit_parameters order); the layer's own gradients untouched.
    const auto own_before = bits_of(flat(layer.gamma_gradient));
    std::vector<float> destination(2 * channels, 7.0f);
    layer.backward(x.data(), y.data(), dy.data(), nullptr, n, ws,
                   GradientTarget{destination.data(), GradientUpdate::overwrite});
    for (std::size_t c = 0; c < channels; ++c) {
        CHECK(destination[c] == doctest::Approx(dgamma[c]));
        CHECK(destination[channels + c] == doctest::Approx(dbeta[c]));
    }
    layer.backward(x.data(), y.data(), dy.data(), nullptr, n, ws,
                   GradientTarget{destination.data(), GradientUpdate::accumulate});
    for (std::size_t c = 0; c < channels; ++c) CHECK(destination[channels + c] == doctest::Approx(2 * dbeta[c]));
    CHECK(bits_of(flat(layer.gamma_gradient)) == own_before);

    // The views: names, shapes, order, and where they point.
    std::vector<std::string> names;
    layer.visit_parameters([&](const ParameterView& p) {
        names.emplace_back(p.name);
        REQUIRE(p.shape.size() == 1);
        CHECK(p.shape[0] == channels);
        CHECK(p.value.size() == channels);
        CHECK(p.gradient.size() == channels);
    });
    layer.visit_state([&](const StateView& s) {
        names.emplace_back(s.name);
        REQUIRE(s.shape.size() == 1);
        CHECK(s.shape[0] == channels);
        CHECK(s.value.size() == channels);
    });
    CHECK(names == std::vector<std::string>{"gamma", "beta", "running_mean", "running_var"});
    std::vector<float*> where;
    layer.visit_parameters([&](const ParameterView& p) { where.push_back(p.value.data()); });
    layer.visit_state([&](const StateView& s) { where.push_back(s.value.data()); });
    CHECK(where == std::vector<float*>{layer.gamma.data(), layer.beta.data(), layer.running_mean.data(),
                                       layer.running_var.data()});
}

TEST_CASE("BatchNorm initialises gamma 1, beta 0, running mean 0, running variance 1, gradients 0") {
    using L = BatchNorm<>::bind<Shape<4, 4, 6>>;
    L layer;
    Rng rng(61);
    testing::fill_uniform(flat(layer.gamma), rng);
    testing::fill_uniform(flat(layer.beta), rng);
    testing::fill_uniform(flat(layer.running_mean), rng);
    testing::fill_uniform(flat(layer.running_var), rng);
    testing::fill_uniform(flat(layer.gamma_gradient), rng);
    testing::fill_uniform(flat(layer.beta_gradient), rng);
    layer.initialize(rng, Initializer::he_normal);
    for (std::size_t c = 0; c < 6; ++c) {
        CHECK(layer.gamma.data()[c] == 1.0f);
        CHECK(layer.beta.data()[c] == 0.0f);
        CHECK(layer.running_mean.data()[c] == 0.0f);
        CHECK(layer.running_var.data()[c] == 1.0f);
        CHECK(layer.gamma_gradient.data()[c] == 0.0f);
        CHECK(layer.beta_gradient.data()[c] == 0.0f);
    }
}

TEST_CASE("BatchNorm commits the batch statistics to the running ones in backward, once per training forward") {
    auto check = [](auto spec, double momentum, double eps, std::uint64_t seed_value) {
        using L = typename decltype(spec)::template bind<Shape<3, 4, 5>>;
        constexpr std::size_t n = 3, channels = 5, size = L::input_shape::size, rows = n * 12;
        INFO(L::name());
        Rng rng(seed_value);
        auto layer = std::make_unique<L>();
        layer->initialize(rng, Initializer::glorot_uniform);
        randomize_affine(*layer, rng);
        testing::fill_uniform(flat(layer->running_mean), rng, -1.0f, 1.0f);
        testing::fill_uniform(flat(layer->running_var), rng, 0.5f, 2.0f);
        const auto old_mean = as_doubles(flat(layer->running_mean));
        const auto old_var = as_doubles(flat(layer->running_var));
        Buffer x(n * size), y(n * size), dy(n * size), dx(n * size);
        fill_channels(x, channels, rng);
        testing::fill_uniform(dy, rng);
        typename L::workspace ws(n);
        layer->forward(x.data(), y.data(), n, ws, Pass::training);
        // Epsilon takes effect in the forward pass.
        const Statistics stats = reference_statistics(x.data(), rows, channels);
        const auto expected = reference_normalize(x.data(), rows, channels, layer->gamma.data(), layer->beta.data(),
                                                  stats.mean, stats.variance, eps);
        for (std::size_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == doctest::Approx(expected[i]).epsilon(1e-5));
        // Forward changed nothing; backward commits, with the unbiased variance.
        for (std::size_t c = 0; c < channels; ++c)
            CHECK(layer->running_mean.data()[c] == static_cast<float>(old_mean[c]));
        layer->backward(x.data(), y.data(), dy.data(), dx.data(), n, ws);
        std::vector<double> want_mean(channels), want_var(channels);
        for (std::size_t c = 0; c < channels; ++c) {
            want_mean[c] = momentum * old_mean[c] + (1 - momentum) * stats.mean[c];
            want_var[c] = momentum * old_var[c] + (1 - momentum) * stats.variance[c] * rows / (rows - 1.0);
            CHECK(layer->running_mean.data()[c] == doctest::Approx(want_mean[c]).epsilon(1e-6));
            CHECK(layer->running_var.data()[c] == doctest::Approx(want_var[c]).epsilon(1e-6));
        }
        // A second backward without a forward does not commit again.
        const auto mean_once = bits_of(flat(layer->running_mean));
        const auto var_once = bits_of(flat(layer->running_var));
        layer->backward(x.data(), y.data(), dy.data(), dx.data(), n, ws);
        CHECK(bits_of(flat(layer->running_mean)) == mean_once);
        CHECK(bits_of(flat(layer->running_var)) == var_once);
        // An inference forward then backward commits nothing either.
        layer->forward(x.data(), y.data(), n, ws, Pass::inference);
        layer->backward(x.data(), y.data(), dy.data(), nullptr, n, ws);
        CHECK(bits_of(flat(layer->running_mean)) == mean_once);
        // A new training forward commits again: the same batch moves the statistics once more.
        layer->forward(x.data(), y.data(), n, ws, Pass::training);
        layer->backward(x.data(), y.data(), dy.data(), nullptr, n, ws);
        for (std::size_t c = 0; c < channels; ++c) {
            const double twice_mean = momentum * want_mean[c] + (1 - momentum) * stats.mean[c];
            const double twice_var = momentum * want_var[c] + (1 - momentum) * stats.variance[c] * rows / (rows - 1.0);
            CHECK(layer->running_mean.data()[c] == doctest::Approx(twice_mean).epsilon(1e-6));
            CHECK(layer->running_var.data()[c] == doctest::Approx(twice_var).epsilon(1e-6));
        }
    };
    check(BatchNorm<>{}, 0.99, 1e-3, 71);
    check(PyTorchBatchNorm{}, 0.9, 1e-5, 72);
    check(BatchNorm<std::ratio<0>, std::ratio<1, 10>>{}, 0.0, 0.1, 73);  // momentum 0: the last batch's
}

TEST_CASE("BatchNorm's epsilon matters where the variance is small") {
    // Variance ~3e-5 per channel: epsilon 1e-3 shrinks the output to ~0.18 of its spread, 1e-5 to ~0.88.
    constexpr std::size_t n = 8, channels = 4, rows = n;
    Rng rng(75);
    Buffer x(n * channels), keras_y(x.size()), torch_y(x.size());
    for (float& v : x) v = 0.5f + 0.01f * rng.uniform(-1, 1);
    BatchNorm<>::bind<Shape<channels>> keras;
    PyTorchBatchNorm::bind<Shape<channels>> torch;
    keras.initialize(rng, Initializer::glorot_uniform);
    torch.initialize(rng, Initializer::glorot_uniform);
    BatchNorm<>::bind<Shape<channels>>::workspace keras_ws(n);
    PyTorchBatchNorm::bind<Shape<channels>>::workspace torch_ws(n);
    keras.forward(x.data(), keras_y.data(), n, keras_ws, Pass::training);
    torch.forward(x.data(), torch_y.data(), n, torch_ws, Pass::training);
    const Statistics stats = reference_statistics(x.data(), rows, channels);
    const auto keras_expected = reference_normalize(x.data(), rows, channels, keras.gamma.data(), keras.beta.data(),
                                                    stats.mean, stats.variance, 1e-3);
    const auto torch_expected = reference_normalize(x.data(), rows, channels, torch.gamma.data(), torch.beta.data(),
                                                    stats.mean, stats.variance, 1e-5);
    double difference = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        REQUIRE(keras_y[i] == doctest::Approx(keras_expected[i]).epsilon(1e-4));
        REQUIRE(torch_y[i] == doctest::Approx(torch_expected[i]).epsilon(1e-4));
        difference = std::max(difference, static_cast<double>(std::abs(keras_y[i] - torch_y[i])));
    }
    CHECK(difference > 0.5);
    CHECK(BatchNorm<>::bind<Shape<4>>::name() == "BatchNorm<99,100,1,1000>");
    CHECK(PyTorchBatchNorm::bind<Shape<4>>::name() == "BatchNorm<9,10,1,100000>");
}

TEST_CASE("BatchNorm on a batch of one feature vector: output beta, running variance without a division by 0") {
    using L = BatchNorm<>::bind<Shape<6>>;
    Rng rng(81);
    L layer;
    layer.initialize(rng, Initializer::glorot_uniform);
    randomize_affine(layer, rng);
    Buffer x(6), y(6), dy(6), dx(6);
    testing::fill_uniform(x, rng, -3.0f, 3.0f);
    testing::fill_uniform(dy, rng);
    L::workspace ws(1);
    layer.forward(x.data(), y.data(), 1, ws, Pass::training);
    for (std::size_t c = 0; c < 6; ++c) CHECK(y[c] == layer.beta.data()[c]);
    layer.backward(x.data(), y.data(), dy.data(), dx.data(), 1, ws);
    for (std::size_t c = 0; c < 6; ++c) {
        CHECK(dx[c] == 0.0f);  // the output does not depend on x
        CHECK(layer.running_mean.data()[c] == doctest::Approx(0.01 * x[c]).epsilon(1e-6));
        CHECK(layer.running_var.data()[c] == doctest::Approx(0.99).epsilon(1e-6));
    }
}

TEST_CASE("a network with BatchNorm has correct gradients") {
    using Cnn =
        Sequential<Input<5, 4, 2>, Conv2D<3, 3, 2, 3, 1, Padding::same>, BatchNorm<>, ReLU, Flatten, Dense<60, 4>>;
    using Mlp = Sequential<Input<6>, Dense<6, 5>, BatchNorm<>, ReLU, Dense<5, 3>>;
    using First = Sequential<Input<4, 4, 3>, BatchNorm<>, Flatten, Dense<48, 3>>;  // dx through BatchNorm's input
    auto cnn = std::make_unique<Cnn>(seed{91});
    auto mlp = std::make_unique<Mlp>(seed{92});
    auto first = std::make_unique<First>(seed{93});
    testing::check_network_gradients(*cnn, 3, 94);
    testing::check_network_gradients(*mlp, 6, 95);
    testing::check_network_gradients(*first, 2, 96);
    // Random gamma and beta as well.
    Rng rng(97);
    auto& bn = cnn->layer<1>();
    randomize_affine(bn, rng);
    testing::check_network_gradients(*cnn, 4, 98);
}

TEST_CASE("a trained network with BatchNorm saves and loads its running statistics") {
    using Net =
        Sequential<Input<6, 6, 2>, Conv2D<3, 3, 2, 4, 1, Padding::same>, BatchNorm<>, ReLU, Flatten, Dense<144, 3>>;
    using WithoutBatchNorm =
        Sequential<Input<6, 6, 2>, Conv2D<3, 3, 2, 4, 1, Padding::same>, ReLU, Flatten, Dense<144, 3>>;
    using OtherBatchNorm = Sequential<Input<6, 6, 2>, Conv2D<3, 3, 2, 4, 1, Padding::same>, PyTorchBatchNorm, ReLU,
                                      Flatten, Dense<144, 3>>;
    static_assert(Net::state_count == 8);
    constexpr std::size_t n = 16;
    Rng rng(101);
    Buffer images(n * Net::input_shape::size);
    testing::fill_uniform(images, rng, 0.0f, 1.0f);
    std::vector<std::uint8_t> labels(n);
    for (auto& label : labels) label = static_cast<std::uint8_t>(rng.below(3));

    auto net = std::make_unique<Net>(seed{1});
    {
        StepPlan plan(*net);
        Adam opt;
        double first_loss = 0.0, last_loss = 0.0;
        for (int step = 0; step < 20; ++step) {
            const BatchLoss loss = train_step(plan, opt, images.data(), labels.data(), n);
            if (step == 0) first_loss = loss.loss_sum / n;
            last_loss = loss.loss_sum / n;
        }
        INFO("loss ", first_loss, " -> ", last_loss);
        CHECK(last_loss < first_loss);
    }
    const std::vector<float> state = state_values(*net);
    REQUIRE(state.size() == 8);
    for (std::size_t c = 0; c < 4; ++c) {
        CHECK(state[c] != 0.0f);      // running_mean moved from 0
        CHECK(state[4 + c] != 1.0f);  // running_var moved from 1
    }
    const std::span<const float> trained_output = net->forward(images.data(), n);
    const std::vector<float> output(trained_output.begin(), trained_output.end());

    test::TempDir dir;
    const auto file = dir / "batch_norm.ctnn";
    io::save(*net, file);
    auto loaded = std::make_unique<Net>(seed{2});
    {
        const auto fresh = net->forward(images.data(), n);  // recomputed: the span is the workspace's
        const std::vector<float> mine(fresh.begin(), fresh.end());
        const auto other = loaded->forward(images.data(), n);
        CHECK(bits_of(other) != bits_of(mine));  // so that the comparison after loading means something
        CHECK(state_values(*loaded) != state);
    }
    io::load(*loaded, file);
    CHECK(bits_of(loaded->forward(images.data(), n)) == bits_of(output));
    CHECK(bits_of(state_values(*loaded)) == bits_of(state));
    CHECK(bits_of(parameter_values(*loaded)) == bits_of(parameter_values(*net)));

    // Another architecture, with or without a BatchNorm of other hyper-parameters, refuses the file.
    auto without = std::make_unique<WithoutBatchNorm>(seed{3});
    CHECK_THROWS_AS(io::load(*without, file), io::format_error);
    auto other = std::make_unique<OtherBatchNorm>(seed{4});
    CHECK_THROWS_AS(io::load(*other, file), io::format_error);
    // The table: the parameters (Conv2D's two, gamma, beta, Dense's two), then the state.
    const io::ModelFileHeader header = io::read_header(file);
    REQUIRE(header.tensors.size() == 8);
    CHECK(header.tensors[2].name == "gamma");
    CHECK(header.tensors[2].layer_index == 1);
    CHECK(header.tensors[3].name == "beta");
    CHECK(header.tensors[6].name == "running_mean");
    CHECK(header.tensors[6].layer_index == 1);
    CHECK(header.tensors[7].name == "running_var");
    CHECK(header.tensors[7].dims == std::vector<std::uint64_t>{4});
}

#ifdef _OPENMP
TEST_CASE("training a network with BatchNorm does not depend on the thread count") {
    // Large enough that the same network without BatchNorm would be split by samples on two threads.
    using Net = Sequential<Input<784>, Dense<784, 128>, BatchNorm<>, ReLU, Dense<128, 10>>;
    using Plain = Sequential<Input<784>, Dense<784, 128>, ReLU, Dense<128, 10>>;
    constexpr std::size_t n = 256;
    Rng rng(111);
    Buffer images(n * 784);
    testing::fill_uniform(images, rng, 0.0f, 1.0f);
    std::vector<std::uint8_t> labels(n);
    for (auto& label : labels) label = static_cast<std::uint8_t>(rng.below(10));

    struct Run {
        std::vector<float> parameters, state, batch_mean, batch_variance;
    };
    auto run = [&](int threads) {
        set_num_threads(threads);
        if (threads > 1) {
            CHECK(StepPlan<Plain>::parts_for(n) == 2);
            CHECK(StepPlan<Net>::parts_for(n) == 1);
        }
        auto net = std::make_unique<Net>(seed{5});
        StepPlan plan(*net);
        SGD opt(0.1f);
        for (int step = 0; step < 3; ++step) train_step(plan, opt, images.data(), labels.data(), n);
        set_num_threads(0);
        const auto& ws = net->workspace().layer_workspace<1>();  // the last step's batch statistics
        return Run{parameter_values(*net), state_values(*net), std::vector<float>(ws.mean.begin(), ws.mean.end()),
                   std::vector<float>(ws.variance.begin(), ws.variance.end())};
    };
    const Run serial = run(1);
    const Run parallel = run(2);
    auto close = [](const std::vector<float>& a, const std::vector<float>& b, const std::string& what) {
        REQUIRE(a.size() == b.size());
        std::size_t far = 0;
        for (std::size_t i = 0; i < a.size(); ++i)
            far += std::abs(a[i] - b[i]) > 1e-6f * std::max(std::abs(a[i]), std::abs(b[i])) + 1e-12f;
        INFO(what, ": ", far, " of ", a.size(), " values differ");
        CHECK(far == 0);
    };
    close(serial.batch_mean, parallel.batch_mean, "batch mean");
    close(serial.batch_variance, parallel.batch_variance, "batch variance");
    close(serial.state, parallel.state, "running statistics");
    close(serial.parameters, parallel.parameters, "parameters");
    // The statistics did move: three commits of 1% each.
    for (std::size_t c = 0; c < 128; ++c) CHECK(serial.state[c] != 0.0f);
}
#endif
