// The ctnn_embed tool end to end: make_models.cpp wrote the model files, ctnn_embed_model() turned them into
// headers at build time, and here each embedded network must equal the same file loaded with io::load(), bit for
// bit: parameters, state and outputs. The payload is also compared with the file's bytes read directly (not
// through ctnn's reader), and the planted values (-0, subnormals, extremes) must be there.

#include <doctest/doctest.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

#include "embed/embed_networks.hpp"
#include "network_values.hpp"

#include "batch_norm_cnn_parameters.hpp"  // in namespace ctnn_test::models
#include "odd_name_parameters.hpp"
#include "seed_mlp_parameters.hpp"

using namespace ctnn;
using namespace ctnn::testing::embed;
using ctnn::testing::bits_of;
using ctnn::testing::parameter_values;
using ctnn::testing::state_values;
using ctnn_test::models::batch_norm_cnn_parameters;

// What the headers carry, as constants the compiler checks.
static_assert(decltype(seed_mlp_parameters)::architecture_hash == SeedMlp::architecture_hash);
static_assert(decltype(seed_mlp_parameters)::value_count == 101'770);
static_assert(decltype(batch_norm_cnn_parameters)::architecture_hash == BatchNormCnn::architecture_hash);
static_assert(decltype(batch_norm_cnn_parameters)::value_count ==
              BatchNormCnn::parameter_count + BatchNormCnn::state_count);
static_assert(BatchNormCnn::state_count == 8);
static_assert(io::element_total(seed_mlp_parameters.tensors) == 101'770);

namespace {

const std::filesystem::path models_dir = CTNN_EMBED_MODELS_DIR;

// The payload as the file stores it: the floats between the table and the 4-byte checksum at the end.
std::vector<float> payload_bytes_of(const std::filesystem::path& file, std::size_t count) {
    std::ifstream in(file, std::ios::binary);
    const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    REQUIRE(bytes.size() >= 4 + count * sizeof(float));
    std::vector<float> values(count);
    std::memcpy(values.data(), bytes.data() + bytes.size() - 4 - count * sizeof(float), count * sizeof(float));
    return values;
}

template <class Net, class Embedded>
void check_embedded_equals_loaded(const Embedded& embedded, const std::filesystem::path& file,
                                  std::uint64_t input_seed) {
    INFO(file.string());
    const auto from_header = std::make_unique<Net>(embedded);
    auto from_file = std::make_unique<Net>();
    io::load(*from_file, file);
    auto fresh = std::make_unique<Net>();

    const std::vector<float> parameters = parameter_values(*from_header);
    const std::vector<float> state = state_values(*from_header);
    CHECK(bits_of(parameters) == bits_of(parameter_values(*from_file)));
    CHECK(bits_of(state) == bits_of(state_values(*from_file)));
    // Not vacuous: the file's values are not what a fresh network starts from.
    CHECK(bits_of(parameters) != bits_of(parameter_values(*fresh)));

    // The values in the header are the file's payload, read from its bytes directly.
    std::vector<float> all = parameters;
    all.insert(all.end(), state.begin(), state.end());
    CHECK(bits_of(all) == bits_of(payload_bytes_of(file, Embedded::value_count)));
    CHECK(bits_of(embedded.values) == bits_of(all));

    // The tensor table is the file's.
    const io::ModelFileHeader header = io::read_header(file);
    REQUIRE(embedded.tensors.size() == header.tensors.size());
    for (std::size_t i = 0; i < header.tensors.size(); ++i) {
        const io::EmbeddedTensor& t = embedded.tensors[i];
        CHECK(t.layer_index == header.tensors[i].layer_index);
        CHECK(t.name == header.tensors[i].name);
        CHECK(std::vector<std::uint64_t>(t.dims.begin(), t.dims.end()) == header.tensors[i].dims);
        CHECK(t.element_count == header.tensors[i].element_count);
    }

    // Outputs on random inputs, batch of 5, inference (running statistics for BatchNorm).
    constexpr std::size_t n = 5;
    std::vector<float> x(n * Net::input_shape::size);
    Rng rng(input_seed);
    for (float& v : x) v = rng.uniform(-1.0f, 1.0f);
    const auto y_header = from_header->forward(x.data(), n);
    const auto y_file = from_file->forward(x.data(), n);
    CHECK(bits_of(y_header) == bits_of(y_file));
    CHECK(bits_of(y_header) != bits_of(fresh->forward(x.data(), n)));
}

}  // namespace

TEST_CASE("embedded: the seed MLP compiled in equals the one loaded from its model file") {
    check_embedded_equals_loaded<SeedMlp>(seed_mlp_parameters, models_dir / "seed_mlp.ctnn", 3);
    // Structured bindings would not do: clang 14 cannot capture them in doctest's INFO.
    for (const auto& planted : planted_values) {
        INFO("value ", planted.first);
        CHECK(std::bit_cast<std::uint32_t>(seed_mlp_parameters.values[planted.first]) ==
              std::bit_cast<std::uint32_t>(planted.second));
    }
}

TEST_CASE("embedded: a CNN with BatchNorm state compiled in equals the one loaded from its model file") {
    check_embedded_equals_loaded<BatchNormCnn>(batch_norm_cnn_parameters, models_dir / "batch_norm_cnn.ctnn", 5);
    // The state is not BatchNorm's initial mean 0 and variance 1: it came from the file.
    const auto net = std::make_unique<BatchNormCnn>(batch_norm_cnn_parameters);
    const std::vector<float> state = state_values(*net);
    CHECK(state != std::vector<float>{0, 0, 0, 0, 1, 1, 1, 1});
}

TEST_CASE("embedded: Net net{parameters} on the stack, with the batch size asked for") {
    SeedMlp net{seed_mlp_parameters, 4};
    CHECK(net.max_batch() == 4);
    CHECK(bits_of(parameter_values(net)) == bits_of(seed_mlp_parameters.values));
}

TEST_CASE("embedded: a tensor name reaches the header as the file has it, quotes and control characters included") {
    REQUIRE(odd_name_parameters.tensors.size() == batch_norm_cnn_parameters.tensors.size());
    CHECK(odd_name_parameters.tensors[0].name == odd_tensor_name);
    CHECK(odd_name_parameters.tensors[0].name == io::read_header(models_dir / "odd_name.ctnn").tensors[0].name);
    CHECK(odd_name_parameters.tensors[1].name == "bias");
    CHECK(bits_of(odd_name_parameters.values) == bits_of(batch_norm_cnn_parameters.values));
}
