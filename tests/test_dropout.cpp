#include <doctest/doctest.h>

#include "ctnn/layers/dropout.hpp"
#include "gradient_check.hpp"

using namespace ctnn;

TEST_CASE("Dropout is the identity at inference") {
    using L = Dropout<>::bind<Shape<100>>;
    L layer;
    Rng rng(1);
    Buffer x(4 * 100), y(4 * 100);
    testing::fill_uniform(x, rng);
    L::workspace ws(4);
    layer.forward(x.data(), y.data(), 4, ws, Pass::inference);
    for (std::size_t i = 0; i < x.size(); ++i) CHECK(y[i] == x[i]);
}

TEST_CASE("Dropout in training zeroes about `rate` of the features and rescales the rest") {
    using L = Dropout<std::ratio<1, 4>>::bind<Shape<1000>>;
    L layer;
    Buffer x(10 * 1000, 1.0f), y(10 * 1000);
    L::workspace ws(10);
    layer.forward(x.data(), y.data(), 10, ws, Pass::training);
    std::size_t zeros = 0;
    for (float v : y) {
        if (v == 0.0f) ++zeros;
        else CHECK(v == doctest::Approx(1.0f / 0.75f));
    }
    CHECK(static_cast<double>(zeros) / 10000.0 == doctest::Approx(0.25).epsilon(0.05));
    testing::check_layer_gradients<Dropout<>::bind<Shape<3, 4>>>(3, 61);
}
