// The C++ half of the live PyTorch parity test (live_parity.py drives it). For one network, in DIRECTORY:
//   reads  NET.torch.safetensors   PyTorch's state dict            NET.inputs.safetensors  "input" [N, 1, 28, 28]
//   writes NET.ctnn_logits.safetensors         "logits" [N, 10]: ctnn's outputs with PyTorch's weights
//          NET.ctnn.safetensors                the state dict after a few ctnn training steps on synthetic data
//          NET.ctnn_trained_logits.safetensors "logits" [N, 10]: the trained network's outputs on the same inputs
// Usage: pytorch_parity_helper seed_mlp|seed_cnn|residual_net DIRECTORY

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ctnn/ctnn.hpp"
#include "ctnn/io/safetensors.hpp"
#include "seed_networks.hpp"
#include "synthetic_data.hpp"

namespace {

using namespace ctnn;
namespace fs = std::filesystem;

// scripts/pytorch/models.py's residual_net: tests/test_residual.cpp's network with PyTorch's BatchNorm.
using Block = Residual<Conv2D<3, 3, 32, 32, 1, Padding::same>, TorchBatchNorm, ReLU,
                       Conv2D<3, 3, 32, 32, 1, Padding::same>, TorchBatchNorm>;
using ResidualNet = Sequential<Input<28, 28, 1>, Conv2D<3, 3, 1, 32, 1, Padding::same>, TorchBatchNorm, ReLU, Block,
                               ReLU, MaxPool2D<2>, Block, ReLU, GlobalAvgPool2D, Dense<32, 10>>;

constexpr std::size_t max_batch = 32;

void write_logits(const fs::path& file, std::span<const float> logits, std::size_t n) {
    io::StateDict tensors;
    tensors["logits"] = {{static_cast<std::int64_t>(n), static_cast<std::int64_t>(logits.size() / n)},
                         {logits.begin(), logits.end()}};
    io::write_safetensors(file, tensors);
}

template <class Net>
void run(const std::string& name, const fs::path& directory) {
    const fs::path base = directory / name;
    auto net = std::make_unique<Net>(seed(7), max_batch);
    io::load_safetensors(*net, base.string() + ".torch.safetensors");

    // One-channel images: NCHW and NHWC are the same bytes.
    const io::StateDict inputs = io::read_safetensors(base.string() + ".inputs.safetensors");
    const io::TorchTensor& input = inputs.at("input");
    const auto n = static_cast<std::size_t>(input.shape.at(0));
    if (input.values.size() != n * Net::input_shape::size || n > max_batch)
        throw std::runtime_error("unexpected input shape " + io::detail::describe_shape(input.shape));
    write_logits(base.string() + ".ctnn_logits.safetensors", net->forward(input.values.data(), n), n);

    // ctnn -> PyTorch: a few steps on one batch of synthetic images (BatchNorm's statistics move too).
    const data::Dataset batch = testing::blobs(max_batch, 28, 10, 3);
    StepPlan plan(*net);
    Adam optimizer(1e-3f);
    for (int step = 0; step < 3; ++step)
        train_step(plan, optimizer, batch.images.data(), batch.labels.data(), max_batch);
    io::save_safetensors(*net, base.string() + ".ctnn.safetensors");
    write_logits(base.string() + ".ctnn_trained_logits.safetensors", net->forward(input.values.data(), n), n);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s seed_mlp|seed_cnn|residual_net DIRECTORY\n", argv[0]);
        return 2;
    }
    const std::string name = argv[1];
    try {
        if (name == "seed_mlp")
            run<testing::SeedMlp>(name, argv[2]);
        else if (name == "seed_cnn")
            run<testing::SeedCnn>(name, argv[2]);
        else if (name == "residual_net")
            run<ResidualNet>(name, argv[2]);
        else
            throw std::runtime_error("unknown network " + name);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pytorch_parity_helper: %s\n", e.what());
        return 1;
    }
    return 0;
}
