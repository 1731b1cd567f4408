// Fuzz target: the safetensors reader, twice per input: read_safetensors (every tensor of any file, as floats)
// and load_safetensors into the fixed network of model_file_network.hpp (PyTorch's names and layouts).
// An accepted file's tensors must each hold as many values as their shape says; a rejected load must leave
// the network bit for bit as it was.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "ctnn/io/safetensors.hpp"
#include "fuzz_input.hpp"
#include "model_file_network.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto net = std::make_unique<ctnn::fuzz::FuzzNetwork>(ctnn::seed(1), 1);
    const auto file = ctnn::fuzz::input_directory().write("input.safetensors", data, size);

    try {
        for (const auto& [name, tensor] : ctnn::io::read_safetensors(file))
            if (tensor.values.size() != ctnn::io::detail::element_count(tensor.shape)) {
                std::fprintf(stderr, "read_safetensors: tensor %s holds %zu values for its shape\n", name.c_str(),
                             tensor.values.size());
                std::abort();
            }
    } catch (const ctnn::io::format_error& e) {
        ctnn::fuzz::check_rejection(e, {file});
    }

    const auto before = ctnn::fuzz::values_of(*net);
    try {
        ctnn::io::load_safetensors(*net, file);
    } catch (const ctnn::io::format_error& e) {
        ctnn::fuzz::check_rejection(e, {file});
        if (ctnn::fuzz::values_of(*net) != before) {
            std::fprintf(stderr, "a rejected load_safetensors changed the network\n");
            std::abort();
        }
    }
    return 0;
}
