// Fuzz target: load_idx_dataset, the images + labels pair loader behind load_mnist (load_mnist itself only
// finds the four files and calls it). Input layout:
//   byte 0       number of classes - 1 (1 to 256 classes)
//   bytes 1-2    length L of the labels file, little-endian (cut to what the input holds)
//   L bytes      the labels file
//   the rest     the images file
// An accepted pair must give a consistent Dataset: one label per image, each below the class count, pixels in [0, 1].

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "ctnn/data/dataset.hpp"
#include "fuzz_input.hpp"

namespace {

void check_accepted(const ctnn::data::Dataset& d, std::size_t classes) {
    bool ok = d.classes == classes && d.images.size() == d.size() * d.sample_size() && d.sample_size() != 0;
    for (std::uint8_t label : d.labels) ok = ok && label < classes;
    for (std::size_t i = 0; i < d.images.size(); ++i) ok = ok && d.images[i] >= 0.0f && d.images[i] <= 1.0f;
    if (ok) return;
    std::fprintf(stderr, "load_idx_dataset accepted an inconsistent dataset: %zu samples of %zux%zux%zu\n", d.size(),
                 d.height, d.width, d.channels);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    const std::size_t classes = std::size_t{data[0]} + 1;
    std::size_t labels_size = std::size_t{data[1]} | std::size_t{data[2]} << 8;
    if (labels_size > size - 3) labels_size = size - 3;
    const auto& directory = ctnn::fuzz::input_directory();
    const auto labels = directory.write("labels-idx1-ubyte", data + 3, labels_size);
    const auto images = directory.write("images-idx3-ubyte", data + 3 + labels_size, size - 3 - labels_size);
    try {
        check_accepted(ctnn::data::load_idx_dataset(images, labels, classes), classes);
    } catch (const ctnn::data::format_error& e) {
        ctnn::fuzz::check_rejection(e, {images, labels});
    }
    return 0;
}
