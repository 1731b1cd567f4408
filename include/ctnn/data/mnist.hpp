#pragma once
// MNIST and Fashion-MNIST (same file names, same format): the four IDX files, plain or gzipped.

#include <cstddef>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <system_error>

#include "ctnn/data/dataset.hpp"
#include "ctnn/data/error.hpp"

namespace ctnn::data {

inline constexpr std::size_t mnist_height = 28, mnist_width = 28, mnist_classes = 10;

namespace detail {
// `dir/name` if it is a file, else `dir/name.gz`; a format_error listing both when neither exists. A path that
// exists but is no file (a directory) is returned for read_idx to say what it is; one that cannot be examined
// (a directory without search permission) is reported as such, not as missing.
inline std::filesystem::path find_idx_file(const std::filesystem::path& dir, const std::string& name) {
    const std::filesystem::path plain = dir / name;
    std::filesystem::path gz = plain;
    gz += ".gz";
    std::filesystem::path existing;
    for (const std::filesystem::path& candidate : {plain, gz}) {
        std::error_code ec;
        const auto status = std::filesystem::status(candidate, ec);
        if (std::filesystem::is_regular_file(status)) return candidate;
        if (status.type() == std::filesystem::file_type::not_found) continue;
        if (ec) throw format_error(candidate, "file", "cannot access: " + ec.message());
        if (existing.empty()) existing = candidate;
    }
    if (!existing.empty()) return existing;
    throw format_error(plain, "file",
                       "not found (looked for " + plain.string() + " and " + gz.string() +
                           "; scripts/fetch_data.sh downloads MNIST and Fashion-MNIST)");
}
}  // namespace detail

// Loads train (60000) and test (10000) sets from `dir`; checks 28x28 images and labels below 10.
inline TrainTest load_mnist(const std::filesystem::path& dir) {
    const auto load = [&](const std::string& prefix) {
        const auto images = detail::find_idx_file(dir, prefix + "-images-idx3-ubyte");
        const auto labels = detail::find_idx_file(dir, prefix + "-labels-idx1-ubyte");
        return load_idx_dataset(images, labels, mnist_classes, mnist_height, mnist_width);
    };
    // Resolve all four names first so a missing file is reported before seconds of decompression.
    for (const char* name :
         {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
        detail::find_idx_file(dir, name);
    return {load("train"), load("t10k")};
}

}  // namespace ctnn::data
