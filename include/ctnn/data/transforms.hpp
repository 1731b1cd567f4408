#pragma once
// Whole-dataset transforms: a fixed pixel permutation (the "shuffled pixels" experiment) and a translation.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "ctnn/core/permutation.hpp"
#include "ctnn/data/dataset.hpp"

namespace ctnn::data {

namespace detail {
// A Dataset with d's geometry, classes and labels, and no images yet.
inline Dataset same_layout(const Dataset& d) {
    Dataset out;
    out.height = d.height;
    out.width = d.width;
    out.channels = d.channels;
    out.classes = d.classes;
    out.labels = d.labels;
    return out;
}
}  // namespace detail

// Every sample's features reordered as out[i] = in[index[i]] (the Permute layer's convention). It goes
// through ctnn::apply_permutation, the loop the Permute layer uses, so data and layer cannot disagree.
inline Dataset permuted(const Dataset& d, std::span<const std::uint32_t> index) {
    if (index.size() != d.sample_size())
        throw std::invalid_argument("permuted: " + std::to_string(index.size()) + " indices for samples of " +
                                    std::to_string(d.sample_size()) + " features");
    if (!is_bijection(index)) throw std::invalid_argument("permuted: indices are not a bijection of [0, N)");
    Dataset out = detail::same_layout(d);
    out.images.resize(d.images.size());
    apply_permutation(index, d.images.data(), out.images.data(), d.size());
    return out;
}

// The compile-time permutation's size is checked at run time: a Dataset's sample size is a run-time value.
template <std::size_t N>
Dataset permuted(const Dataset& d, const Permutation<N>& p) {
    if (N != d.sample_size())
        throw std::invalid_argument("permuted: Permutation<" + std::to_string(N) + "> for samples of " +
                                    std::to_string(d.sample_size()) + " features");
    return permuted(d, std::span<const std::uint32_t>(p.index));
}

// Every image translated by dx columns (positive: right) and dy rows (positive: down); uncovered pixels are 0.
inline Dataset shifted(const Dataset& d, int dx, int dy) {
    Dataset out = detail::same_layout(d);
    out.images.assign(d.images.size(), 0.0f);
    const auto h = static_cast<std::ptrdiff_t>(d.height), w = static_cast<std::ptrdiff_t>(d.width);
    const auto c = static_cast<std::ptrdiff_t>(d.channels);
    const std::ptrdiff_t sx = dx, sy = dy;
    // Destination columns [x0, x1) read source columns [x0 - dx, x1 - dx), all inside the image.
    const std::ptrdiff_t x0 = std::clamp<std::ptrdiff_t>(sx, 0, w), x1 = std::clamp<std::ptrdiff_t>(w + sx, 0, w);
    const std::ptrdiff_t y0 = std::clamp<std::ptrdiff_t>(sy, 0, h), y1 = std::clamp<std::ptrdiff_t>(h + sy, 0, h);
    if (x0 >= x1 || y0 >= y1) return out;
    const std::size_t row = static_cast<std::size_t>((x1 - x0) * c);
    for (std::size_t s = 0; s < d.size(); ++s) {
        const float* src = d.images.data() + s * d.sample_size();
        float* dst = out.images.data() + s * d.sample_size();
        for (std::ptrdiff_t y = y0; y < y1; ++y)
            std::copy_n(src + ((y - sy) * w + (x0 - sx)) * c, row, dst + (y * w + x0) * c);
    }
    return out;
}

}  // namespace ctnn::data
