#pragma once
// write_grid_png: tiles grayscale images into one PNG (sample digits, first-layer weights) for the examples.
// Link libstb (pkg_check_modules(STB REQUIRED IMPORTED_TARGET stb)): it already contains stb_image_write's
// implementation, so STB_IMAGE_WRITE_IMPLEMENTATION must not be defined here.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <stb/stb_image_write.h>

namespace examples {

// Writes `count` images of height x width floats (consecutive in `images`) as a grid of `columns` tiles per
// row, separated by 1-pixel lines. symmetric = false maps [0, 1] to black..white (clamped); symmetric = true
// maps [-a, a] to black..white with 0 at mid-grey, a = max |value| of that tile, so each weight picture
// uses the full range and the sign stays readable.
inline void write_grid_png(const std::filesystem::path& file, std::span<const float> images, std::size_t count,
                           std::size_t height, std::size_t width, std::size_t columns, bool symmetric) {
    const std::size_t tile = height * width;
    if (count == 0 || tile == 0 || columns == 0)
        throw std::invalid_argument("write_grid_png: " + file.string() + ": empty grid");
    if (images.size() < count * tile)
        throw std::invalid_argument("write_grid_png: " + file.string() + ": " + std::to_string(count) +
                                    " images need " + std::to_string(count * tile) + " values, got " +
                                    std::to_string(images.size()));
    columns = std::min(columns, count);
    const std::size_t rows = (count + columns - 1) / columns;
    const std::size_t grid_width = columns * (width + 1) - 1;
    const std::size_t grid_height = rows * (height + 1) - 1;
    constexpr std::uint8_t separator = 64;  // dark grey: visible against black and white tiles alike
    std::vector<std::uint8_t> pixels(grid_width * grid_height, separator);

    for (std::size_t t = 0; t < count; ++t) {
        const std::span<const float> img = images.subspan(t * tile, tile);
        float scale = 1.0f, offset = 0.0f;  // byte = 255 * (scale * v + offset)
        if (symmetric) {
            float a = 0.0f;
            for (float v : img) a = std::max(a, std::abs(v));
            scale = a > 0.0f ? 0.5f / a : 0.0f;
            offset = 0.5f;
        }
        const std::size_t top = (t / columns) * (height + 1), left = (t % columns) * (width + 1);
        for (std::size_t y = 0; y < height; ++y)
            for (std::size_t x = 0; x < width; ++x) {
                const float level = std::clamp(scale * img[y * width + x] + offset, 0.0f, 1.0f);
                pixels[(top + y) * grid_width + left + x] = static_cast<std::uint8_t>(std::lround(level * 255.0f));
            }
    }
    const int w = static_cast<int>(grid_width), h = static_cast<int>(grid_height);
    if (stbi_write_png(file.c_str(), w, h, 1, pixels.data(), w) == 0)
        throw std::runtime_error("write_grid_png: cannot write " + file.string());
}

}  // namespace examples
