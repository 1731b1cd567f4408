// Residual<Layers...>: y = x + f(x). Checked against naive loops (a Dense inside), against the same inner layers
// run as a plain Sequential, by finite differences (nested blocks too), and through a save/load round trip.

#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <vector>

#include "ctnn/ctnn.hpp"
#include "gradient_check.hpp"
#include "idx_writer.hpp"  // TempDir
#include "network_values.hpp"
#include "synthetic_data.hpp"
#include "train_and_reload.hpp"

using namespace ctnn;

namespace {

using ConvBlock = Residual<Conv2D<3, 3, 4, 4, 1, Padding::same>, ReLU, Conv2D<3, 3, 4, 4, 1, Padding::same>>;
using Bound = ConvBlock::bind<Shape<7, 5, 4>>;

static_assert(std::is_same_v<Bound::output_shape, Shape<7, 5, 4>>);
static_assert(Bound::parameter_count == 2 * (3 * 3 * 4 * 4 + 4));
static_assert(Bound::state_count == 0);
// Nesting: the outer block's parameters are its inner layers', the inner block's among them.
using Nested = Residual<ConvBlock, ReLU, Conv2D<1, 1, 4, 4>>;
static_assert(Nested::bind<Shape<7, 5, 4>>::parameter_count == Bound::parameter_count + 4 * 4 + 4);
// BatchNorm inside makes the block couple its batch, as BatchNorm itself does.
static_assert(CouplesBatch<Residual<Dense<6, 6>, BatchNorm<>>::bind<Shape<6>>>);
static_assert(!CouplesBatch<Bound>);
static_assert(Residual<Dense<6, 6>, BatchNorm<>>::bind<Shape<6>>::state_count == 12);

// The contract issue's network: PyTorch 1.13 reports 37,962 trainable parameters for the same layers, Keras 320
// non-trainable (BatchNorm's running statistics).
using Block = Residual<Conv2D<3, 3, 32, 32, 1, Padding::same>, BatchNorm<>, ReLU,
                       Conv2D<3, 3, 32, 32, 1, Padding::same>, BatchNorm<>>;
using ResidualNet = Sequential<Input<28, 28, 1>, Conv2D<3, 3, 1, 32, 1, Padding::same>, BatchNorm<>, ReLU, Block, ReLU,
                               MaxPool2D<2>, Block, ReLU, GlobalAvgPool2D, Dense<32, 10>>;
static_assert(ResidualNet::parameter_count == 37'962);
static_assert(ResidualNet::state_count == 320);

}  // namespace

TEST_CASE("Residual forward is x + f(x): a Dense inside, against naive loops") {
    constexpr std::size_t features = 7, n = 3;
    using L = Residual<Dense<features, features>>::bind<Shape<features>>;
    auto layer = std::make_unique<L>();
    Rng rng(3);
    layer->initialize(rng, Initializer::glorot_uniform);
    auto& dense = std::get<0>(layer->layers);
    testing::fill_uniform(flat(dense.bias), rng);
    Buffer x(n * features), y(n * features);
    testing::fill_uniform(x, rng);
    L::workspace ws(n);
    layer->forward(x.data(), y.data(), n, ws, Pass::inference);
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t o = 0; o < features; ++o) {
            double expected = x[b * features + o] + static_cast<double>(dense.bias[o]);
            for (std::size_t i = 0; i < features; ++i)
                expected += static_cast<double>(x[b * features + i]) * dense.weights(i, o);
            CHECK(y[b * features + o] == doctest::Approx(expected).epsilon(1e-5));
        }
}

TEST_CASE("Residual forward equals its input plus the same layers run as a Sequential") {
    constexpr std::size_t n = 3;
    using Inner =
        Sequential<Input<7, 5, 4>, Conv2D<3, 3, 4, 4, 1, Padding::same>, ReLU, Conv2D<3, 3, 4, 4, 1, Padding::same>>;
    auto block = std::make_unique<Bound>();
    Rng rng(4);
    block->initialize(rng, Initializer::he_normal);
    auto inner = std::make_unique<Inner>(seed(9), n);
    // The same parameters in both, tensor by tensor.
    std::vector<std::span<float>> values;
    block->visit_parameters([&](const ParameterView& p) { values.push_back(p.value); });
    std::size_t k = 0;
    inner->visit_parameters([&](std::size_t, const ParameterView& p) {
        REQUIRE(p.value.size() == values[k].size());
        testing::fill_uniform(values[k], rng, -0.3f, 0.3f);
        std::copy(values[k].begin(), values[k].end(), p.value.begin());
        ++k;
    });
    REQUIRE(k == values.size());
    Buffer x(n * 7 * 5 * 4), y(n * 7 * 5 * 4);
    testing::fill_uniform(x, rng);
    Bound::workspace ws(n);
    block->forward(x.data(), y.data(), n, ws, Pass::inference);
    const std::span<const float> f = inner->forward(x.data(), n);
    for (std::size_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == x[i] + f[i]);
}

TEST_CASE("Residual gradients match finite differences, nested blocks included") {
    testing::check_layer_gradients<Bound>(2, 5, {.step = 1e-3f});
    testing::check_layer_gradients<Residual<Dense<6, 6>, ReLU, Dense<6, 6>>::bind<Shape<6>>>(3, 6, {.step = 1e-3f});
    using Net = Sequential<Input<6, 6, 4>, Nested, ReLU, Flatten, Dense<144, 3>>;
    auto net = std::make_unique<Net>(seed(7), 4);
    testing::check_network_gradients(*net, 3, 8, {.step = 1e-3f});
}

TEST_CASE("Residual without a needed input gradient still gives its parameters' gradients") {
    // The block is the first layer: nothing below needs dx, but its inner layers' gradients must be there.
    using Net = Sequential<Input<6>, Residual<Dense<6, 6>>, Dense<6, 2>>;
    auto net = std::make_unique<Net>(seed(2), 4);
    Rng rng(1);
    Buffer x(4 * 6), dy(4 * 2);
    testing::fill_uniform(x, rng);
    testing::fill_uniform(dy, rng);
    net->zero_gradients();
    net->forward(x.data(), 4, Pass::training);
    net->backward(x.data(), dy.data(), 4);
    const std::vector<float> gradients = testing::gradient_values(*net);
    // Dense<6,6> inside the block: its weight gradient is x^T dy_block, non-zero for random data.
    double inner_norm = 0.0;
    for (std::size_t i = 0; i < 36; ++i) inner_norm += std::abs(gradients[i]);
    CHECK(inner_norm > 0.0);
}

TEST_CASE("the contract issue's residual network trains, and a save/load round trip keeps its predictions") {
    constexpr std::size_t n = 16;
    const auto batch = testing::blobs(n, 28, 10, 21);
    auto net = std::make_unique<ResidualNet>(seed(1), n);
    const testing::TrainingRun run = testing::train_on_batch(*net, batch.images.data(), batch.labels.data(), n, 16,
                                                             3e-3f);
    CHECK(run.last_loss < run.first_loss);
    // The reload check below compares the running statistics too: training moved them away from a fresh
    // network's, so a file without them could not pass.
    const std::vector<float> trained_state = testing::state_values(*net);
    REQUIRE(trained_state.size() == ResidualNet::state_count);
    auto fresh = std::make_unique<ResidualNet>(seed(3), n);
    REQUIRE(testing::state_values(*fresh) != trained_state);
    Rng rng(22);
    testing::check_reload_is_bit_exact(*net, 2, rng);
}
