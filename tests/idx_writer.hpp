#pragma once
// Test helper: writes small IDX files, well-formed or deliberately broken, plain or gzipped, into a unique
// temporary directory that is removed when the TempDir goes out of scope.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>
#include <zlib.h>

namespace ctnn::test {

class TempDir {
public:
    TempDir() {
        static std::atomic<unsigned> counter{0};
        const auto base = std::filesystem::temp_directory_path();
        std::random_device entropy;
        for (int attempt = 0; attempt < 100; ++attempt) {
            const auto candidate = base / ("ctnn-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
                                           "-" + std::to_string(entropy()));
            if (std::filesystem::create_directory(candidate)) {
                path_ = candidate;
                return;
            }
        }
        throw std::runtime_error("TempDir: cannot create a unique directory in " + base.string());
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const noexcept { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

// Header (big-endian) followed by `payload`; `type` and the dims are written as given, valid or not.
inline std::vector<std::uint8_t> idx_bytes(std::uint8_t type, const std::vector<std::uint32_t>& dims,
                                           std::span<const std::uint8_t> payload) {
    std::vector<std::uint8_t> out{0, 0, type, static_cast<std::uint8_t>(dims.size())};
    for (std::uint32_t d : dims)
        for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(d >> shift));
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

// A u8 IDX file's bytes with elements 0, 1, 2, ... (mod 251, so neighbouring values differ).
inline std::vector<std::uint8_t> u8_payload(std::size_t count) {
    std::vector<std::uint8_t> p(count);
    for (std::size_t i = 0; i < count; ++i) p[i] = static_cast<std::uint8_t>(i % 251);
    return p;
}

inline void write_plain(const std::filesystem::path& file, std::span<const std::uint8_t> bytes) {
    std::ofstream out(file, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("write_plain: cannot write " + file.string());
}

inline void write_gz(const std::filesystem::path& file, std::span<const std::uint8_t> bytes) {
    gzFile f = gzopen(file.c_str(), "wb");
    if (!f) throw std::runtime_error("write_gz: cannot open " + file.string());
    const int written = bytes.empty() ? 0 : gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    if (gzclose(f) != Z_OK || written != static_cast<int>(bytes.size()))
        throw std::runtime_error("write_gz: cannot write " + file.string());
}

inline std::vector<std::uint8_t> read_all(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Writes an images file (u8, n x h x w, the given pixels) and a labels file (u8, n) as MNIST would, plain or
// gzipped.
inline void write_image_set(const std::filesystem::path& images_file, const std::filesystem::path& labels_file,
                            std::uint32_t n, std::uint32_t h, std::uint32_t w, std::span<const std::uint8_t> pixels,
                            std::span<const std::uint8_t> labels, bool gz) {
    const auto images = idx_bytes(0x08, {n, h, w}, pixels);
    const auto label_file = idx_bytes(0x08, {static_cast<std::uint32_t>(labels.size())}, labels);
    (gz ? write_gz : write_plain)(images_file, images);
    (gz ? write_gz : write_plain)(labels_file, label_file);
}

// The same with pixels 0, 1, 2, ... (u8_payload).
inline void write_image_set(const std::filesystem::path& images_file, const std::filesystem::path& labels_file,
                            std::uint32_t n, std::uint32_t h, std::uint32_t w, const std::vector<std::uint8_t>& labels,
                            bool gz) {
    write_image_set(images_file, labels_file, n, h, w, u8_payload(std::size_t{n} * h * w), labels, gz);
}

}  // namespace ctnn::test
