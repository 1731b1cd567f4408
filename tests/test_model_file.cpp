// Tests for ctnn/io/model_file.hpp: bit-exact round trips, and every way a model file or a save can go wrong,
// each leaving the network (and, for save, the previous file) exactly as it was.

#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctnn/core/permutation.hpp"
#include "ctnn/io/model_file.hpp"
#include "ctnn/layers/batch_norm.hpp"
#include "ctnn/layers/conv2d.hpp"
#include "ctnn/layers/dense.hpp"
#include "ctnn/layers/flatten.hpp"
#include "ctnn/layers/input.hpp"
#include "ctnn/layers/max_pool2d.hpp"
#include "ctnn/layers/permute.hpp"
#include "ctnn/layers/relu.hpp"
#include "ctnn/network/sequential.hpp"
#include "idx_writer.hpp"      // TempDir
#include "network_values.hpp"  // bits_of, parameter_values, state_values

namespace {

namespace fs = std::filesystem;
using ctnn::io::format_error;
using ctnn::test::TempDir;

using Mlp =
    ctnn::Sequential<ctnn::Input<28, 28, 1>, ctnn::Flatten, ctnn::Dense<784, 128>, ctnn::ReLU, ctnn::Dense<128, 10>>;
using NarrowMlp =
    ctnn::Sequential<ctnn::Input<28, 28, 1>, ctnn::Flatten, ctnn::Dense<784, 64>, ctnn::ReLU, ctnn::Dense<64, 10>>;
using Cnn = ctnn::Sequential<ctnn::Input<28, 28, 1>, ctnn::Conv2D<3, 3, 1, 32>, ctnn::ReLU, ctnn::MaxPool2D<2>,
                             ctnn::Flatten, ctnn::Dense<5408, 128>, ctnn::ReLU, ctnn::Dense<128, 10>>;

constexpr auto shuffle_7 = ctnn::make_permutation<784>(7);
constexpr auto shuffle_8 = ctnn::make_permutation<784>(8);
using ShuffledMlp7 = ctnn::Sequential<ctnn::Input<28, 28, 1>, ctnn::Permute<shuffle_7>, ctnn::Flatten,
                                      ctnn::Dense<784, 128>, ctnn::ReLU, ctnn::Dense<128, 10>>;
using ShuffledMlp8 = ctnn::Sequential<ctnn::Input<28, 28, 1>, ctnn::Permute<shuffle_8>, ctnn::Flatten,
                                      ctnn::Dense<784, 128>, ctnn::ReLU, ctnn::Dense<128, 10>>;

static_assert(Mlp::architecture_hash != NarrowMlp::architecture_hash);
static_assert(ShuffledMlp7::architecture_hash != ShuffledMlp8::architecture_hash);

// Every parameter's bit pattern, in file order: equal snapshots mean bit-exact equal parameters (NaN and -0
// included, which a float comparison would not promise).
template <class Net>
std::vector<std::uint32_t> snapshot(Net& net) {
    std::vector<std::uint32_t> bits;
    net.visit_parameters([&](std::size_t, const ctnn::ParameterView& p) {
        for (float v : p.value) bits.push_back(std::bit_cast<std::uint32_t>(v));
    });
    return bits;
}

std::vector<std::uint8_t> read_bytes(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& file, const std::vector<std::uint8_t>& bytes) { ctnn::test::write_plain(file, bytes); }

std::vector<std::string> directory_entries(const fs::path& directory) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(directory)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// Loads `file` into `net`, requires a format_error naming `file`, `field` and `fragment`, and requires the
// network's parameters to be untouched.
template <class Net>
void check_load_error(Net& net, const fs::path& file, const std::string& field, const std::string& fragment) {
    const auto before = snapshot(net);
    bool thrown = false;
    try {
        ctnn::io::load(net, file);
    } catch (const format_error& e) {
        thrown = true;
        const std::string message = e.what();
        INFO(message);
        CHECK(e.file() == file);
        CHECK(e.field() == field);
        CHECK(message.find(file.string()) != std::string::npos);
        CHECK(message.find(field) != std::string::npos);
        CHECK(message.find(fragment) != std::string::npos);
    }
    CHECK_MESSAGE(thrown, "expected a format_error for " << file << " field " << field);
    CHECK(snapshot(net) == before);
}

// Saves `net` to `file`, requires a format_error naming `file` and containing `fragment`.
template <class Net>
void check_save_error(const Net& net, const fs::path& file, const std::string& fragment) {
    bool thrown = false;
    try {
        ctnn::io::save(net, file);
    } catch (const format_error& e) {
        thrown = true;
        const std::string message = e.what();
        INFO(message);
        CHECK(e.file() == file);
        CHECK(message.find(file.string()) != std::string::npos);
        CHECK(message.find(fragment) != std::string::npos);
    }
    CHECK_MESSAGE(thrown, "expected a format_error when saving to " << file);
}

// A saved seed-1 MLP and its bytes, and a seed-2 MLP to load into (so a load that changes nothing shows).
struct SavedMlp {
    TempDir dir;
    fs::path file = dir / "mlp.ctnn";
    std::unique_ptr<Mlp> saved = std::make_unique<Mlp>(ctnn::seed(1));
    std::unique_ptr<Mlp> target = std::make_unique<Mlp>(ctnn::seed(2));
    std::vector<std::uint8_t> bytes;

    SavedMlp() {
        ctnn::io::save(*saved, file);
        bytes = read_bytes(file);
    }
    fs::path write_variant(const std::string& name, const std::vector<std::uint8_t>& variant) const {
        const fs::path path = dir / name;
        write_bytes(path, variant);
        return path;
    }
};

constexpr std::size_t fixed_header_size = 24;

// Byte sizes of the Mlp's file: the table has weights {784,128} and bias {128} for layers 1 and 3.
constexpr std::size_t table_entry_size(std::size_t name_length, std::size_t rank) {
    return 4 + 4 + name_length + 4 + 8 * rank + 8;
}
constexpr std::size_t mlp_table_size = 2 * (table_entry_size(7, 2) + table_entry_size(4, 1));
constexpr std::size_t mlp_payload_size = Mlp::parameter_count * sizeof(float);
constexpr std::size_t mlp_file_size = fixed_header_size + mlp_table_size + mlp_payload_size + 4;

}  // namespace

TEST_CASE("model file: MLP round trip is bit-exact") {
    TempDir dir;
    const fs::path file = dir / "mlp.ctnn";
    auto saved = std::make_unique<Mlp>(ctnn::seed(1));
    // Values a text format or a careless conversion would lose.
    saved->layer<3>().bias[0] = -0.0f;
    saved->layer<3>().bias[1] = std::numeric_limits<float>::denorm_min();
    saved->layer<3>().bias[2] = std::numeric_limits<float>::quiet_NaN();
    saved->layer<3>().bias[3] = std::numeric_limits<float>::infinity();

    ctnn::io::save(*saved, file);
    CHECK(fs::file_size(file) == mlp_file_size);
    CHECK(directory_entries(dir.path()) == std::vector<std::string>{"mlp.ctnn"});

    auto loaded = std::make_unique<Mlp>(ctnn::seed(2));
    REQUIRE(snapshot(*loaded) != snapshot(*saved));
    ctnn::io::load(*loaded, file);
    CHECK(snapshot(*loaded) == snapshot(*saved));

    // Saving the same network again gives the same bytes: nothing in the file depends on time or address.
    const fs::path again = dir / "again.ctnn";
    ctnn::io::save(*loaded, again);
    CHECK(read_bytes(again) == read_bytes(file));
}

TEST_CASE("model file: CNN round trip is bit-exact") {
    TempDir dir;
    const fs::path file = dir / "cnn.ctnn";
    auto saved = std::make_unique<Cnn>(ctnn::seed(1));
    ctnn::io::save(*saved, file);

    auto loaded = std::make_unique<Cnn>(ctnn::seed(2));
    REQUIRE(snapshot(*loaded) != snapshot(*saved));
    ctnn::io::load(*loaded, file);
    CHECK(snapshot(*loaded) == snapshot(*saved));
    CHECK(snapshot(*loaded).size() == Cnn::parameter_count);
}

TEST_CASE("model file: read_header reports the architecture hash and the tensor table") {
    SavedMlp m;
    const ctnn::io::ModelFileHeader header = ctnn::io::read_header(m.file);
    CHECK(header.version == 1);
    CHECK(header.architecture_hash == Mlp::architecture_hash);
    REQUIRE(header.tensors.size() == 4);
    CHECK(header.tensors[0] == ctnn::io::TensorRecord{1, "weights", {784, 128}, 784 * 128});
    CHECK(header.tensors[1] == ctnn::io::TensorRecord{1, "bias", {128}, 128});
    CHECK(header.tensors[2] == ctnn::io::TensorRecord{3, "weights", {128, 10}, 1280});
    CHECK(header.tensors[3] == ctnn::io::TensorRecord{3, "bias", {10}, 10});
}

TEST_CASE("model file: loading into a different architecture is refused") {
    TempDir dir;

    SUBCASE("different Dense sizes: the message shows both hashes and both sets of shapes") {
        const fs::path file = dir / "mlp.ctnn";
        ctnn::io::save(*std::make_unique<Mlp>(ctnn::seed(1)), file);
        auto narrow = std::make_unique<NarrowMlp>(ctnn::seed(2));
        check_load_error(*narrow, file, "architecture", "different network architecture");
        try {
            ctnn::io::load(*narrow, file);
        } catch (const format_error& e) {
            const std::string message = e.what();
            INFO(message);
            CHECK(message.find(ctnn::io::detail::hex(Mlp::architecture_hash)) != std::string::npos);
            CHECK(message.find(ctnn::io::detail::hex(NarrowMlp::architecture_hash)) != std::string::npos);
            CHECK(message.find("layer 1 weights 784x128") != std::string::npos);
            CHECK(message.find("layer 1 weights 784x64") != std::string::npos);
        }
    }
    SUBCASE("same parameters, different permutation: the message points at a parameter-free layer") {
        const fs::path file = dir / "shuffled.ctnn";
        ctnn::io::save(*std::make_unique<ShuffledMlp7>(ctnn::seed(1)), file);
        auto other = std::make_unique<ShuffledMlp8>(ctnn::seed(2));
        check_load_error(*other, file, "architecture", "parameter-free layer");
        // The same permutation loads.
        auto same = std::make_unique<ShuffledMlp7>(ctnn::seed(2));
        ctnn::io::load(*same, file);
    }
    SUBCASE("an MLP file into a CNN") {
        const fs::path file = dir / "mlp.ctnn";
        ctnn::io::save(*std::make_unique<Mlp>(ctnn::seed(1)), file);
        auto cnn = std::make_unique<Cnn>(ctnn::seed(2));
        check_load_error(*cnn, file, "architecture", "architecture");
    }
}

TEST_CASE("model file: truncation anywhere is reported with the file name") {
    SavedMlp m;
    REQUIRE(m.bytes.size() == mlp_file_size);
    struct Cut {
        const char* where;
        std::size_t length;
        const char* field;
    };
    const Cut cuts[] = {
        {"empty", 0, "header"},
        {"inside the magic", 5, "header"},
        {"inside the fixed header", fixed_header_size - 1, "header"},
        {"inside the first table entry's name", fixed_header_size + 4 + 4 + 3, "tensor 0 name"},
        {"inside the last table entry", fixed_header_size + mlp_table_size - 2, "tensor 3 element count"},
        {"at the start of the payload", fixed_header_size + mlp_table_size, "file size"},
        {"inside the payload", fixed_header_size + mlp_table_size + mlp_payload_size / 2, "file size"},
        {"inside the trailer", mlp_file_size - 2, "file size"},
        {"without the trailer", mlp_file_size - 4, "file size"},
    };
    for (const Cut& cut : cuts) {
        INFO(cut.where);
        const fs::path file = m.write_variant("cut.ctnn", {m.bytes.begin(), m.bytes.begin() + cut.length});
        check_load_error(*m.target, file, cut.field, "truncated");
    }
}

TEST_CASE("model file: a corrupted payload or trailer fails the checksum") {
    SavedMlp m;
    for (const std::size_t offset :
         {fixed_header_size + mlp_table_size, m.bytes.size() / 2, m.bytes.size() - 5, m.bytes.size() - 1}) {
        INFO("offset " << offset);
        auto corrupted = m.bytes;
        corrupted[offset] ^= 0x10;
        check_load_error(*m.target, m.write_variant("corrupt.ctnn", corrupted), "checksum",
                         "checksum mismatch: file is corrupted");
    }
}

TEST_CASE("model file: bad magic, unknown version, trailing bytes, missing file") {
    SavedMlp m;

    SUBCASE("bad magic") {
        auto bad = m.bytes;
        bad[0] = 'X';
        check_load_error(*m.target, m.write_variant("magic.ctnn", bad), "magic", "not a ctnn model file");
    }
    SUBCASE("unknown version") {
        auto bad = m.bytes;
        bad[8] = 2;
        check_load_error(*m.target, m.write_variant("version.ctnn", bad), "version",
                         "unknown format version 2 (this build reads 1)");
    }
    SUBCASE("trailing bytes") {
        auto longer = m.bytes;
        longer.insert(longer.end(), {'j', 'u', 'n', 'k'});
        check_load_error(*m.target, m.write_variant("trailing.ctnn", longer), "file size", "4 trailing bytes");
    }
    SUBCASE("two models concatenated") {
        auto twice = m.bytes;
        twice.insert(twice.end(), m.bytes.begin(), m.bytes.end());
        check_load_error(*m.target, m.write_variant("twice.ctnn", twice), "file size", "trailing bytes");
    }
    SUBCASE("missing file") { check_load_error(*m.target, m.dir / "no-such-model.ctnn", "file", "not found"); }
    SUBCASE("a directory") {
        fs::create_directory(m.dir / "folder.ctnn");
        check_load_error(*m.target, m.dir / "folder.ctnn", "file", "is a directory");
    }
}

TEST_CASE("model file: a table that disagrees with a network of the same hash is refused") {
    SavedMlp m;
    constexpr std::size_t first_entry = fixed_header_size;
    SUBCASE("tensor count") {
        auto bad = m.bytes;
        bad[20] = 3;
        check_load_error(*m.target, m.write_variant("count.ctnn", bad), "tensor count", "expected 4, found 3");
    }
    SUBCASE("layer index") {
        auto bad = m.bytes;
        bad[first_entry] = 2;
        check_load_error(*m.target, m.write_variant("layer.ctnn", bad), "tensor 0 layer index", "expected 1, found 2");
    }
    SUBCASE("name") {
        auto bad = m.bytes;
        bad[first_entry + 8] = 'W';
        check_load_error(*m.target, m.write_variant("name.ctnn", bad), "tensor 0 name",
                         "expected \"weights\", found \"Weights\"");
    }
    SUBCASE("rank") {
        auto bad = m.bytes;
        bad[first_entry + 8 + 7] = 3;
        check_load_error(*m.target, m.write_variant("rank.ctnn", bad), "tensor 0 rank", "expected 2, found 3");
    }
    SUBCASE("dims") {
        auto bad = m.bytes;
        bad[first_entry + 8 + 7 + 4 + 8] = 64;  // low byte of the second dim: 128 -> 64
        check_load_error(*m.target, m.write_variant("dims.ctnn", bad), "tensor 0 dims",
                         "expected 784x128, found 784x64");
    }
    SUBCASE("absurd name length") {
        auto bad = m.bytes;
        bad[first_entry + 4 + 3] = 0x7f;
        check_load_error(*m.target, m.write_variant("namelength.ctnn", bad), "tensor 0 name", "exceeds the limit");
    }
}

TEST_CASE("model file: a failed save leaves the old file intact and no temporary file behind") {
    TempDir dir;
    auto first = std::make_unique<Mlp>(ctnn::seed(1));
    auto second = std::make_unique<Mlp>(ctnn::seed(2));

    SUBCASE("parent directory does not exist") {
        const fs::path file = dir / "missing" / "mlp.ctnn";
        check_save_error(*first, file, "No such file or directory");
        CHECK(directory_entries(dir.path()).empty());
    }
    SUBCASE("parent is a regular file") {
        write_bytes(dir / "plain", {1, 2, 3});
        const fs::path file = dir / "plain" / "mlp.ctnn";
        check_save_error(*first, file, "Not a directory");
        CHECK(read_bytes(dir / "plain") == std::vector<std::uint8_t>{1, 2, 3});
    }
    SUBCASE("the target is a directory: the rename fails after the data was written") {
        const fs::path file = dir / "model.ctnn";
        fs::create_directory(file);
        write_bytes(file / "keep", {7});
        check_save_error(*first, file, "cannot rename");
        CHECK(directory_entries(dir.path()) == std::vector<std::string>{"model.ctnn"});
        CHECK(read_bytes(file / "keep") == std::vector<std::uint8_t>{7});
    }
    SUBCASE("the disk fills up half way (RLIMIT_FSIZE)") {
        const fs::path file = dir / "mlp.ctnn";
        ctnn::io::save(*first, file);
        const auto old_bytes = read_bytes(file);

        // Writes past the soft limit fail with EFBIG instead of killing the process with SIGXFSZ.
        rlimit original{};
        REQUIRE(::getrlimit(RLIMIT_FSIZE, &original) == 0);
        rlimit small = original;
        small.rlim_cur = 64 * 1024;
        const auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
        bool thrown = false;
        try {
            ctnn::io::save(*second, file);
        } catch (const format_error& e) {
            thrown = true;
            INFO(e.what());
            CHECK(e.file() == file);
        }
        ::setrlimit(RLIMIT_FSIZE, &original);
        std::signal(SIGXFSZ, previous_handler);

        CHECK(thrown);
        CHECK(read_bytes(file) == old_bytes);
        CHECK(directory_entries(dir.path()) == std::vector<std::string>{"mlp.ctnn"});
    }
    SUBCASE("read-only directory") {
        if (::geteuid() == 0) return;  // root writes anyway
        const fs::path file = dir / "mlp.ctnn";
        ctnn::io::save(*first, file);
        const auto old_bytes = read_bytes(file);
        fs::permissions(dir.path(), fs::perms::owner_write, fs::perm_options::remove);
        check_save_error(*second, file, "Permission denied");
        fs::permissions(dir.path(), fs::perms::owner_write, fs::perm_options::add);
        CHECK(read_bytes(file) == old_bytes);
        CHECK(directory_entries(dir.path()) == std::vector<std::string>{"mlp.ctnn"});
    }
    SUBCASE("a successful save replaces the old file and leaves nothing else") {
        const fs::path file = dir / "mlp.ctnn";
        ctnn::io::save(*first, file);
        ctnn::io::save(*second, file);
        CHECK(directory_entries(dir.path()) == std::vector<std::string>{"mlp.ctnn"});
        auto loaded = std::make_unique<Mlp>(ctnn::seed(3));
        ctnn::io::load(*loaded, file);
        CHECK(snapshot(*loaded) == snapshot(*second));
    }
}

TEST_CASE("model file: a failed load leaves a BatchNorm network's parameters and running statistics as they were") {
    using BatchNormMlp = ctnn::Sequential<ctnn::Input<4, 4, 1>, ctnn::Flatten, ctnn::Dense<16, 8>, ctnn::BatchNorm<>,
                                          ctnn::ReLU, ctnn::Dense<8, 3>>;
    using ctnn::testing::bits_of;
    using ctnn::testing::parameter_values;
    using ctnn::testing::state_values;
    // Running statistics that are neither the initial ones nor each other's.
    const auto set_state = [](BatchNormMlp& net, float base) {
        float value = base;
        net.visit_state([&](std::size_t, const ctnn::StateView& v) {
            for (float& x : v.value) x = value += 0.125f;
        });
    };
    TempDir dir;
    const fs::path good = dir / "batch_norm.ctnn";
    auto saved = std::make_unique<BatchNormMlp>(ctnn::seed(1));
    set_state(*saved, 0.5f);
    ctnn::io::save(*saved, good);
    const auto bytes = read_bytes(good);

    // Where each table entry starts; the running statistics are the last two entries and the payload's end.
    const ctnn::io::ModelFileHeader header = ctnn::io::read_header(good);
    REQUIRE(header.tensors.size() == 8);  // weights, bias, gamma, beta, weights, bias; running_mean, running_var
    REQUIRE(header.tensors[7].name == "running_var");
    std::vector<std::size_t> entry_offsets;
    std::size_t offset = fixed_header_size;
    for (const auto& t : header.tensors) {
        entry_offsets.push_back(offset);
        offset += table_entry_size(t.name.size(), t.dims.size());
    }
    const std::size_t state_payload = BatchNormMlp::state_count * sizeof(float);
    const std::size_t state_begin = bytes.size() - 4 - state_payload;

    auto target = std::make_unique<BatchNormMlp>(ctnn::seed(2));
    set_state(*target, -1.5f);
    const auto parameters_before = bits_of(parameter_values(*target));
    const auto state_before = bits_of(state_values(*target));
    REQUIRE(parameters_before != bits_of(parameter_values(*saved)));
    REQUIRE(state_before != bits_of(state_values(*saved)));

    struct Broken {
        std::string what;
        std::vector<std::uint8_t> bytes;
        std::string field, fragment;
    };
    std::vector<Broken> broken;
    {
        auto corrupt = bytes;
        corrupt[state_begin + state_payload / 2] ^= 0x01;  // inside running_var
        broken.push_back({"corrupt checksum (a running_var byte flipped)", corrupt, "checksum", "checksum mismatch"});
    }
    broken.push_back({"payload truncated inside the running statistics",
                      {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(state_begin + 6)},
                      "file size",
                      "truncated"});
    {
        auto reshaped = bytes;
        const std::size_t dims = entry_offsets[7] + 4 + 4 + header.tensors[7].name.size() + 4;
        reshaped[dims] = 9;  // running_var 8 -> 9
        broken.push_back(
            {"wrong tensor shape (running_var 9 instead of 8)", reshaped, "tensor 7 dims", "expected 8, found 9"});
    }
    {
        auto reshaped = bytes;
        const std::size_t dims = entry_offsets[0] + 4 + 4 + header.tensors[0].name.size() + 4;
        reshaped[dims] = 15;  // Dense weights 16x8 -> 15x8
        broken.push_back(
            {"wrong tensor shape (Dense weights 15x8)", reshaped, "tensor 0 dims", "expected 16x8, found 15x8"});
    }
    for (const Broken& b : broken) {
        INFO(b.what);
        const fs::path file = dir / "broken.ctnn";
        write_bytes(file, b.bytes);
        bool thrown = false;
        try {
            ctnn::io::load(*target, file);
        } catch (const format_error& e) {
            thrown = true;
            INFO(e.what());
            CHECK(e.file() == file);
            CHECK(e.field() == b.field);
            CHECK(std::string(e.what()).find(b.fragment) != std::string::npos);
        }
        CHECK(thrown);
        CHECK(bits_of(parameter_values(*target)) == parameters_before);
        CHECK(bits_of(state_values(*target)) == state_before);
    }

    // The intact file does reach both: a load that never touched the state could not have passed the above.
    ctnn::io::load(*target, good);
    CHECK(bits_of(parameter_values(*target)) == bits_of(parameter_values(*saved)));
    CHECK(bits_of(state_values(*target)) == bits_of(state_values(*saved)));
}

TEST_CASE("model file: inaccessible, unreadable and non-regular paths; table entries over the limits") {
    SavedMlp m;
    fs::create_symlink(m.dir / "loop.ctnn", m.dir / "loop.ctnn");
    check_load_error(*m.target, m.dir / "loop.ctnn", "file", "cannot access: ");
    REQUIRE(::mkfifo((m.dir / "fifo.ctnn").c_str(), 0600) == 0);  // refused before the open, which would block
    check_load_error(*m.target, m.dir / "fifo.ctnn", "file", "is not a regular file");

    const fs::path locked = m.write_variant("locked.ctnn", m.bytes);
    fs::permissions(locked, fs::perms::none);
    if (::geteuid() == 0) {
        MESSAGE("skipped the unreadable-file check: running as root, where chmod 000 does not deny reading");
    } else {
        check_load_error(*m.target, locked, "file", "cannot open: Permission denied");
    }

    auto rank = m.bytes;
    rank[fixed_header_size + 8 + 7] = 9;  // tensor 0's rank, one over max_tensor_rank
    check_load_error(*m.target, m.write_variant("rank9.ctnn", rank), "tensor 0 rank", "rank 9 exceeds the limit of 8");

    auto count = m.bytes;
    count[20 + 2] = 0x02;  // 131,076 tensors: over max_tensor_count (65,536)
    const fs::path many = m.write_variant("count.ctnn", count);
    CHECK_THROWS_WITH_AS((void)ctnn::io::read_header(many),
                         (many.string() + ": tensor count: 131076 exceeds the limit of 65536").c_str(), format_error);
}
