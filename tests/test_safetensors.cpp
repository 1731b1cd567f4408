// Tests for ctnn/io/safetensors.hpp: bit-exact round trips through files, the written layout, F16 and BF16
// against known values, every malformed file refused with the file and the field named and the network left as
// it was, and the PyTorch fixtures (tests/fixtures/pytorch, scripts/pytorch/make_safetensors_fixtures.py): ctnn
// loads PyTorch's state dicts and reproduces PyTorch's outputs. Built only with nlohmann-json (ctnn::safetensors).

#ifdef CTNN_TESTS_HAVE_SAFETENSORS

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctnn/ctnn.hpp"
#include "ctnn/io/safetensors.hpp"
#include "gradient_check.hpp"  // fill_uniform
#include "idx_writer.hpp"      // TempDir, read_all
#include "network_values.hpp"  // bits_of, parameter_values, state_values
#include "seed_networks.hpp"

#ifndef CTNN_PYTORCH_FIXTURES
#error "CTNN_PYTORCH_FIXTURES must name tests/fixtures/pytorch"
#endif

namespace {

namespace fs = std::filesystem;
using namespace ctnn;
using io::format_error;
using io::StateDict;
using json = nlohmann::json;
using testing::bits_of;
using testing::parameter_and_state_bits;
using testing::parameter_values;
using testing::state_values;

using BnMlp = Sequential<Input<28, 28, 1>, Flatten, Dense<784, 128>, TorchBatchNorm, ReLU, Dense<128, 10>>;
using Block = Residual<Conv2D<3, 3, 8, 8, 1, Padding::same>, TorchBatchNorm, ReLU, Conv2D<3, 3, 8, 8, 1, Padding::same>,
                       TorchBatchNorm>;
using ResidualNet = Sequential<Input<12, 12, 1>, Conv2D<3, 3, 1, 8, 1, Padding::same>, TorchBatchNorm, ReLU, Block,
                               ReLU, MaxPool2D<2>, Residual<Block, ReLU>, ReLU, GlobalAvgPool2D, Dense<8, 10>>;
// The network the malformed files are made for: tensors 0.weight [2, 3], 0.bias, 1.weight, 1.bias,
// 1.running_mean, 1.running_var [2].
using Small = Sequential<Input<3>, Dense<3, 2>, TorchBatchNorm>;

// The fixtures' networks (scripts/pytorch/models.py, fixture_*).
using FixtureMlp = Sequential<Input<5, 4, 2>, Flatten, Dense<40, 16>, ReLU, Dropout<>, Dense<16, 5>>;
using FixtureCnn =
    Sequential<Input<9, 8, 3>, Conv2D<3, 3, 3, 4>, ReLU, MaxPool2D<2>, Flatten, Dense<36, 8>, ReLU, Dense<8, 5>>;
using FixtureResidual =
    Sequential<Input<8, 7, 2>, Conv2D<3, 3, 2, 4, 1, Padding::same>, TorchBatchNorm, ReLU,
               Residual<Conv2D<3, 3, 4, 4, 1, Padding::same>, TorchBatchNorm, ReLU, Residual<Conv2D<1, 1, 4, 4>>>, ReLU,
               MaxPool2D<2>, Residual<Conv2D<3, 3, 4, 4, 1, Padding::same>, TorchBatchNorm>, GlobalAvgPool2D,
               Dense<4, 5>>;
using FixtureBnFeatures =
    Sequential<Input<4, 3, 3>, Conv2D<2, 2, 3, 5>, Flatten, TorchBatchNorm, ReLU, Dense<30, 6>, Softmax>;

template <class Net>
void randomise(Net& net, Rng& rng) {
    net.visit_parameters([&](std::size_t, const ParameterView& p) { testing::fill_uniform(p.value, rng); });
    net.visit_state([&](std::size_t, const StateView& s) {
        const bool variance = s.name == "running_var";
        testing::fill_uniform(s.value, rng, variance ? 0.5f : -0.5f, variance ? 1.5f : 0.5f);
    });
}

// Saves net, loads the file into a network made with another seed: outputs, parameters and state bit for bit
// equal (and the outputs differed before the load).
template <class Net>
void check_file_round_trip(std::uint64_t seed_value) {
    constexpr std::size_t n = 3;
    auto net = std::make_unique<Net>(seed(seed_value), n);
    Rng rng(seed_value);
    randomise(*net, rng);
    Buffer x(n * Net::input_shape::size);
    testing::fill_uniform(x, rng);
    const auto expected = bits_of(net->forward(x.data(), n));
    ctnn::test::TempDir dir;
    const fs::path file = dir / "net.safetensors";
    io::save_safetensors(*net, file);
    auto loaded = std::make_unique<Net>(seed(seed_value + 1), n);
    REQUIRE(bits_of(loaded->forward(x.data(), n)) != expected);
    io::load_safetensors(*loaded, file);
    CHECK(bits_of(loaded->forward(x.data(), n)) == expected);
    CHECK(parameter_and_state_bits(*loaded) == parameter_and_state_bits(*net));
}

std::vector<unsigned char> u64_bytes(std::uint64_t value) {
    std::vector<unsigned char> bytes(8);
    std::memcpy(bytes.data(), &value, 8);
    return bytes;
}

// A file made of a header length, header text and data, each as given.
void write_file(const fs::path& file, std::uint64_t header_length, const std::string& header,
                const std::vector<unsigned char>& data) {
    std::vector<unsigned char> bytes = u64_bytes(header_length);
    bytes.insert(bytes.end(), header.begin(), header.end());
    bytes.insert(bytes.end(), data.begin(), data.end());
    ctnn::test::write_plain(file, bytes);
}
void write_file(const fs::path& file, const std::string& header, const std::vector<unsigned char>& data) {
    write_file(file, header.size(), header, data);
}

// A well-formed file for Small: the header as JSON (to be spoilt by a test) and its data buffer.
struct SmallFile {
    json header;
    std::vector<unsigned char> data;
};
SmallFile small_file(Rng& rng) {
    auto source = std::make_unique<Small>(seed(9), 1);
    randomise(*source, rng);
    SmallFile f;
    f.header["__metadata__"] = {{"format", "pt"}};
    for (const auto& [name, t] : io::state_dict(*source)) {
        const std::size_t begin = f.data.size();
        const auto* bytes = reinterpret_cast<const unsigned char*>(t.values.data());
        f.data.insert(f.data.end(), bytes, bytes + t.values.size() * sizeof(float));
        f.header[name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {begin, f.data.size()}}};
    }
    return f;
}

// load_safetensors must throw format_error naming `file` and `field`, with `problem` in the message, and leave
// net as it was.
template <class Net>
void check_refused(Net& net, const fs::path& file, const std::string& field, const std::string& problem) {
    const auto before = parameter_and_state_bits(net);
    try {
        io::load_safetensors(net, file);
        FAIL("load_safetensors accepted a bad file (field " << field << ")");
    } catch (const format_error& e) {
        const std::string message = e.what();
        INFO(message);
        CHECK(e.file() == file);
        CHECK(e.field() == field);
        CHECK(message.find(file.string() + ": " + field + ": ") == 0);
        CHECK(message.find(problem) != std::string::npos);
    }
    CHECK(parameter_and_state_bits(net) == before);
}

// ctnn's NHWC images from PyTorch's NCHW ones.
template <class Net>
std::vector<float> nhwc(const io::TorchTensor& nchw) {
    using S = typename Net::input_shape;
    constexpr std::size_t h = S::dims[0], w = S::dims[1], c = S::dims[2];
    REQUIRE(nchw.shape.size() == 4);
    REQUIRE(nchw.shape[1] == std::int64_t{c});
    REQUIRE(nchw.shape[2] == std::int64_t{h});
    REQUIRE(nchw.shape[3] == std::int64_t{w});
    const auto n = static_cast<std::size_t>(nchw.shape[0]);
    std::vector<float> out(nchw.values.size());
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t k = 0; k < c; ++k)
            for (std::size_t i = 0; i < h; ++i)
                for (std::size_t j = 0; j < w; ++j)
                    out[((b * h + i) * w + j) * c + k] = nchw.values[((b * c + k) * h + i) * w + j];
    return out;
}

// Loads fixture NAME into Net and compares its outputs with PyTorch's: the largest difference relative to the
// largest |output| of its sample must stay within 1e-5. Returns that largest relative difference.
template <class Net>
double check_fixture(const std::string& name) {
    const fs::path directory = CTNN_PYTORCH_FIXTURES;
    auto net = std::make_unique<Net>(seed(1), 8);
    const auto before = parameter_and_state_bits(*net);
    io::load_safetensors(*net, directory / (name + ".safetensors"));
    REQUIRE(parameter_and_state_bits(*net) != before);
    const StateDict io_tensors = io::read_safetensors(directory / (name + ".io.safetensors"));
    const io::TorchTensor& input = io_tensors.at("input");
    const io::TorchTensor& output = io_tensors.at("output");
    const auto n = static_cast<std::size_t>(input.shape[0]);
    REQUIRE(output.shape == std::vector<std::int64_t>{std::int64_t(n), std::int64_t{Net::output_shape::size}});
    const std::vector<float> x = nhwc<Net>(input);
    const std::span<const float> y = net->forward(x.data(), n);
    constexpr std::size_t classes = Net::output_shape::size;
    double worst = 0.0;
    for (std::size_t b = 0; b < n; ++b) {
        double scale = 0.0;
        for (std::size_t k = 0; k < classes; ++k)
            scale = std::max(scale, std::abs(double{output.values[b * classes + k]}));
        REQUIRE(scale > 0.0);
        for (std::size_t k = 0; k < classes; ++k)
            worst = std::max(worst, std::abs(double{y[b * classes + k]} - output.values[b * classes + k]) / scale);
    }
    MESSAGE(name << ": max relative difference to PyTorch " << worst);
    CHECK(worst <= 1e-5);
    return worst;
}

}  // namespace

TEST_CASE("safetensors: round trips through a file are bit-exact (MLP, CNN, BatchNorm, nested residual blocks)") {
    check_file_round_trip<testing::SeedMlp>(1);
    check_file_round_trip<testing::SeedCnn>(2);
    check_file_round_trip<BnMlp>(3);
    check_file_round_trip<ResidualNet>(4);
}

TEST_CASE("safetensors: the written file is the reference layout: padded header, F32, covered buffer, metadata") {
    auto net = std::make_unique<BnMlp>(seed(5), 1);
    ctnn::test::TempDir dir;
    const fs::path file = dir / "bn.safetensors";
    io::save_safetensors(*net, file);
    const std::vector<std::uint8_t> bytes = ctnn::test::read_all(file);
    REQUIRE(bytes.size() > 8);
    std::uint64_t length = 0;
    std::memcpy(&length, bytes.data(), 8);
    CHECK(length % 8 == 0);
    REQUIRE(8 + length <= bytes.size());
    const std::string text(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(length));
    const json header = json::parse(text);  // trailing spaces are whitespace
    CHECK(text.find_last_not_of(' ') + 1 >= text.size() - 7);
    CHECK(header.at("__metadata__") == json{{"format", "pt"}});
    const StateDict expected = io::state_dict(*net);
    CHECK(header.size() == expected.size() + 1);
    std::uint64_t covered = 0;
    for (const auto& [name, t] : expected) {  // name order, contiguous
        const json& entry = header.at(name);
        CHECK(entry.at("dtype") == "F32");
        CHECK(entry.at("shape").get<std::vector<std::int64_t>>() == t.shape);
        const auto offsets = entry.at("data_offsets").get<std::vector<std::uint64_t>>();
        CHECK(offsets[0] == covered);
        covered = offsets[1];
        std::vector<float> values(t.values.size());
        std::memcpy(values.data(), bytes.data() + 8 + length + offsets[0], offsets[1] - offsets[0]);
        CHECK(bits_of(values) == bits_of(t.values));
    }
    CHECK(8 + length + covered == bytes.size());
    // Without a network: read_safetensors gives back what write_safetensors wrote.
    const StateDict read = io::read_safetensors(file);
    REQUIRE(read.size() == expected.size());
    for (const auto& [name, t] : expected) CHECK(bits_of(read.at(name).values) == bits_of(t.values));
    // A save that cannot create its file reports it.
    CHECK_THROWS_AS(io::save_safetensors(*net, dir / "no such directory" / "bn.safetensors"), format_error);
}

TEST_CASE("safetensors: F16 and BF16 convert to float exactly") {
    using io::detail::bfloat16_to_float;
    using io::detail::half_to_float;
    CHECK(half_to_float(0x3C00) == 1.0f);
    CHECK(half_to_float(0xC000) == -2.0f);
    CHECK(half_to_float(0x3E00) == 1.5f);
    CHECK(half_to_float(0x3555) == 0.333251953125f);
    CHECK(half_to_float(0x7BFF) == 65504.0f);  // the largest half
    CHECK(half_to_float(0x0400) == 0x1p-14f);  // the smallest normal
    CHECK(half_to_float(0x0001) == 0x1p-24f);  // the smallest subnormal
    CHECK(half_to_float(0x03FF) == 1023 * 0x1p-24f);
    CHECK(half_to_float(0x8001) == -0x1p-24f);
    CHECK(std::bit_cast<std::uint32_t>(half_to_float(0x8000)) == 0x80000000u);  // -0
    CHECK(half_to_float(0x7C00) == INFINITY);
    CHECK(half_to_float(0xFC00) == -INFINITY);
    CHECK(std::isnan(half_to_float(0x7E00)));
    CHECK(std::isnan(half_to_float(0x7C01)));  // a signalling NaN stays a NaN, not an infinity
    CHECK(bfloat16_to_float(0x3F80) == 1.0f);
    CHECK(bfloat16_to_float(0xC040) == -3.0f);
    CHECK(bfloat16_to_float(0x4049) == 3.140625f);
    CHECK(bfloat16_to_float(0x7F7F) == 0x1.fep127f);  // the largest bfloat16
    CHECK(bfloat16_to_float(0x0001) == 0x1p-133f);    // its smallest subnormal
    CHECK(bfloat16_to_float(0xFF80) == -INFINITY);
    CHECK(std::isnan(bfloat16_to_float(0x7FC0)));
#ifdef __FLT16_MAX__
    // Every half against the compiler's own _Float16.
    for (std::uint32_t h = 0; h < 0x10000; ++h) {
        const float ours = half_to_float(static_cast<std::uint16_t>(h));
        const float theirs = static_cast<float>(std::bit_cast<_Float16>(static_cast<std::uint16_t>(h)));
        if (std::isnan(theirs))
            REQUIRE(std::isnan(ours));
        else
            REQUIRE(std::bit_cast<std::uint32_t>(ours) == std::bit_cast<std::uint32_t>(theirs));
    }
#endif

    // In a file: an F16 weight and a BF16 bias.
    using Net = Sequential<Input<3>, Dense<3, 2>>;
    const std::uint16_t weight[] = {0x3C00, 0xC000, 0x3555, 0x0001, 0x7BFF, 0x8000};  // [2, 3], PyTorch's [out, in]
    const std::uint16_t bias[] = {0x4049, 0xC040};
    std::vector<unsigned char> data(sizeof weight + sizeof bias);
    std::memcpy(data.data(), bias, sizeof bias);
    std::memcpy(data.data() + sizeof bias, weight, sizeof weight);
    const json header = {{"0.bias", {{"dtype", "BF16"}, {"shape", {2}}, {"data_offsets", {0, 4}}}},
                         {"0.weight", {{"dtype", "F16"}, {"shape", {2, 3}}, {"data_offsets", {4, 16}}}}};
    ctnn::test::TempDir dir;
    write_file(dir / "half.safetensors", header.dump(), data);
    auto net = std::make_unique<Net>(seed(1), 1);
    io::load_safetensors(*net, dir / "half.safetensors");
    const auto& dense = net->layer<0>();
    CHECK(dense.weights(0, 0) == 1.0f);
    CHECK(dense.weights(1, 0) == -2.0f);
    CHECK(dense.weights(2, 0) == 0.333251953125f);
    CHECK(dense.weights(0, 1) == 0x1p-24f);
    CHECK(dense.weights(1, 1) == 65504.0f);
    CHECK(std::bit_cast<std::uint32_t>(float{dense.weights(2, 1)}) == 0x80000000u);
    CHECK(dense.bias(0) == 3.140625f);
    CHECK(dense.bias(1) == -3.0f);
}

TEST_CASE("safetensors: files that cannot be read are refused with the file named, the network unchanged") {
    ctnn::test::TempDir dir;
    auto net = std::make_unique<Small>(seed(1), 1);
    Rng rng(2);
    randomise(*net, rng);
    const fs::path file = dir / "small.safetensors";
    const SmallFile good = small_file(rng);

    // The well-formed file loads: the cases below each spoil one thing.
    write_file(file, good.header.dump(), good.data);
    {
        auto copy = std::make_unique<Small>(*net);
        io::load_safetensors(*copy, file);
        CHECK(parameter_and_state_bits(*copy) != parameter_and_state_bits(*net));
    }

    SUBCASE("missing file") { check_refused(*net, dir / "absent.safetensors", "file", "not found"); }
    SUBCASE("directory") { check_refused(*net, dir.path(), "file", "is a directory"); }
    SUBCASE("empty file") {
        ctnn::test::write_plain(file, {});
        check_refused(*net, file, "file", "is empty");
    }
    SUBCASE("shorter than the header length") {
        const std::vector<std::uint8_t> five = {1, 0, 0, 0, 0};
        ctnn::test::write_plain(file, five);
        check_refused(*net, file, "header length", "truncated: needs 8 bytes, the file has 5");
    }
    SUBCASE("header length beyond the file") {
        const std::string text = good.header.dump();
        write_file(file, text.size() + good.data.size() + 1, text, good.data);
        check_refused(*net, file, "header length", "but the file has");
    }
    SUBCASE("header length beyond the limit, checked before anything is allocated") {
        write_file(file, io::safetensors_max_header_size + 1, good.header.dump(), good.data);
        check_refused(*net, file, "header length", "exceeds the limit of 100000000");
        write_file(file, ~std::uint64_t{0}, good.header.dump(), good.data);
        check_refused(*net, file, "header length", "exceeds the limit");
    }
    SUBCASE("malformed JSON") {
        write_file(file, R"({"0.weight": {"dtype": "F32",)", good.data);
        check_refused(*net, file, "header", "malformed JSON: [json.exception.parse_error");
    }
    SUBCASE("JSON nested deeper than a header can be, refused before anything recurses over it") {
        // 100,000 levels: found by fuzzing, this overflowed the stack in the error message's dump().
        write_file(file, std::string(100000, '[') + std::string(100000, ']'), good.data);
        check_refused(*net, file, "header", "malformed JSON: nested deeper than 16 levels");
    }
    SUBCASE("a header that is not an object") {
        write_file(file, "[1, 2]", good.data);
        check_refused(*net, file, "header", "not a JSON object");
    }
    SUBCASE("metadata that is not a map of strings") {
        json header = good.header;
        header["__metadata__"] = 3;
        write_file(file, header.dump(), good.data);
        check_refused(*net, file, "__metadata__", "not an object of strings");
        header["__metadata__"] = {{"format", 7}};
        write_file(file, header.dump(), good.data);
        check_refused(*net, file, "__metadata__", "the value of \"format\" is 7, not a string");
    }
    SUBCASE("an entry that is not an object") {
        json header = good.header;
        header["0.weight"] = 3;
        write_file(file, header.dump(), good.data);
        check_refused(*net, file, "0.weight", "not an object with dtype, shape and data_offsets");
    }
    for (const char* key : {"dtype", "shape", "data_offsets"}) {
        const std::string subcase = std::string("an entry without ") + key;  // one subcase per key
        SUBCASE(subcase.c_str()) {
            json header = good.header;
            header["1.running_var"].erase(key);
            write_file(file, header.dump(), good.data);
            check_refused(*net, file, "1.running_var", std::string(key) + ": missing");
        }
    }
    SUBCASE("a tensor with an empty name (found by fuzz_safetensors)") {
        json header = good.header;
        header[""] = {{"dtype", "F16"}, {"data_offsets", {0, 2}}};
        write_file(file, header.dump(), good.data);
        check_refused(*net, file, "header", "a tensor entry has an empty name");
    }
    SUBCASE("a dtype that is not a string") {
        json header = good.header;
        header["0.bias"]["dtype"] = 4;
        write_file(file, header.dump(), good.data);
        check_refused(*net, file, "0.bias", "dtype: 4 is not a string");
    }
    SUBCASE("an unknown dtype") {
        json header = good.header;
        header["0.bias"]["dtype"] = "F33";
        write_file(file, header.dump(), good.data);
        check_refused(*net, file, "0.bias", "dtype: unknown dtype \"F33\"");
    }
    SUBCASE("a dtype that does not convert to float, for a tensor the network needs") {
        json header = good.header;
        header["0.bias"]["dtype"] = "I32";  // 2 x 4 bytes: the layout stays valid
        write_file(file, header.dump(), good.data);
        check_refused(*net, file, "0.bias", "dtype I32 is not supported: ctnn reads F32, F16 and BF16");
    }
    SUBCASE("a shape that is not an array") {
        json header = good.header;
        header["0.weight"]["shape"] = "2x3";
        write_file(file, header.dump(), good.data);
        check_refused(*net, file, "0.weight", "shape: \"2x3\" is not an array");
    }
    SUBCASE("a negative dimension") {
        json header = good.header;
        header["0.weight"]["shape"] = {-2, -3};
        write_file(file, header.dump(), good.data);
        check_refused(*net, file, "0.weight", "shape: dimension 0 is -2, not a non-negative integer");
    }
    SUBCASE("a dimension that is not an integer") {
        json header = good.header;
        header["0.weight"]["shape"] = {2.0, 3};
        write_file(file, header.dump(), good.data);
        check_refused(*net, file, "0.weight", "shape: dimension 0 is 2.0, not a non-negative integer");
    }
    SUBCASE("a shape whose byte count overflows") {
        json header = good.header;
        header["0.weight"]["shape"] = {4294967296ULL, 4294967296ULL, 4};
        write_file(file, header.dump(), good.data);
        check_refused(*net, file, "0.weight", "shape: 4294967296x4294967296x4 overflows the byte count");
    }
    SUBCASE("data_offsets that are not a pair") {
        json header = good.header;
        header["0.weight"]["data_offsets"] = {8};
        write_file(file, header.dump(), good.data);
        check_refused(*net, file, "0.weight", "data_offsets: [8] is not an array [begin, end]");
    }
    SUBCASE("data_offsets with begin after end") {
        json header = good.header;
        header["0.weight"]["data_offsets"] = {32, 8};
        write_file(file, header.dump(), good.data);
        check_refused(*net, file, "0.weight", "data_offsets: begin 32 > end 8");
    }
    SUBCASE("a tensor ending beyond the buffer") {
        json header = good.header;
        header["1.weight"]["data_offsets"] = {good.data.size(), good.data.size() + 8};
        write_file(file, header.dump(), good.data);
        check_refused(*net, file, "1.weight", "lies beyond the data buffer of 64 bytes");
    }
    SUBCASE("a byte count that does not match the shape") {
        json header = good.header;
        header["0.weight"]["shape"] = {2, 2};
        write_file(file, header.dump(), good.data);
        check_refused(*net, file, "0.weight", "span 24 bytes, shape 2x2 of F32 needs 16");
    }
    SUBCASE("overlapping tensors") {
        json header = good.header;  // name order: 0.bias [0, 8), 0.weight [8, 32), 1.bias [32, 40), ...
        REQUIRE(header["0.weight"]["data_offsets"] == json{8, 32});
        header["1.bias"]["data_offsets"] = {24, 32};
        write_file(file, header.dump(), good.data);
        check_refused(*net, file, "1.bias", "data_offsets [24, 32) overlap tensor 0.weight's [8, 32)");
    }
    SUBCASE("a gap between tensors") {
        json header = good.header;
        header["1.bias"]["data_offsets"] = {36, 44};
        write_file(file, header.dump(), good.data);
        check_refused(*net, file, "1.bias", "the 4 bytes before it, from 32, belong to no tensor");
    }
    SUBCASE("bytes after the last tensor") {
        std::vector<unsigned char> data = good.data;
        data.insert(data.end(), {1, 2, 3});
        write_file(file, good.header.dump(), data);
        check_refused(*net, file, "data", "3 bytes after the last tensor");
    }
    SUBCASE("a tensor the network does not have, and one missing") {
        json header = good.header;
        header["2.weight"] = header["1.weight"];
        header.erase("1.weight");
        write_file(file, header.dump(), good.data);
        check_refused(*net, file, "1.weight", "missing: expected 2 (PyTorch BatchNorm weight [C] of layer 1");
        header["1.weight"] = {{"dtype", "I64"}, {"shape", json::array()}, {"data_offsets", {64, 72}}};
        std::vector<unsigned char> data = good.data;
        data.resize(72);
        std::swap(header["1.weight"], header["2.weight"]);
        write_file(file, header.dump(), data);
        // An unexpected tensor is reported as such whatever its dtype.
        check_refused(*net, file, "2.weight", "unexpected: this network has no such tensor");
    }
}

TEST_CASE("safetensors: unexpected tensors of any dtype may be allowed; num_batches_tracked is ignored") {
    ctnn::test::TempDir dir;
    Rng rng(3);
    SmallFile f = small_file(rng);
    auto reference = std::make_unique<Small>(seed(1), 1);
    write_file(dir / "plain.safetensors", f.header.dump(), f.data);
    io::load_safetensors(*reference, dir / "plain.safetensors");

    const std::size_t end = f.data.size();
    f.data.resize(end + 16);
    f.header["1.num_batches_tracked"] = {{"dtype", "I64"}, {"shape", json::array()}, {"data_offsets", {end, end + 8}}};
    f.header["extra.step"] = {{"dtype", "I64"}, {"shape", {1}}, {"data_offsets", {end + 8, end + 16}}};
    write_file(dir / "extra.safetensors", f.header.dump(), f.data);
    auto net = std::make_unique<Small>(seed(2), 1);
    check_refused(*net, dir / "extra.safetensors", "extra.step", "unexpected");
    io::load_safetensors(*net, dir / "extra.safetensors", {.rename = {}, .allow_unexpected = true});
    CHECK(parameter_and_state_bits(*net) == parameter_and_state_bits(*reference));
    // read_safetensors leaves the counter out and refuses the other I64 tensor.
    CHECK_THROWS_WITH_AS(io::read_safetensors(dir / "extra.safetensors"),
                         doctest::Contains("extra.step: dtype I64 is not supported"), format_error);
}

TEST_CASE("safetensors: ctnn reproduces PyTorch's outputs from PyTorch's state dicts (tests/fixtures/pytorch)") {
    check_fixture<FixtureMlp>("mlp");
    check_fixture<FixtureCnn>("cnn");
    check_fixture<FixtureResidual>("residual");
    check_fixture<FixtureBnFeatures>("bn_features");  // probabilities: the network ends in Softmax
    check_fixture<FixtureCnn>("cnn_f16");
    check_fixture<FixtureResidual>("residual_bf16");
}

#endif  // CTNN_TESTS_HAVE_SAFETENSORS
