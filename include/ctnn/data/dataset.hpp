#pragma once
// Dataset: images as floats in [0, 1] (NHWC, one contiguous Buffer) and their class labels, plus the batch
// gather the training loop uses. Converting once at load time keeps the per-batch work a plain copy.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "ctnn/core/buffer.hpp"
#include "ctnn/data/error.hpp"
#include "ctnn/data/idx.hpp"

namespace ctnn::data {

struct Dataset {
    std::size_t height = 0, width = 0, channels = 0, classes = 0;
    Buffer images;                     // size() * sample_size() floats, sample after sample, each H x W x C
    std::vector<std::uint8_t> labels;  // one per sample, each < classes

    std::size_t size() const noexcept { return labels.size(); }
    std::size_t sample_size() const noexcept { return height * width * channels; }

    std::span<const float> image(std::size_t i) const {
        if (i >= size())
            throw std::out_of_range("Dataset::image: index " + std::to_string(i) + " of " + std::to_string(size()));
        return {images.data() + i * sample_size(), sample_size()};
    }
    std::span<float> image(std::size_t i) {
        if (i >= size())
            throw std::out_of_range("Dataset::image: index " + std::to_string(i) + " of " + std::to_string(size()));
        return {images.data() + i * sample_size(), sample_size()};
    }
};

struct TrainTest {
    Dataset train, test;
};

// Builds a Dataset from an images array (u8, N x H x W, or N x H x W x C) and a labels array (u8, N).
// The file names are only used in error messages.
inline Dataset make_dataset(const IdxArray& images, const IdxArray& labels, std::size_t classes,
                            const std::filesystem::path& images_file, const std::filesystem::path& labels_file) {
    if (classes == 0 || classes > 256)
        throw std::invalid_argument("make_dataset: classes must be in [1, 256], got " + std::to_string(classes));
    if (images.type != IdxType::u8)
        throw format_error(images_file, "element type",
                           "expected " + to_string(IdxType::u8) + ", found " + to_string(images.type));
    if (images.rank() != 3 && images.rank() != 4)
        throw format_error(images_file, "rank",
                           "expected 3 (N x H x W) or 4 (N x H x W x C), found " + std::to_string(images.rank()));
    if (labels.type != IdxType::u8)
        throw format_error(labels_file, "element type",
                           "expected " + to_string(IdxType::u8) + ", found " + to_string(labels.type));
    if (labels.rank() != 1)
        throw format_error(labels_file, "rank", "expected 1, found " + std::to_string(labels.rank()));
    const std::size_t count = images.dims[0];
    if (labels.dims[0] != count)
        throw format_error(labels_file, "dimension 0",
                           "has " + std::to_string(labels.dims[0]) + " labels but " + images_file.string() + " has " +
                               std::to_string(count) + " images");
    if (images.bytes.size() != images.count() || labels.bytes.size() != labels.count())
        throw std::invalid_argument("make_dataset: IdxArray bytes do not match its dimensions");

    for (std::size_t i = 0; i < count; ++i)
        if (labels.bytes[i] >= classes)
            throw format_error(labels_file, "label " + std::to_string(i),
                               "value " + std::to_string(labels.bytes[i]) + " is not below the " +
                                   std::to_string(classes) + " classes");

    Dataset d;
    d.height = images.dims[1];
    d.width = images.dims[2];
    d.channels = images.rank() == 4 ? images.dims[3] : 1;
    d.classes = classes;
    d.labels = labels.bytes;
    // A table gives exactly v / 255.0f for each byte without a division per pixel.
    static const std::array<float, 256> scale = [] {
        std::array<float, 256> t{};
        for (std::size_t v = 0; v < 256; ++v) t[v] = static_cast<float>(v) / 255.0f;
        return t;
    }();
    d.images.resize(images.bytes.size());
    float* out = d.images.data();
    const std::uint8_t* in = images.bytes.data();
    for (std::size_t i = 0, n = images.bytes.size(); i < n; ++i) out[i] = scale[in[i]];
    return d;
}

// Reads an images file and a labels file (each plain or .gz) into a Dataset.
inline Dataset load_idx_dataset(const std::filesystem::path& images_file, const std::filesystem::path& labels_file,
                                std::size_t classes, std::size_t height = 0, std::size_t width = 0) {
    IdxExpect image_expect{.rank = std::nullopt, .type = IdxType::u8, .dims = {}};
    if (height != 0 || width != 0)
        image_expect.dims = {0, static_cast<std::uint32_t>(height), static_cast<std::uint32_t>(width)};
    const IdxArray labels = read_idx(labels_file, {.rank = 1, .type = IdxType::u8, .dims = {}});
    const IdxArray images = read_idx(images_file, image_expect);
    return make_dataset(images, labels, classes, images_file, labels_file);
}

// Copies samples order[first], ..., order[first + count - 1] of `d` into `images` (count * sample_size()
// floats) and `labels` (count bytes; may be null). Allocates nothing: it runs once per training step.
inline void gather_batch(const Dataset& d, std::span<const std::uint32_t> order, std::size_t first, std::size_t count,
                         float* images, std::uint8_t* labels) {
    if (first > order.size() || count > order.size() - first)
        throw std::out_of_range("gather_batch: samples [" + std::to_string(first) + ", " + std::to_string(first) +
                                " + " + std::to_string(count) + ") of an order of " + std::to_string(order.size()));
    const std::size_t n = d.sample_size();
    for (std::size_t k = 0; k < count; ++k) {
        const std::size_t s = order[first + k];
        if (s >= d.size())
            throw std::out_of_range("gather_batch: order[" + std::to_string(first + k) + "] = " + std::to_string(s) +
                                    " but the dataset has " + std::to_string(d.size()) + " samples");
        std::memcpy(images + k * n, d.images.data() + s * n, n * sizeof(float));
        if (labels) labels[k] = d.labels[s];
    }
}

}  // namespace ctnn::data
