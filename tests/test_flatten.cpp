#include "ctnn/layers/flatten.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <span>

#include "ctnn/ctnn.hpp"
#include "gradient_check.hpp"

using namespace ctnn;

static_assert(std::is_same_v<Flatten::bind<Shape<13, 13, 32>>::output_shape, Shape<5408>>);
static_assert(std::is_same_v<Flatten::bind<Shape<28, 28, 1>>::output_shape, Shape<784>>);

TEST_CASE("Flatten keeps the NHWC order and passes gradients through") {
    using L = Flatten::bind<Shape<2, 3, 4>>;
    L layer;
    Buffer x(2 * 24), y(2 * 24);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i);
    L::workspace ws(2);
    layer.forward(x.data(), y.data(), 2, ws, Pass::inference);
    for (std::size_t i = 0; i < x.size(); ++i) CHECK(y[i] == x[i]);
    testing::check_layer_gradients<L>(2, 51);
}

// A Flatten first in a network reads the caller's input in place: no copy forward, and the input gradient, when
// asked for, is the next layer's input gradient as it is.
TEST_CASE("a Flatten first in a network stores nothing and passes the input gradient on") {
    using Net = Sequential<Input<4, 4, 2>, Flatten, Dense<32, 5>, ReLU, Dense<5, 3>>;
    using Plain = Sequential<Input<32>, Dense<32, 5>, ReLU, Dense<5, 3>>;
    static_assert(Net::shares_input_buffer<0> && Net::chain::output_is_input<0>);
    static_assert(!Net::chain::output_is_input<1>);
    constexpr std::size_t n = 3;
    auto net = std::make_unique<Net>(seed(4), n);
    auto plain = std::make_unique<Plain>(seed(0), n);
    plain->layer<0>() = net->layer<1>();
    plain->layer<2>() = net->layer<3>();
    Rng rng(5);
    Buffer x(n * 32), dy(n * 3), dx(n * 32, -1.0f), plain_dx(n * 32, -2.0f);
    for (float& v : x) v = rng.uniform(-1.0f, 1.0f);
    for (float& v : dy) v = rng.uniform(-1.0f, 1.0f);
    const std::span<const float> y = net->forward(x.data(), n, net->workspace(), Pass::training);
    CHECK(net->workspace().activation<0>(n).data() == x.data());
    const std::span<const float> plain_y = plain->forward(x.data(), n, plain->workspace(), Pass::training);
    CHECK(std::equal(y.begin(), y.end(), plain_y.begin(), plain_y.end()));
    net->backward(x.data(), dy.data(), n, net->workspace(), Net::layer_count - 1, dx.data());
    plain->backward(x.data(), dy.data(), n, plain->workspace(), Plain::layer_count - 1, plain_dx.data());
    CHECK(dx == plain_dx);
    CHECK(net->layer<1>().weights_gradient == plain->layer<0>().weights_gradient);
    testing::check_network_gradients(*net, n, 6, {.step = 1e-3f});
}
