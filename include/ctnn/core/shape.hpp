#pragma once
// Shape<Dims...>: a feature shape known at compile time (the batch dimension is never part of it).

#include <array>
#include <cstddef>
#include <string>
#include <type_traits>

#include <xtensor/xshape.hpp>

namespace ctnn {

template <std::size_t... Dims>
struct Shape {
    static_assert(sizeof...(Dims) > 0, "a Shape needs at least one dimension");
    static_assert(((Dims > 0) && ...), "every dimension of a Shape must be positive");

    static constexpr std::size_t rank = sizeof...(Dims);
    static constexpr std::size_t size = (std::size_t{1} * ... * Dims);
    static constexpr std::array<std::size_t, rank> dims{Dims...};
    using xshape = xt::xshape<Dims...>;

    // "26x26x32", the way summaries and diagnostics print it.
    static std::string name() {
        std::string text;
        for (std::size_t i = 0; i < rank; ++i) {
            if (i != 0) text += 'x';
            text += std::to_string(dims[i]);
        }
        return text;
    }
};

template <class T>
struct is_shape : std::false_type {};
template <std::size_t... Dims>
struct is_shape<Shape<Dims...>> : std::true_type {};

template <class T>
concept ShapeType = is_shape<T>::value;

// Height, width and channels of an image-like (NHWC) shape.
template <ShapeType S>
    requires(S::rank == 3)
struct image_dims {
    static constexpr std::size_t height = S::dims[0];
    static constexpr std::size_t width = S::dims[1];
    static constexpr std::size_t channels = S::dims[2];
};

}  // namespace ctnn
