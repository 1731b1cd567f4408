#include <doctest/doctest.h>

#include "ctnn/layers/flatten.hpp"
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
