// Writes the model files the ctnn_embed test embeds or feeds to the tool as bad input, into the folder given:
//   seed_mlp.ctnn        the seed MLP, random-initialised, with planted_values at their positions
//   batch_norm_cnn.ctnn  a CNN with BatchNorm: random affine parameters and running statistics (state)
//   corrupt.ctnn         seed_mlp.ctnn with one payload byte flipped (fails the checksum)
//   truncated.ctnn       the first half of seed_mlp.ctnn
//   not_a_model.ctnn     text
//   bad_table.ctnn       batch_norm_cnn.ctnn whose first element count is not the product of its dims (checksum
//                        recomputed, so that the table is what is wrong)
//   odd_name.ctnn        batch_norm_cnn.ctnn with its first tensor named odd_tensor_name (checksum recomputed)
//   non_finite.ctnn      batch_norm_cnn with a NaN as its first value
// Model files are produced here at build time rather than committed: they follow the format and the networks.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <zlib.h>

#include "embed/embed_networks.hpp"

using namespace ctnn;
using namespace ctnn::testing::embed;

namespace {

std::vector<unsigned char> read_bytes(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_bytes(const std::filesystem::path& file, const std::vector<unsigned char>& bytes) {
    std::ofstream out(file, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + file.string());
}
template <class T>
T read_at(const std::vector<unsigned char>& bytes, std::size_t offset) {
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof value);
    return value;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
        return 2;
    }
    try {
        const std::filesystem::path dir = argv[1];
        std::filesystem::create_directories(dir);

        auto mlp = std::make_unique<SeedMlp>(seed{seed_mlp_seed});
        std::size_t position = 0;
        mlp->visit_parameters([&](std::size_t, const ParameterView& p) {
            for (float& v : p.value) {
                for (const auto& [at, value] : planted_values)
                    if (at == position) v = value;
                ++position;
            }
        });
        io::save(*mlp, dir / "seed_mlp.ctnn");

        auto cnn = std::make_unique<BatchNormCnn>(seed{batch_norm_cnn_seed});
        Rng rng(batch_norm_cnn_seed);
        const auto fill = [&](std::span<float> values, float low, float high) {
            for (float& v : values) v = rng.uniform(low, high);
        };
        cnn->visit_parameters([&](std::size_t, const ParameterView& p) {
            if (p.name == "gamma") fill(p.value, 0.5f, 2.0f);
            if (p.name == "beta") fill(p.value, -1.0f, 1.0f);
        });
        cnn->visit_state([&](std::size_t, const StateView& s) {
            if (s.name == "running_mean") fill(s.value, -1.0f, 1.0f);
            if (s.name == "running_var") fill(s.value, 0.25f, 4.0f);
        });
        io::save(*cnn, dir / "batch_norm_cnn.ctnn");

        const std::vector<unsigned char> mlp_bytes = read_bytes(dir / "seed_mlp.ctnn");
        std::vector<unsigned char> corrupt = mlp_bytes;
        corrupt[corrupt.size() / 2] ^= 0x10;
        write_bytes(dir / "corrupt.ctnn", corrupt);
        write_bytes(dir / "truncated.ctnn", {mlp_bytes.begin(), mlp_bytes.begin() + mlp_bytes.size() / 2});
        const std::string text = "a text file, longer than the fixed header of a model file\n";
        write_bytes(dir / "not_a_model.ctnn", {text.begin(), text.end()});

        // Tensor 0's entry starts at byte 24: layer index, name length, name, rank, dims, element count.
        const std::vector<unsigned char> cnn_bytes = read_bytes(dir / "batch_norm_cnn.ctnn");
        const auto name_length = read_at<std::uint32_t>(cnn_bytes, 28);
        const auto rank = read_at<std::uint32_t>(cnn_bytes, 32 + name_length);
        const std::size_t count_offset = 36 + name_length + 8 * rank;
        const auto with_checksum = [](std::vector<unsigned char> bytes) {
            const auto crc = static_cast<std::uint32_t>(::crc32(0, bytes.data(), static_cast<uInt>(bytes.size() - 4)));
            std::memcpy(bytes.data() + bytes.size() - 4, &crc, sizeof crc);
            return bytes;
        };
        std::vector<unsigned char> bad_table = cnn_bytes;
        const auto count = read_at<std::uint64_t>(bad_table, count_offset) + 1;
        std::memcpy(bad_table.data() + count_offset, &count, sizeof count);
        write_bytes(dir / "bad_table.ctnn", with_checksum(bad_table));
        std::vector<unsigned char> odd_name = cnn_bytes;
        if (name_length != odd_tensor_name.size()) throw std::runtime_error("tensor 0 is not named \"weights\"");
        std::memcpy(odd_name.data() + 32, odd_tensor_name.data(), odd_tensor_name.size());
        write_bytes(dir / "odd_name.ctnn", with_checksum(odd_name));

        cnn->visit_parameters([&, first = true](std::size_t, const ParameterView& p) mutable {
            if (first) p.value[0] = std::numeric_limits<float>::quiet_NaN();
            first = false;
        });
        io::save(*cnn, dir / "non_finite.ctnn");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_models: %s\n", e.what());
        return 1;
    }
    return 0;
}
