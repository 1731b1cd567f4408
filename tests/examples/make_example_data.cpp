// Writes a tiny stand-in for the experiment's data folder: DIR/mnist (plain IDX) and DIR/fashion-mnist
// (gzipped IDX), 28x28 images of 10 learnable classes, the four file names MNIST uses. Lets the examples run
// end to end in ctest without the real data sets. With --truncated, DIR/mnist/train-images-idx3-ubyte is
// malformed: its header promises TRAIN_COUNT images, its pixels stop after 1000 bytes (the examples' error tests).
//   make_example_data DIR [TRAIN_COUNT] [TEST_COUNT] [--truncated]

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "idx_writer.hpp"
#include "synthetic_data.hpp"

namespace {

using namespace ctnn;

std::vector<std::uint8_t> to_bytes(std::span<const float> pixels) {
    std::vector<std::uint8_t> bytes(pixels.size());
    for (std::size_t i = 0; i < pixels.size(); ++i)
        bytes[i] = static_cast<std::uint8_t>(std::lround(255.0f * std::min(std::max(pixels[i], 0.0f), 1.0f)));
    return bytes;
}

void write_split(const std::filesystem::path& dir, const std::string& prefix, std::size_t count, std::uint64_t seed,
                 bool gz) {
    const data::Dataset d = testing::blobs(count, 28, 10, seed);
    const std::string suffix = gz ? ".gz" : "";
    test::write_image_set(dir / (prefix + "-images-idx3-ubyte" + suffix),
                          dir / (prefix + "-labels-idx1-ubyte" + suffix), static_cast<std::uint32_t>(count), 28, 28,
                          to_bytes(d.images), d.labels, gz);
}

}  // namespace

int main(int argc, char** argv) try {
    const bool truncated = argc > 2 && std::string(argv[argc - 1]) == "--truncated";
    if (truncated) --argc;
    if (argc < 2) {
        std::fprintf(stderr, "usage: make_example_data DIR [TRAIN_COUNT] [TEST_COUNT] [--truncated]\n");
        return 2;
    }
    const std::filesystem::path root = argv[1];
    const std::size_t train = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 512;
    const std::size_t test = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 128;
    for (const auto& [folder, gz, seed] : {std::tuple{"mnist", false, 1}, std::tuple{"fashion-mnist", true, 2}}) {
        const std::filesystem::path dir = root / folder;
        std::filesystem::create_directories(dir);
        write_split(dir, "train", train, static_cast<std::uint64_t>(seed), gz);
        write_split(dir, "t10k", test, static_cast<std::uint64_t>(seed) + 100, gz);
    }
    if (truncated) {
        const auto pixels = test::u8_payload(1000);
        const auto n = static_cast<std::uint32_t>(train);
        test::write_plain(root / "mnist" / "train-images-idx3-ubyte", test::idx_bytes(0x08, {n, 28, 28}, pixels));
    }
    std::printf("wrote %zu training and %zu test images to %s/{mnist,fashion-mnist}\n", train, test,
                root.string().c_str());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "make_example_data: %s\n", e.what());
    return 1;
}
