// Quickstart: define a network, train it one epoch on MNIST, save it, load it back, evaluate, predict.
//   quickstart [DATA_DIR]      (default data/mnist; scripts/fetch_data.sh puts MNIST there)
#include <cstdio>
#include <filesystem>
#include <memory>

#include <ctnn/ctnn.hpp>

#include "support/command_line.hpp"
#include "support/run_program.hpp"

using namespace ctnn;

// 28x28 grey images -> 784 pixels -> 128 hidden units -> 10 digits. The shapes are checked when this compiles.
using Mlp = Sequential<Input<28, 28, 1>, Flatten, Dense<784, 128>, ReLU, Dense<128, 10>>;

int main(int argc, char** argv) {
    // run_program prints any error (a bad argument, a missing or malformed file) as one line and sets the status.
    return examples::run_program("quickstart", [&] {
        std::filesystem::path data_dir = "data/mnist";
        examples::CommandLine cli("quickstart",
                                  "Trains an MLP one epoch on MNIST, saves it to mlp.ctnn, loads it "
                                  "back, evaluates it and predicts the first test image.");
        cli.existing_folder("DATA_DIR", data_dir, "the folder that holds MNIST's four IDX files");
        cli.parse(argc, argv);

        const auto [train, test] = data::load_mnist(data_dir);
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
        return 0;
    });
}
