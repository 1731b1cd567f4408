// Tests for ctnn/data/transforms.hpp: permuted (run-time and compile-time permutations) and shifted.

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "ctnn/data/transforms.hpp"

using ctnn::data::Dataset;

namespace {

// n images of h x w x c with distinct pixel values, labels 0, 1, 2, ...
Dataset make_test_dataset(std::size_t n, std::size_t h, std::size_t w, std::size_t c = 1) {
    Dataset d;
    d.height = h;
    d.width = w;
    d.channels = c;
    d.classes = n;
    d.images.resize(n * h * w * c);
    for (std::size_t i = 0; i < d.images.size(); ++i) d.images[i] = static_cast<float>(i + 1);
    for (std::size_t i = 0; i < n; ++i) d.labels.push_back(static_cast<std::uint8_t>(i));
    return d;
}

}  // namespace

TEST_CASE("transforms: permuted gathers each sample's features") {
    const Dataset d = make_test_dataset(3, 2, 3);
    const std::vector<std::uint32_t> index{5, 0, 3, 1, 4, 2};
    const Dataset p = ctnn::data::permuted(d, index);
    CHECK(p.labels == d.labels);
    CHECK(p.height == 2);
    CHECK(p.width == 3);
    for (std::size_t s = 0; s < d.size(); ++s)
        for (std::size_t i = 0; i < index.size(); ++i) CHECK(p.image(s)[i] == d.image(s)[index[i]]);

    // The inverse permutation restores the original.
    std::vector<std::uint32_t> inverse(index.size());
    for (std::size_t i = 0; i < index.size(); ++i) inverse[index[i]] = static_cast<std::uint32_t>(i);
    const Dataset back = ctnn::data::permuted(p, inverse);
    CHECK(std::vector<float>(back.images.begin(), back.images.end()) ==
          std::vector<float>(d.images.begin(), d.images.end()));
}

TEST_CASE("transforms: permuted with a compile-time Permutation matches the run-time one") {
    constexpr auto perm = ctnn::make_permutation<12>(42);
    const Dataset d = make_test_dataset(4, 3, 4);
    const Dataset a = ctnn::data::permuted(d, perm);
    const Dataset b = ctnn::data::permuted(d, std::span<const std::uint32_t>(perm.index));
    CHECK(std::vector<float>(a.images.begin(), a.images.end()) == std::vector<float>(b.images.begin(), b.images.end()));
    const Dataset back = ctnn::data::permuted(a, ctnn::inverse(perm));
    CHECK(std::vector<float>(back.images.begin(), back.images.end()) ==
          std::vector<float>(d.images.begin(), d.images.end()));

    CHECK_THROWS_AS((void)ctnn::data::permuted(d, ctnn::make_permutation<11>(1)), std::invalid_argument);
    const std::vector<std::uint32_t> not_bijection{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10};
    CHECK_THROWS_AS((void)ctnn::data::permuted(d, not_bijection), std::invalid_argument);
    const std::vector<std::uint32_t> too_short{0, 1};
    CHECK_THROWS_AS((void)ctnn::data::permuted(d, too_short), std::invalid_argument);
}

TEST_CASE("transforms: shifted translates with zero fill") {
    // One 3x4 image:   1  2  3  4
    //                  5  6  7  8
    //                  9 10 11 12
    const Dataset d = make_test_dataset(1, 3, 4);
    auto pixels = [](const Dataset& x) { return std::vector<float>(x.images.begin(), x.images.end()); };

    CHECK(pixels(ctnn::data::shifted(d, 0, 0)) == pixels(d));
    // Right by 1, up by 1.
    CHECK(pixels(ctnn::data::shifted(d, 1, -1)) == std::vector<float>{0, 5, 6, 7, 0, 9, 10, 11, 0, 0, 0, 0});
    // Left by 2, down by 1.
    CHECK(pixels(ctnn::data::shifted(d, -2, 1)) == std::vector<float>{0, 0, 0, 0, 3, 4, 0, 0, 7, 8, 0, 0});
    // Entirely out of the frame.
    CHECK(pixels(ctnn::data::shifted(d, 4, 0)) == std::vector<float>(12, 0.0f));
    CHECK(pixels(ctnn::data::shifted(d, 0, -3)) == std::vector<float>(12, 0.0f));
    CHECK(ctnn::data::shifted(d, 1, 1).labels == d.labels);
}

TEST_CASE("transforms: shifted moves whole pixels of multi-channel images, per sample") {
    // Two 1x3 images with 2 channels: (1,2)(3,4)(5,6) and (7,8)(9,10)(11,12).
    const Dataset d = make_test_dataset(2, 1, 3, 2);
    const Dataset s = ctnn::data::shifted(d, 1, 0);
    CHECK(std::vector<float>(s.images.begin(), s.images.end()) ==
          std::vector<float>{0, 0, 1, 2, 3, 4, 0, 0, 7, 8, 9, 10});
}
