// Quickstart: define a network, train it one epoch on MNIST, save it, load it back, evaluate, predict.
//   quickstart [DATA_DIR]      (default data/mnist; scripts/fetch_data.sh puts MNIST there)
#include <cstdio>
#include <exception>
#include <memory>

#include <ctnn/ctnn.hpp>

using namespace ctnn;

// 28x28 grey images -> 784 pixels -> 128 hidden units -> 10 digits. The shapes are checked when this compiles.
using Mlp = Sequential<Input<28, 28, 1>, Flatten, Dense<784, 128>, ReLU, Dense<128, 10>>;

int main(int argc, char** argv) try {
    const auto [train, test] = data::load_mnist(argc > 1 ? argv[1] : "data/mnist");
    auto net = std::make_unique<Mlp>(seed(1));  // on the heap: the weights are 0.4 MB
    Adam optimizer(1e-3f);
    fit(*net, train, optimizer, {.epochs = 1, .batch = 32});
    io::save(*net, "mlp.ctnn");

    auto loaded = std::make_unique<Mlp>();
    io::load(*loaded, "mlp.ctnn");  // checks the architecture, every shape and a checksum
    const Evaluation result = evaluate(*loaded, test);
    const auto first = predict(*loaded, test.image(0));
    std::printf("test accuracy %.2f%%; the first test image is a %zu (p = %.2f), labelled %u\n",
                100.0 * result.accuracy, first.label, static_cast<double>(first.probabilities[first.label]),
                static_cast<unsigned>(test.labels[0]));
} catch (const std::exception& e) {
    std::fprintf(stderr, "quickstart: %s\n", e.what());
    return 1;
}
