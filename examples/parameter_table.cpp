// parameter_table: the article's parameter table, computed by the compiler.
//
// The article compares a Dense layer and a convolution by hand: "Dense 784 -> 128: 784 x 128 + 128 = 100,480
// parameters; Conv2D with 32 filters of 3x3: 3 x 3 x 1 x 32 + 32 = 320; 314x fewer". In ctnn a layer is a type,
// and these numbers are constants of those types: every line this program prints is backed by a static_assert,
// so if any of them were wrong, this file would not compile.
//
// Then it prints, for the article's two networks and the Keras "simple MNIST convnet", what each layer costs
// one image: its output shape, its parameters, its multiply-adds and the bytes of its output. Those are
// Net::summary_rows, constants a program can use as well (to size a buffer, or to refuse a model too large).
//   parameter_table      (no options: everything it prints is known when it compiles)

#include <cstddef>
#include <cstdio>
#include <ratio>
#include <string>
#include <utility>

#include <ctnn/ctnn.hpp>

#include "support/command_line.hpp"
#include "support/run_program.hpp"

using namespace ctnn;

// ---- The article's table, row by row ----
// Dense 784 -> 128: one weight per (input pixel, unit) pair, plus one bias per unit.
static_assert(Dense<784, 128>::parameter_count == 784 * 128 + 128);
static_assert(Dense<784, 128>::parameter_count == 100'480);
// Conv2D, 32 filters of 3x3 over one channel: one weight per (kernel position, filter), plus a bias per filter.
// The same 320 numbers slide over every position of the image: the count does not depend on the image size.
static_assert(Conv2D<3, 3, 1, 32>::parameter_count == 3 * 3 * 1 * 32 + 32);
static_assert(Conv2D<3, 3, 1, 32>::parameter_count == 320);
// "314x fewer" (the integer part of 100,480 / 320 = 314.0).
static_assert(Dense<784, 128>::parameter_count / Conv2D<3, 3, 1, 32>::parameter_count == 314);

// ---- The networks ----
using Mlp = Sequential<Input<28, 28, 1>, Flatten, Dense<784, 128>, ReLU, Dense<128, 10>>;
using Cnn = Sequential<Input<28, 28, 1>, Conv2D<3, 3, 1, 32>, ReLU, MaxPool2D<2>, Flatten, Dense<13 * 13 * 32, 128>,
                       ReLU, Dense<128, 10>>;
// Keras' "simple MNIST convnet" (keras.io/examples/vision/mnist_convnet): Keras' model.summary() reports 34,826
// parameters for it.
using Convnet = Sequential<Input<28, 28, 1>, Conv2D<3, 3, 1, 32>, ReLU, MaxPool2D<2>, Conv2D<3, 3, 32, 64>, ReLU,
                           MaxPool2D<2>, Flatten, Dropout<std::ratio<1, 2>>, Dense<1600, 10>>;

static_assert(Mlp::parameter_count == 101'770);  // Keras and PyTorch report the same
static_assert(Cnn::parameter_count == 693'962);
static_assert(Convnet::parameter_count == 34'826);
// The CNN's convolution holds 320 of its 693,962 parameters: the Dense layer after it holds 99.7%.
static_assert(Cnn::summary_rows[4].parameters == 5408 * 128 + 128);
// Multiply-adds of one image's forward pass: the convolution's 320 weights are used at 26 x 26 positions each.
static_assert(Cnn::summary_rows[0].multiply_adds == 26 * 26 * 3 * 3 * 32);
static_assert(Mlp::multiply_adds_per_sample == 784 * 128 + 128 * 10);
static_assert(Cnn::multiply_adds_per_sample == 26 * 26 * 9 * 32 + 5408 * 128 + 128 * 10);

namespace {

// One row per layer, then the totals, as a Markdown table.
template <class Net>
void print_table(const char* title) {
    std::printf(
        "\n### %s\n\n| layer | output shape | parameters | multiply-adds / image | output bytes / image |\n"
        "|---|---|---:|---:|---:|\n",
        title);
    const auto names = Net::layer_names();
    // What a forward pass keeps per image: a layer that shares the buffer before it (Flatten, a ReLU that the
    // max-pooling after it runs on its own output, or one that the layer before it runs in its epilogue) stores
    // nothing of its own.
    const std::size_t stored = [&]<std::size_t... I>(std::index_sequence<I...>) {
        return ((Net::template shares_input_buffer<I> ? 0 : Net::summary_rows[I].output_bytes) + ... + 0);
    }
    (std::make_index_sequence<Net::layer_count>{});
    for (std::size_t i = 0; i < Net::layer_count; ++i) {
        const LayerSummary& row = Net::summary_rows[i];
        std::string shape;
        for (std::size_t d = 0; d < row.output_rank; ++d) {
            if (d != 0) shape += 'x';  // appended apart: g++ 12 -O3 warns falsely (-Wrestrict) on "x" + str
            shape += std::to_string(row.output_dims[d]);
        }
        std::printf("| %s | %s | %s | %s | %s |\n", names[i].c_str(), shape.c_str(),
                    with_thousands(row.parameters).c_str(), with_thousands(row.multiply_adds).c_str(),
                    with_thousands(row.output_bytes).c_str());
    }
    std::printf("| **total** | | **%s** | **%s** | **%s** stored |\n", with_thousands(Net::parameter_count).c_str(),
                with_thousands(Net::multiply_adds_per_sample).c_str(), with_thousands(stored).c_str());
}

int run() {
    std::printf(
        "## The article's parameter table, checked by the compiler\n\n"
        "| layer | parameters | formula |\n|---|---:|---|\n"
        "| Dense 784 -> 128 | %s | 784 x 128 + 128 |\n"
        "| Conv2D 32 filters 3x3 | %s | 3 x 3 x 1 x 32 + 32 |\n"
        "| ratio | %zux | |\n",
        with_thousands(Dense<784, 128>::parameter_count).c_str(),
        with_thousands(Conv2D<3, 3, 1, 32>::parameter_count).c_str(),
        Dense<784, 128>::parameter_count / Conv2D<3, 3, 1, 32>::parameter_count);
    print_table<Mlp>("The article's MLP");
    print_table<Cnn>("The article's CNN");
    print_table<Convnet>("Keras' simple MNIST convnet");
    std::printf(
        "\nThe Dense layer pays one weight for every pair of input pixel and unit, so its cost grows with the "
        "image; the\nconvolution pays for one 3x3 window per filter and reuses it at every position, so it has 314 "
        "times fewer\nparameters but spends more arithmetic per parameter (%s multiply-adds per image for 320 "
        "weights).\nThe CNN is large only because of the Dense layer that reads its 13x13x32 feature maps; the "
        "convnet pools\ntwice and ends in a Dense of 1,600 inputs, and needs %s parameters in all.\n",
        with_thousands(Cnn::summary_rows[0].multiply_adds).c_str(), with_thousands(Convnet::parameter_count).c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return examples::run_program("parameter_table", [&] {
        examples::CommandLine cli("parameter_table",
                                  "Prints the article's parameter table and, per layer, the shapes, parameters, "
                                  "multiply-adds and bytes of three networks, all computed by the compiler.");
        cli.parse(argc, argv);
        return run();
    });
}
