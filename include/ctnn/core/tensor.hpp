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

// The elements of a Tensor as one contiguous span (row-major).
template <class T, class FixedShape, xt::layout_type L, bool Sharable, class Tag>
std::span<T> flat(xt::xfixed_container<T, FixedShape, L, Sharable, Tag>& t) noexcept {
    return {t.data(), t.size()};
}
template <class T, class FixedShape, xt::layout_type L, bool Sharable, class Tag>
std::span<const T> flat(const xt::xfixed_container<T, FixedShape, L, Sharable, Tag>& t) noexcept {
    return {t.data(), t.size()};
}

}  // namespace ctnn
