#include <doctest/doctest.h>

#include "ctnn/layers/relu.hpp"
#include "gradient_check.hpp"

using namespace ctnn;

static_assert(std::is_same_v<ReLU::bind<Shape<26, 26, 32>>::output_shape, Shape<26, 26, 32>>);

TEST_CASE("ReLU forward is max(x, 0) and its gradient passes only where the output is positive") {
    using L = ReLU::bind<Shape<37>>;
    L layer;
    Rng rng(1);
    Buffer x(3 * 37), y(3 * 37), dy(3 * 37), dx(3 * 37);
    testing::fill_uniform(x, rng);
    testing::fill_uniform(dy, rng);
    L::workspace ws(3);
    layer.forward(x.data(), y.data(), 3, ws, Pass::training);
    layer.backward(x.data(), y.data(), dy.data(), dx.data(), 3, ws);
    for (std::size_t i = 0; i < x.size(); ++i) {
        CHECK(y[i] == (x[i] > 0 ? x[i] : 0.0f));
        CHECK(dx[i] == (x[i] > 0 ? dy[i] : 0.0f));
    }
    testing::check_layer_gradients<ReLU::bind<Shape<5, 3, 2>>>(2, 2, {.step = 1e-3f});
}
