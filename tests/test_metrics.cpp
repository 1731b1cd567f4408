#include <doctest/doctest.h>

#include "ctnn/train/metrics.hpp"

using namespace ctnn;

TEST_CASE("ConfusionMatrix counts (truth, prediction) pairs") {
    ConfusionMatrix m(3);
    m.add(0, 0);
    m.add(0, 0);
    m.add(1, 2);
    m.add(2, 2);
    CHECK(m(0, 0) == 2);
    CHECK(m(1, 2) == 1);
    CHECK(m(2, 1) == 0);
    CHECK(m.total() == 4);
    CHECK(m.correct() == 3);
    CHECK(m.accuracy() == doctest::Approx(0.75));
    CHECK_THROWS_AS(m.add(3, 0), std::out_of_range);
    CHECK(m.to_string().find("true\\pred") == 0);
    CHECK(ConfusionMatrix(2).accuracy() == 0.0);
}
