#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "ctnn/layers/dense.hpp"
#include "gradient_check.hpp"
#include "reference_layers.hpp"

using namespace ctnn;

static_assert(Dense<784, 128>::parameter_count == 100'480);  // 784*128 weights + 128 biases
static_assert(Dense<128, 10>::parameter_count == 1'290);
static_assert(std::is_same_v<Dense<784, 128>::bind<Shape<784>>::output_shape, Shape<128>>);
static_assert(BoundLayer<Dense<7, 3>::bind<Shape<7>>>);

namespace {

template <std::size_t In, std::size_t Out>
void check_dense_forward(std::size_t n, std::uint64_t seed_value) {
    using L = typename Dense<In, Out>::template bind<Shape<In>>;
    Rng rng(seed_value);
    auto layer = std::make_unique<L>();
    layer->initialize(rng, Initializer::glorot_uniform);
    testing::fill_uniform(flat(layer->bias), rng);
    Buffer x(n * In), y(n * Out);
    testing::fill_uniform(x, rng);
    typename L::workspace ws(n);
    layer->forward(x.data(), y.data(), n, ws, Pass::inference);
    const auto expected = reference::dense(x.data(), layer->weights.data(), layer->bias.data(), n, In, Out);
    for (std::size_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == doctest::Approx(expected[i]).epsilon(1e-4));
}

// dx(i, j) = sum over p of dy(i, p) W(j, p), in double.
double reference_gradient(const Buffer& dy, const float* w, std::size_t i, std::size_t j, std::size_t out) {
    double sum = 0.0;
    for (std::size_t p = 0; p < out; ++p) sum += static_cast<double>(dy[i * out + p]) * w[j * out + p];
    return sum;
}

}  // namespace

TEST_CASE("Dense forward matches the naive product on awkward sizes") {
    check_dense_forward<1, 1>(1, 1);
    check_dense_forward<7, 33>(5, 2);
    check_dense_forward<127, 31>(3, 3);
    check_dense_forward<33, 7>(1, 4);
    check_dense_forward<784, 128>(33, 5);
    check_dense_forward<128, 10>(32, 6);
}

TEST_CASE("Dense gradients match finite differences") {
    testing::check_layer_gradients<Dense<7, 5>::bind<Shape<7>>>(3, 11);
    testing::check_layer_gradients<Dense<33, 31>::bind<Shape<33>>>(5, 12);
    testing::check_layer_gradients<Dense<1, 1>::bind<Shape<1>>>(1, 13);
}

TEST_CASE("Dense gradients accumulate across backward calls") {
    using L = Dense<4, 3>::bind<Shape<4>>;
    Rng rng(3);
    L layer;
    layer.initialize(rng, Initializer::glorot_uniform);
    Buffer x(2 * 4), dy(2 * 3), y(2 * 3);
    testing::fill_uniform(x, rng);
    testing::fill_uniform(dy, rng);
    L::workspace ws(2);
    layer.forward(x.data(), y.data(), 2, ws, Pass::training);
    layer.backward(x.data(), y.data(), dy.data(), nullptr, 2, ws);
    const auto once = layer.weights_gradient;
    layer.backward(x.data(), y.data(), dy.data(), nullptr, 2, ws);
    for (std::size_t i = 0; i < once.size(); ++i)
        CHECK(layer.weights_gradient.data()[i] == doctest::Approx(2 * once.data()[i]));
}

TEST_CASE("Dense initialisers: Glorot-uniform bounds and He-normal spread, zero biases") {
    using L = Dense<784, 128>::bind<Shape<784>>;
    auto layer = std::make_unique<L>();
    Rng rng(5);
    layer->initialize(rng, Initializer::glorot_uniform);
    const float limit = std::sqrt(6.0f / (784 + 128));
    double sum_sq = 0;
    for (float w : layer->weights) {
        REQUIRE(std::abs(w) <= limit);
        sum_sq += static_cast<double>(w) * w;
    }
    // Variance of U(-a, a) is a^2 / 3.
    CHECK(sum_sq / layer->weights.size() == doctest::Approx(limit * limit / 3.0).epsilon(0.02));
    for (float b : layer->bias) CHECK(b == 0.0f);

    layer->initialize(rng, Initializer::he_normal);
    sum_sq = 0;
    for (float w : layer->weights) sum_sq += static_cast<double>(w) * w;
    CHECK(sum_sq / layer->weights.size() == doctest::Approx(2.0 / 784).epsilon(0.02));
}

// With more weight rows than samples the input gradient is computed transposed (W dy^T, then transposed): the
// same bits as dy W^T directly, whole or by ranges of rows, with a ragged 16 x 16 edge in both directions.
TEST_CASE("Dense input gradient: the transposed form gives dy W^T bit for bit, by ranges of rows too") {
    constexpr std::size_t in = 37, out = 21, n = 19;
    using L = Dense<in, out>::bind<Shape<in>>;
    Rng rng(8);
    auto layer = std::make_unique<L>();
    layer->initialize(rng, Initializer::glorot_uniform);
    Buffer x(n * in), dy(n * out), dx(n * in), direct(n * in);
    testing::fill_uniform(x, rng);
    testing::fill_uniform(dy, rng);
    kernels::gemm(kernels::Trans::no, kernels::Trans::yes, n, in, out, dy.data(), out, layer->weights.data(), out,
                  direct.data(), in);
    const GradientTarget target{nullptr, GradientUpdate::overwrite};
    layer->backward_rows(x.data(), dy.data(), dx.data(), n, Range{0, in}, target);
    CHECK(std::memcmp(dx.data(), direct.data(), dx.size() * sizeof(float)) == 0);
    std::fill(dx.begin(), dx.end(), -1.0f);
    for (const Range rows : {Range{0, 3}, Range{3, 30}, Range{30, in}})  // fewer rows than samples, then more
        layer->backward_rows(x.data(), dy.data(), dx.data(), n, rows, target);
    CHECK(std::memcmp(dx.data(), direct.data(), dx.size() * sizeof(float)) == 0);
    for (std::size_t i = 0; i < n * in; ++i)
        REQUIRE(dx[i] == doctest::Approx(reference_gradient(dy, layer->weights.data(), i / in, i % in, out)));
}

// backward_rows_into (the fused update's form) writes a range's weight gradient to the caller's buffer: the same
// bits as backward_rows writes into the layer's gradient, the same input gradient, and the layer's own gradient
// left untouched.
TEST_CASE("Dense backward_rows_into: a range's weight gradient in the caller's buffer, bit for bit") {
    constexpr std::size_t in = 45, out = 40, n = 11;
    using L = Dense<in, out>::bind<Shape<in>>;
    Rng rng(9);
    auto layer = std::make_unique<L>();
    layer->initialize(rng, Initializer::glorot_uniform);
    Buffer x(n * in), dy(n * out), dx(n * in), dx_into(n * in);
    testing::fill_uniform(x, rng);
    testing::fill_uniform(dy, rng);
    layer->backward_rows(x.data(), dy.data(), dx.data(), n, Range{0, in}, GradientTarget{nullptr,
                                                                                       GradientUpdate::overwrite});
    const std::vector<float> expected(layer->weights_gradient.begin(), layer->weights_gradient.end());
    std::fill(layer->weights_gradient.begin(), layer->weights_gradient.end(), 7.0f);
    for (const Range rows : {Range{0, 5}, Range{5, 38}, Range{38, in}}) {
        INFO("rows " << rows.begin << ".." << rows.end);
        Buffer dw_rows((rows.end - rows.begin) * out, -1.0f);
        layer->backward_rows_into(x.data(), dy.data(), dx_into.data(), n, rows, dw_rows.data());
        CHECK(std::memcmp(dw_rows.data(), expected.data() + rows.begin * out, dw_rows.size() * sizeof(float)) == 0);
    }
    CHECK(std::memcmp(dx_into.data(), dx.data(), dx.size() * sizeof(float)) == 0);
    for (const float g : layer->weights_gradient) REQUIRE(g == 7.0f);
}
