// Writes the fuzz targets' seed corpora: for each target a few valid inputs and a few that are one defect
// away from valid, a few KB in all. tests/fuzz/corpus/ holds its output; the fuzz tests also run it into the
// build tree, so the seeds follow a change of the model file format or of the network's architecture hash.
// Usage: make_fuzz_corpus DIR   (writes DIR/<target>/<seed>)

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ctnn/io/model_file.hpp"
#ifdef CTNN_FUZZ_SAFETENSORS
#include "ctnn/io/safetensors.hpp"
#endif
#include "idx_writer.hpp"
#include "model_file_network.hpp"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;
using ctnn::test::idx_bytes;
using ctnn::test::u8_payload;

Bytes cat(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}
Bytes cut(Bytes a, std::size_t size) {
    a.resize(size);
    return a;
}

Bytes gzipped(const fs::path& scratch, const Bytes& bytes) {
    ctnn::test::write_gz(scratch, bytes);
    Bytes out = ctnn::test::read_all(scratch);
    fs::remove(scratch);
    return out;
}

// The fuzz_dataset layout: classes - 1, the labels file's length (u16, little-endian), labels, images.
Bytes pair(std::size_t classes, const Bytes& labels, const Bytes& images) {
    Bytes out{static_cast<std::uint8_t>(classes - 1), static_cast<std::uint8_t>(labels.size() & 0xFF),
              static_cast<std::uint8_t>(labels.size() >> 8)};
    return cat(cat(out, labels), images);
}

// A safetensors file: the header's length (u64, little-endian), the JSON header, the data buffer.
Bytes safetensors(const std::string& header, const Bytes& data) {
    Bytes out;
    for (int k = 0; k < 8; ++k) out.push_back(static_cast<std::uint8_t>(std::uint64_t{header.size()} >> (8 * k)));
    out.insert(out.end(), header.begin(), header.end());
    return cat(out, data);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const fs::path root = argv[1];
    const auto put = [&](const std::string& target, const std::string& name, const Bytes& bytes) {
        fs::create_directories(root / target);
        ctnn::test::write_plain(root / target / name, bytes);
    };

    const Bytes images = idx_bytes(0x08, {3, 2, 2}, u8_payload(12));
    const Bytes labels = idx_bytes(0x08, {3}, Bytes{1, 0, 2});
    const Bytes mnist_image = idx_bytes(0x08, {1, 28, 28}, u8_payload(784));
    const Bytes mnist_claim = idx_bytes(0x08, {60000, 28, 28}, u8_payload(20));  // 47 MB announced, 20 bytes there

    put("fuzz_idx", "u8-3x2x2", images);
    put("fuzz_idx", "u8-labels", labels);
    put("fuzz_idx", "u8-1x28x28", mnist_image);
    put("fuzz_idx", "u8-1x2x2x3", idx_bytes(0x08, {1, 2, 2, 3}, u8_payload(12)));
    put("fuzz_idx", "i16-3", idx_bytes(0x0B, {3}, Bytes{0, 1, 0xFF, 0xFE, 0x7F, 0xFF}));
    put("fuzz_idx", "i32-2", idx_bytes(0x0C, {2}, Bytes{0, 0, 1, 2, 0xFF, 0xFF, 0xFF, 0xFE}));
    put("fuzz_idx", "f64-1x1", idx_bytes(0x0E, {1, 1}, Bytes{0x3F, 0xF0, 0, 0, 0, 0, 0, 0}));
    put("fuzz_idx", "truncated-payload", cut(images, images.size() - 3));
    put("fuzz_idx", "trailing-bytes", cat(images, Bytes{9, 9}));
    put("fuzz_idx", "header-claims-47MB", mnist_claim);
    put("fuzz_idx", "huge-dims", idx_bytes(0x0E, {65535, 65535, 65535, 65535}, {}));

    const fs::path scratch = root / "scratch.gz";
    put("fuzz_idx_gzip", "deflate-u8-3x2x2", cat(Bytes{0}, images));
    put("fuzz_idx_gzip", "deflate-u8-1x28x28", cat(Bytes{0}, mnist_image));
    put("fuzz_idx_gzip", "deflate-two-members", cat(Bytes{2}, images));
    put("fuzz_idx_gzip", "deflate-header-claims-47MB", cat(Bytes{0}, mnist_claim));
    put("fuzz_idx_gzip", "deflate-trailing-bytes", cat(Bytes{0}, cat(images, Bytes{9, 9})));
    put("fuzz_idx_gzip", "raw-u8-3x2x2.gz", cat(Bytes{1}, gzipped(scratch, images)));
    put("fuzz_idx_gzip", "raw-labels.gz", cat(Bytes{1}, gzipped(scratch, labels)));
    put("fuzz_idx_gzip", "raw-two-members.gz",
        cat(Bytes{1},
            cat(gzipped(scratch, cut(images, 10)), gzipped(scratch, Bytes(images.begin() + 10, images.end())))));
    put("fuzz_idx_gzip", "raw-trailing-garbage.gz",
        cat(Bytes{1}, cat(gzipped(scratch, images), Bytes{'j', 'u', 'n', 'k'})));
    const Bytes image_gz = gzipped(scratch, mnist_image);
    put("fuzz_idx_gzip", "raw-cut-stream.gz", cat(Bytes{1}, cut(image_gz, image_gz.size() / 2)));

    put("fuzz_dataset", "valid", pair(10, labels, images));
    put("fuzz_dataset", "valid-rank4", pair(3, labels, idx_bytes(0x08, {3, 1, 2, 2}, u8_payload(12))));
    put("fuzz_dataset", "count-mismatch", pair(10, idx_bytes(0x08, {2}, Bytes{1, 0}), images));
    put("fuzz_dataset", "label-out-of-range", pair(2, labels, images));
    put("fuzz_dataset", "labels-rank2", pair(10, idx_bytes(0x08, {3, 1}, Bytes{1, 0, 2}), images));

    const auto net = std::make_unique<ctnn::fuzz::FuzzNetwork>(ctnn::seed(1), 1);
    const fs::path model = root / "scratch.ctnn";
    ctnn::io::save(*net, model);
    const Bytes saved = ctnn::test::read_all(model);
    using Other = ctnn::Sequential<ctnn::Input<4, 4, 1>, ctnn::Conv2D<3, 3, 1, 2>, ctnn::ReLU, ctnn::Flatten,
                                   ctnn::Dense<8, 3>>;  // FuzzNetwork without BatchNorm
    ctnn::io::save(*std::make_unique<Other>(ctnn::seed(1), 1), model);
    const Bytes other = ctnn::test::read_all(model);
    fs::remove(model);
    Bytes bad_crc = saved;
    bad_crc.back() ^= 0x01;
    put("fuzz_model_file", "valid", saved);
    put("fuzz_model_file", "other-architecture", other);
    put("fuzz_model_file", "bad-checksum", bad_crc);
    put("fuzz_model_file", "trailing-bytes", cat(saved, Bytes{0}));
    put("fuzz_model_file", "cut-in-table", cut(saved, 40));

    const Bytes halves{0x00, 0x3C, 0x00, 0x80, 0x80, 0x3F};  // F16 1.0, F16 -0.0, BF16 1.0
    put("fuzz_safetensors", "f16-bf16",
        safetensors(R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},)"
                    R"("b":{"dtype":"BF16","shape":[1,1],"data_offsets":[4,6]},"__metadata__":{"format":"pt"}})",
                    halves));
    put("fuzz_safetensors", "i64-counter",
        safetensors(R"({"1.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]}})", Bytes(8, 0)));
    put("fuzz_safetensors", "bytes-after-last-tensor",
        safetensors(R"({"h":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}})", halves));
    put("fuzz_safetensors", "overlap",
        safetensors(R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},)"
                    R"("b":{"dtype":"F16","shape":[1],"data_offsets":[2,4]}})",
                    cut(halves, 4)));
    put("fuzz_safetensors", "header-length-past-end", cut(safetensors(R"({"__metadata__":{}})", {}), 12));
#ifdef CTNN_FUZZ_SAFETENSORS
    const fs::path st = root / "scratch.safetensors";
    ctnn::io::save_safetensors(*net, st);
    const Bytes network = ctnn::test::read_all(st);
    fs::remove(st);
    put("fuzz_safetensors", "network", network);
    put("fuzz_safetensors", "network-truncated", cut(network, network.size() - 4));
#endif
    return 0;
}
