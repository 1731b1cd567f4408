// Fuzz target: io::load_onnx into the fixed network of model_file_network.hpp (Conv, BatchNormalization,
// Relu, Flatten, Gemm). Inputs are protobuf bytes: the corpus holds torch.onnx.export output for that network
// (make_onnx_seeds.py). A rejected load must leave the network bit for bit as it was.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "ctnn/io/onnx.hpp"
#include "fuzz_input.hpp"
#include "model_file_network.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto net = std::make_unique<ctnn::fuzz::FuzzNetwork>(ctnn::seed(1), 1);
    const auto file = ctnn::fuzz::input_directory().write("input.onnx", data, size);
    const auto before = ctnn::fuzz::values_of(*net);
    try {
        (void)ctnn::io::load_onnx(*net, file);
    } catch (const ctnn::io::format_error& e) {
        ctnn::fuzz::check_rejection(e, {file});
        if (ctnn::fuzz::values_of(*net) != before) {
            std::fprintf(stderr, "a rejected load_onnx changed the network\n");
            std::abort();
        }
    }
    return 0;
}
