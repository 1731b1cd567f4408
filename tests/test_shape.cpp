#include <doctest/doctest.h>

#include "ctnn/core/shape.hpp"
#include "ctnn/core/tensor.hpp"

using namespace ctnn;

static_assert(Shape<28, 28, 1>::rank == 3);
static_assert(Shape<28, 28, 1>::size == 784);
static_assert(Shape<13, 13, 32>::size == 5408);
static_assert(Shape<10>::dims[0] == 10);
static_assert(ShapeType<Shape<1>> && !ShapeType<int>);
static_assert(image_dims<Shape<26, 26, 32>>::channels == 32);
static_assert(sizeof(Tensor<Shape<3, 4>>) >= 12 * sizeof(float));

TEST_CASE("Shape prints as HxWxC") {
    CHECK(Shape<26, 26, 32>::name() == "26x26x32");
    CHECK(Shape<10>::name() == "10");
}

TEST_CASE("Tensor is an xtensor_fixed with the shape's extents and a flat view") {
    Tensor<Shape<3, 4>> t{};
    CHECK(t.shape()[0] == 3);
    CHECK(t.shape()[1] == 4);
    auto f = flat(t);
    CHECK(f.size() == 12);
    f[5] = 2.5f;
    CHECK(t(1, 1) == 2.5f);  // row-major
}

TEST_CASE("XTENSOR_USE_XSIMD is on for every translation unit (it changes xtensor_fixed's layout)") {
#ifdef XTENSOR_USE_XSIMD
    CHECK(true);
#else
    FAIL("ctnn::ctnn must define XTENSOR_USE_XSIMD");
#endif
}
