#pragma once
// A small learnable data set for training tests: each class is a bright square at its own place in a
// noisy image, so locality matters and a few epochs suffice.

#include <cstddef>
#include <cstdint>

#include "ctnn/core/random.hpp"
#include "ctnn/data/dataset.hpp"

namespace ctnn::testing {

inline data::Dataset blobs(std::size_t count, std::size_t side, std::size_t classes, std::uint64_t seed_value) {
    data::Dataset d;
    d.height = d.width = side;
    d.channels = 1;
    d.classes = classes;
    d.images.assign(count * side * side, 0.0f);
    d.labels.resize(count);
    Rng rng(seed_value);
    for (std::size_t i = 0; i < count; ++i) {
        const auto label = static_cast<std::uint8_t>(rng.below(classes));
        d.labels[i] = label;
        float* img = d.images.data() + i * side * side;
        for (std::size_t p = 0; p < side * side; ++p) img[p] = 0.3f * rng.uniform();
        const std::size_t cx = (label * 3) % (side - 2), cy = (label * 5) % (side - 2);
        for (std::size_t y = cy; y < cy + 2; ++y)
            for (std::size_t x = cx; x < cx + 2; ++x) img[y * side + x] = 0.7f + 0.3f * rng.uniform();
    }
    return d;
}

}  // namespace ctnn::testing
