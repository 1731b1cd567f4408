// Fuzz target: ctnn::io::load into a small fixed network with every kind of tensor a model file holds
// (rank 4 convolution weights, rank 1 biases, BatchNorm's trainable gamma/beta and its running statistics,
// a rank 2 Dense matrix), and the two readers for tools that have no network type: read_header (the table) and
// read_model_file (everything, checked as load() checks it).
// A rejected file must leave the network's parameters and state bit for bit as they were (load's contract);
// an accepted one must be exactly what save() writes for the network it produced, and read_header and
// read_model_file must then accept it too and agree with the network. read_model_file must also accept nothing
// that read_header rejects, and its element counts must be the products of the dims.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <vector>

#include "ctnn/io/model_file.hpp"
#include "fuzz_input.hpp"
#include "model_file_network.hpp"

namespace {

using ctnn::fuzz::FuzzNetwork;
using ctnn::fuzz::values_of;

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "%s\n", what);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto net = std::make_unique<FuzzNetwork>(ctnn::seed(1), 1);
    const auto& directory = ctnn::fuzz::input_directory();
    const auto file = directory.write("input.ctnn", data, size);

    const auto before = values_of(*net);
    bool loaded = false;
    try {
        ctnn::io::load(*net, file);
        loaded = true;
    } catch (const ctnn::io::format_error& e) {
        ctnn::fuzz::check_rejection(e, {file});
        if (values_of(*net) != before) fail("a rejected load changed the network");
    }
    if (loaded) {
        const auto resaved = directory / "resaved.ctnn";
        ctnn::io::save(*net, resaved);
        if (read_bytes(resaved) != std::vector<std::uint8_t>(data, data + size))
            fail("an accepted file differs from what save() writes for the network it produced");
    }

    std::optional<ctnn::io::ModelFileHeader> header;
    try {
        header = ctnn::io::read_header(file);
        if (header->tensors.size() > ctnn::io::max_tensor_count) fail("read_header returned too many tensors");
        for (const auto& t : header->tensors)
            if (t.name.size() > ctnn::io::max_tensor_name_length || t.dims.size() > ctnn::io::max_tensor_rank)
                fail("read_header returned a tensor beyond the limits");
        if (loaded && (header->architecture_hash != FuzzNetwork::architecture_hash ||
                       header->tensors != ctnn::io::detail::tensors_of(*net).records))
            fail("read_header disagrees with a file that load() accepted");
    } catch (const ctnn::io::format_error& e) {
        ctnn::fuzz::check_rejection(e, {file});
        if (loaded) fail("read_header rejected a file that load() accepted");
    }

    try {
        const ctnn::io::ModelFileContents contents = ctnn::io::read_model_file(file);
        if (!header || contents.header.architecture_hash != header->architecture_hash ||
            contents.header.tensors != header->tensors)
            fail("read_model_file accepted a file whose table read_header does not return");
        std::uint64_t total = 0;
        for (const auto& t : contents.header.tensors) {
            std::uint64_t product = 1;
            bool overflow = false;
            for (std::uint64_t d : t.dims) overflow = __builtin_mul_overflow(product, d, &product) || overflow;
            if (overflow || product != t.element_count)
                fail("read_model_file accepted an element count that is not the product of the dims");
            total += t.element_count;
        }
        if (contents.values.size() != total) fail("read_model_file returned the wrong number of values");
        std::vector<std::uint32_t> bits;
        for (float v : contents.values) bits.push_back(std::bit_cast<std::uint32_t>(v));
        if (loaded && bits != values_of(*net)) fail("read_model_file and load() read different values");
    } catch (const ctnn::io::format_error& e) {
        ctnn::fuzz::check_rejection(e, {file});
        if (loaded) fail("read_model_file rejected a file that load() accepted");
    }
    return 0;
}
