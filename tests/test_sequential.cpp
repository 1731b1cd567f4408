#include <doctest/doctest.h>

#include <memory>
#include <thread>

#include "gradient_check.hpp"
#include "reference_layers.hpp"
#include "seed_networks.hpp"

using namespace ctnn;
using ctnn::testing::SeedCnn;
using ctnn::testing::SeedMlp;

namespace {
constexpr auto shuffle = make_permutation<784>(42);
using ShuffledMlp = Sequential<Input<28, 28, 1>, Permute<shuffle>, Flatten, Dense<784, 128>, ReLU, Dense<128, 10>>;
// Every layer kind, with stride, padding and dropout, on awkward sizes.
using Mixed = Sequential<Input<9, 7, 2>, Conv2D<3, 3, 2, 5, 2, Padding::same>, ReLU, MaxPool2D<2>, Flatten,
                         Dropout<std::ratio<1, 5>>, Dense<20, 6>, ReLU, Dense<6, 3>, Softmax>;
}  // namespace

static_assert(ShuffledMlp::parameter_count == SeedMlp::parameter_count);
static_assert(ShuffledMlp::architecture_hash != SeedMlp::architecture_hash);
static_assert(SeedMlp::architecture_hash != SeedCnn::architecture_hash);
static_assert(std::is_same_v<Mixed::layer_type<0>::output_shape, Shape<5, 4, 5>>);
static_assert(std::is_same_v<Mixed::output_shape, Shape<3>>);
static_assert(Mixed::layer_count == 9);

TEST_CASE("The seed MLP's forward pass equals the naive layers chained by hand") {
    SeedMlp net{seed(3)};
    Rng rng(4);
    constexpr std::size_t n = 7;
    Buffer x(n * 784);
    testing::fill_uniform(x, rng, 0.0f, 1.0f);
    const auto out = net.forward(x.data(), n);
    const auto& d1 = net.layer<1>();
    const auto& d2 = net.layer<3>();
    auto hidden = reference::dense(x.data(), d1.weights.data(), d1.bias.data(), n, 784, 128);
    for (float& h : hidden) h = h > 0 ? h : 0;
    const auto expected = reference::dense(hidden.data(), d2.weights.data(), d2.bias.data(), n, 128, 10);
    REQUIRE(out.size() == expected.size());
    for (std::size_t i = 0; i < out.size(); ++i) CHECK(out[i] == doctest::Approx(expected[i]).epsilon(1e-4));
}

TEST_CASE("The seed CNN's forward pass equals the naive layers chained by hand") {
    auto net = std::make_unique<SeedCnn>(seed(5));
    Rng rng(6);
    constexpr std::size_t n = 3;
    Buffer x(n * 784);
    testing::fill_uniform(x, rng, 0.0f, 1.0f);
    const auto out = net->forward(x.data(), n);
    const auto& conv = net->layer<0>();
    auto a = reference::conv2d({28, 28, 1, 3, 3, 32, 1, 0, 0, 26, 26}, x.data(), conv.weights.data(),
                               conv.bias.data(), n);
    for (float& v : a) v = v > 0 ? v : 0;
    const auto pooled = reference::max_pool(a.data(), n, 26, 26, 32, 2, 2);
    auto hidden = reference::dense(pooled.data(), net->layer<4>().weights.data(), net->layer<4>().bias.data(), n,
                                   5408, 128);
    for (float& h : hidden) h = h > 0 ? h : 0;
    const auto expected =
        reference::dense(hidden.data(), net->layer<6>().weights.data(), net->layer<6>().bias.data(), n, 128, 10);
    for (std::size_t i = 0; i < out.size(); ++i) CHECK(out[i] == doctest::Approx(expected[i]).epsilon(1e-3));
}

TEST_CASE("Whole-network gradients match finite differences: seed MLP, seed CNN, every layer kind") {
    SeedMlp mlp{seed(7)};
    testing::check_network_gradients(mlp, 2, 8, {.step = 1e-2f, .absolute = 2e-3, .relative = 2e-2, .samples = 12});
    auto cnn = std::make_unique<SeedCnn>(seed(9));
    // A conv bias moves 1352 ReLU inputs at once, so kinks are dense: a small step (float noise ~1e-3).
    testing::check_network_gradients(*cnn, 2, 10, {.step = 1e-4f, .absolute = 5e-3, .relative = 2e-2, .samples = 16});
    Mixed mixed{seed(11)};
    testing::check_network_gradients(mixed, 3, 12, {.step = 5e-4f, .absolute = 2e-3, .relative = 3e-2});
}

TEST_CASE("Same seed, same parameters, another seed, other parameters") {
    SeedMlp a{seed(1)}, b{seed(1)}, c{seed(2)};
    CHECK(a.layer<1>().weights == b.layer<1>().weights);
    CHECK(a.layer<1>().weights != c.layer<1>().weights);
}

TEST_CASE("Batches beyond the workspace are refused, not overrun") {
    SeedMlp net{seed(1), /*max_batch=*/4};
    Buffer x(5 * 784);
    CHECK_THROWS_AS(net.forward(x.data(), 5), std::invalid_argument);
    CHECK_THROWS_AS(net.forward(x.data(), 0), std::invalid_argument);
    CHECK_NOTHROW(net.forward(x.data(), 4));
}

TEST_CASE("const inference from two threads, each with its own workspace, equals serial inference") {
    const SeedMlp net{seed(2)};
    Rng rng(3);
    Buffer x(64 * 784);
    testing::fill_uniform(x, rng, 0.0f, 1.0f);
    SeedMlp::Workspace serial_ws(64), ws1(32), ws2(32);
    const auto serial = net.forward(x.data(), 64, serial_ws);
    std::vector<float> first, second;
    std::thread t1([&] {
        const auto o = net.forward(x.data(), 32, ws1);
        first.assign(o.begin(), o.end());
    });
    std::thread t2([&] {
        const auto o = net.forward(x.data() + 32 * 784, 32, ws2);
        second.assign(o.begin(), o.end());
    });
    t1.join();
    t2.join();
    for (std::size_t i = 0; i < 320; ++i) {
        CHECK(first[i] == doctest::Approx(serial[i]));
        CHECK(second[i] == doctest::Approx(serial[320 + i]));
    }
}

TEST_CASE("Copies are deep") {
    SeedMlp a{seed(1)};
    SeedMlp b = a;
    b.layer<1>().weights(0, 0) += 1.0f;
    CHECK(a.layer<1>().weights(0, 0) + 1.0f == b.layer<1>().weights(0, 0));
}
