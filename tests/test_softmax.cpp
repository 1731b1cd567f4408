#include <doctest/doctest.h>

#include <cmath>

#include "ctnn/layers/softmax.hpp"
#include "gradient_check.hpp"

using namespace ctnn;

TEST_CASE("Softmax rows are positive, sum to one, and survive large logits") {
    using L = Softmax::bind<Shape<10>>;
    L layer;
    Buffer x(2 * 10), y(2 * 10);
    for (std::size_t i = 0; i < 10; ++i) {
        x[i] = static_cast<float>(i);
        x[10 + i] = 1000.0f + static_cast<float>(i);  // would overflow exp() without the max shift
    }
    L::workspace ws(2);
    layer.forward(x.data(), y.data(), 2, ws, Pass::inference);
    for (std::size_t r = 0; r < 2; ++r) {
        double total = 0;
        for (std::size_t c = 0; c < 10; ++c) {
            CHECK(y[r * 10 + c] > 0.0f);
            total += y[r * 10 + c];
        }
        CHECK(total == doctest::Approx(1.0));
        CHECK(y[r * 10 + 9] / y[r * 10 + 8] == doctest::Approx(std::exp(1.0)));
    }
}

TEST_CASE("Softmax gradients match finite differences") {
    testing::check_layer_gradients<Softmax::bind<Shape<7>>>(3, 41, {.step = 1e-2f, .absolute = 1e-3});
}
