#pragma once
// Input<Dims...>: the first entry of a Sequential, naming the shape of one sample (NHWC for images).

#include <cstddef>

#include "ctnn/core/shape.hpp"

namespace ctnn {

template <std::size_t... Dims>
struct Input {
    using shape = Shape<Dims...>;
};

template <class T>
struct is_input : std::false_type {};
template <std::size_t... Dims>
struct is_input<Input<Dims...>> : std::true_type {};

}  // namespace ctnn
