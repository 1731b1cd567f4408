#pragma once
// Tensor<Shape>: compile-time-shaped storage on xt::xtensor_fixed. Parameters live in these; large ones
// belong inside heap-allocated layer objects, never on the stack (a 5408x128 matrix is 2.8 MB).

#include <cstddef>
#include <span>

#include <xtensor/xfixed.hpp>

#include "ctnn/core/shape.hpp"

namespace ctnn {

template <ShapeType S>
using Tensor = xt::xtensor_fixed<float, typename S::xshape>;

template <ShapeType S>
std::span<float> flat(Tensor<S>& t) noexcept {
    return {t.data(), S::size};
}
template <ShapeType S>
std::span<const float> flat(const Tensor<S>& t) noexcept {
    return {t.data(), S::size};
}

}  // namespace ctnn
