// shuffled_pixels: does a network care where the pixels are?
//
// The seed article claims that a Dense network, which sees a flat vector, learns MNIST just as well when every
// image's pixels are shuffled by one fixed permutation, while a CNN, which looks at 3x3 neighbourhoods,
// "would collapse to ~random". This program measures it: for MNIST and Fashion-MNIST, the seed MLP and the
// seed CNN are trained by ctnn
//   - on normal pixels, then tested on normal and on shuffled test images, and
//   - on shuffled pixels (the same permutation for training and test), then tested on shuffled test images.
// It prints a Markdown table and writes results.md, results.json, digits.png and dense_weights.png to --out.
//
//   shuffled_pixels [--data-dir DIR] [--datasets mnist,fashion] [--models dense,cnn,cnn2] [--epochs 5]
//                   [--batch 32] [--cnn2-epochs 15] [--lr 0.001] [--seed 1] [--threads N] [--no-shuffled] [--out DIR]
// (shuffled_pixels --help: what each option means and accepts). cnn2 is Keras' simple MNIST convnet, trained
// with Keras' recipe (batch 128, --cnn2-epochs epochs); it is not in the default run.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <ratio>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>

#include "support/command_line.hpp"
#include "support/json_file.hpp"
#include "support/png.hpp"
#include "support/run_program.hpp"
#include "support/training_options.hpp"

using namespace ctnn;

namespace {

// The article's two networks.
using Mlp = Sequential<Input<28, 28, 1>, Flatten, Dense<784, 128>, ReLU, Dense<128, 10>>;
using Cnn = Sequential<Input<28, 28, 1>, Conv2D<3, 3, 1, 32>, ReLU, MaxPool2D<2>, Flatten, Dense<13 * 13 * 32, 128>,
                       ReLU, Dense<128, 10>>;
static_assert(Mlp::parameter_count == 101'770 && Cnn::parameter_count == 693'962);
// Keras' "simple MNIST convnet" (keras.io/examples/vision/mnist_convnet), which its model.summary() counts at
// 34,826 parameters; trained with its recipe (Adam, batch 128, 15 epochs) when --models names cnn2.
using Convnet = Sequential<Input<28, 28, 1>, Conv2D<3, 3, 1, 32>, ReLU, MaxPool2D<2>, Conv2D<3, 3, 32, 64>, ReLU,
                           MaxPool2D<2>, Flatten, Dropout<std::ratio<1, 2>>, Dense<1600, 10>>;
static_assert(Convnet::parameter_count == 34'826);

struct Options : examples::TrainingOptions {
    std::vector<std::string> datasets{"mnist", "fashion"}, models{"dense", "cnn"};
    std::size_t batch = 32;
    std::size_t cnn2_epochs = 15, cnn2_batch = 128;  // Keras' recipe for its convnet
    double lr = 1e-3;
    int threads = 0;  // 0: OpenMP's default
    bool no_shuffled = false;
};

// The networks are built with ctnn's default max batch, which bounds --batch.
Options parse(int argc, char** argv) {
    Options o;
    o.data_dir = "data";
    o.epochs = 5;
    examples::CommandLine cli("shuffled_pixels",
                              "Does a network care where the pixels are? Trains an MLP and a CNN on MNIST and "
                              "Fashion-MNIST, on normal and on shuffled pixels, and writes the results to --out.");
    examples::add_training_options(cli, o, "mnist/ and fashion-mnist/, each with the four IDX files", true);
    cli.names("--datasets", o.datasets, "the data sets", {"mnist", "fashion"});
    cli.names("--models", o.models, "the networks; cnn2 is Keras' convnet, trained with Keras' recipe",
              {"dense", "cnn", "cnn2"});
    cli.integer("--batch", o.batch, "batch size of dense and cnn (cnn2 uses 128)", std::size_t{1}, default_max_batch,
                "the networks' max batch");
    cli.integer("--cnn2-epochs", o.cnn2_epochs, "training epochs of cnn2", std::size_t{1});
    cli.number("--lr", o.lr, "Adam's learning rate", 0.0, std::numeric_limits<double>::infinity(), true);
    cli.integer("--threads", o.threads, "threads, by default OpenMP's: OMP_NUM_THREADS or the core count", 1)
        ->default_str("");
    cli.flag("--no-shuffled", o.no_shuffled, "only train on normal pixels");
    cli.parse(argc, argv);
    return o;
}

struct Row {
    std::string dataset, model, train_pixels, test_pixels;
    std::size_t params = 0, epochs = 0;
    double test_accuracy = 0, seconds_per_epoch = 0;
    std::vector<double> history;  // test accuracy after each epoch (on the training pixel order)
    // False for a row that only evaluates the network trained in the row above: it has no epochs of its own.
    bool trained() const noexcept { return !history.empty(); }
};

struct Trained {
    std::vector<double> history;
    double seconds_per_epoch = 0;
};

// Trains `net` and records the test accuracy after every epoch.
template <class Net>
Trained train(Net& net, const data::Dataset& train_set, const data::Dataset& test_set, const Options& o,
              std::size_t epochs, std::size_t batch, const std::string& label) {
    std::printf("\n== %s\n", label.c_str());
    std::fflush(stdout);
    Adam optimizer(static_cast<float>(o.lr));
    Trained result;
    const History history = fit(net, train_set, optimizer,
                                {.epochs = epochs, .batch = batch, .seed = o.seed, .validation = &test_set});
    double seconds = 0;
    for (const EpochRecord& r : history) {
        result.history.push_back(*r.validation_accuracy);
        seconds += r.seconds;
    }
    result.seconds_per_epoch = seconds / static_cast<double>(history.size());
    return result;
}

// The first Dense layer's weights as 128 images of 28x28 (column j of the 784x128 matrix is unit j's image).
std::vector<float> weight_images(const Tensor<Shape<784, 128>>& w, std::span<const std::uint32_t> unpermute) {
    std::vector<float> images(128 * 784);
    std::vector<float> column(784), restored(784);
    for (std::size_t j = 0; j < 128; ++j) {
        for (std::size_t i = 0; i < 784; ++i) column[i] = w(i, j);
        if (unpermute.empty())
            restored = column;
        else
            apply_permutation(unpermute, column.data(), restored.data());
        std::copy(restored.begin(), restored.end(), images.begin() + static_cast<std::ptrdiff_t>(j * 784));
    }
    return images;
}

std::string markdown_table(const std::vector<Row>& rows) {
    std::string t =
        "| data set | model | train -> test pixels | params | test accuracy | s/epoch |\n"
        "|---|---|---|---:|---:|---:|\n";
    char line[256];
    for (const Row& r : rows) {
        char seconds[32] = "-";
        if (r.trained()) std::snprintf(seconds, sizeof seconds, "%.2f", r.seconds_per_epoch);
        std::snprintf(line, sizeof line, "| %s | %s | %s -> %s | %s | %.2f%% | %s |\n", r.dataset.c_str(),
                      r.model.c_str(), r.train_pixels.c_str(), r.test_pixels.c_str(), with_thousands(r.params).c_str(),
                      100 * r.test_accuracy, seconds);
        t += line;
    }
    return t;
}

void write_results(const Options& o, const std::vector<Row>& rows, double wall_seconds) {
    const std::string simd = xsimd::default_arch::name();
    examples::Json json_rows = examples::Json::array();
    for (const Row& r : rows) {
        examples::Json history = examples::Json::array();
        for (const double a : r.history) history.push_back(examples::rounded(a, 4));
        json_rows.push_back(
            {{"dataset", r.dataset},
             {"model", r.model},
             {"train_pixels", r.train_pixels},
             {"test_pixels", r.test_pixels},
             {"params", r.params},
             {"epochs", r.epochs},
             {"test_accuracy", examples::rounded(r.test_accuracy, 4)},
             {"seconds_per_epoch",
              r.trained() ? examples::Json(examples::rounded(r.seconds_per_epoch, 3)) : examples::Json(nullptr)},
             {"accuracy_history", history}});
    }
    const examples::Json meta = {
        {"ctnn", std::to_string(CTNN_VERSION_MAJOR) + "." + std::to_string(CTNN_VERSION_MINOR) + "." +
                     std::to_string(CTNN_VERSION_PATCH)},
        {"compiler", __VERSION__},
        {"simd", simd},
        {"threads", num_threads()},
        {"seed", o.seed},
        {"epochs", o.epochs},
        {"batch", o.batch},
        {"learning_rate", o.lr},
        {"optimizer", "Adam (beta1 0.9, beta2 0.999, eps 1e-7)"},
        {"permutation", "make_permutation<784>(seed)"},
        {"data_dir", o.data_dir.string()},
        {"wall_seconds", static_cast<long>(wall_seconds + 0.5)}};
    examples::write_json(o.out / "results.json", {{"rows", json_rows}, {"meta", meta}});

    const std::filesystem::path md_file = o.out / "results.md";
    std::ofstream md(md_file);
    md << "# Shuffled pixels: results\n\n"
       << o.epochs << " epochs, Adam " << o.lr << ", batch " << o.batch
       << (std::find(o.models.begin(), o.models.end(), "cnn2") != o.models.end()
               ? " (cnn2: " + std::to_string(o.cnn2_epochs) + " epochs, batch " + std::to_string(o.cnn2_batch) + ")"
               : std::string())
       << ", seed " << o.seed << ", " << num_threads() << " thread(s), SIMD " << simd
       << ". Whole run: " << static_cast<long>(wall_seconds + 0.5) << " s.\n\n"
       << markdown_table(rows) << "\n## Test accuracy after each epoch\n\n| data set | model | train -> test |";
    std::size_t columns = 0;
    for (const Row& r : rows) columns = std::max(columns, r.history.size());
    for (std::size_t e = 1; e <= columns; ++e) md << " " << e << " |";
    md << "\n|---|---|---|";
    for (std::size_t e = 0; e < columns; ++e) md << "---:|";
    md << "\n";
    for (const Row& r : rows) {
        if (!r.trained()) continue;
        md << "| " << r.dataset << " | " << r.model << " | " << r.train_pixels << " -> " << r.test_pixels << " |";
        char cell[32];
        for (double a : r.history) {
            std::snprintf(cell, sizeof cell, " %.2f%% |", 100 * a);
            md << cell;
        }
        for (std::size_t e = r.history.size(); e < columns; ++e) md << " |";
        md << "\n";
    }
    md.flush();
    if (!md) throw file_error(md_file, "file", "cannot write");
}

// The experiment: trains and tests every network of `o` and writes its files.
int run(const Options& o) {
    if (o.threads > 0) set_num_threads(o.threads);
    std::filesystem::create_directories(o.out);
    const auto start = std::chrono::steady_clock::now();

    // One fixed permutation of the 784 pixel positions, for training and test alike.
    const auto shuffle = make_permutation<784>(o.seed);
    const auto unshuffle = inverse(shuffle);

    std::vector<Row> rows;
    std::vector<float> digit_grid;  // samples for digits.png: per data set, a normal and a shuffled row
    std::vector<float> weights_normal, weights_shuffled;  // first-Dense weights for dense_weights.png
    std::size_t digit_rows = 0;

    for (const std::string& name : o.datasets) {
        const std::string folder = name == "mnist" ? "mnist" : "fashion-mnist";
        const std::string title = name == "mnist" ? "MNIST" : "Fashion-MNIST";
        const data::TrainTest normal = data::load_mnist(o.data_dir / folder);
        const data::Dataset shuffled_train = data::permuted(normal.train, shuffle);
        const data::Dataset shuffled_test = data::permuted(normal.test, shuffle);

        for (std::size_t i = 0; i < 12; ++i) {
            const auto image = normal.test.image(i);
            digit_grid.insert(digit_grid.end(), image.begin(), image.end());
        }
        for (std::size_t i = 0; i < 12; ++i) {
            const auto image = shuffled_test.image(i);
            digit_grid.insert(digit_grid.end(), image.begin(), image.end());
        }
        digit_rows += 2;

        auto run_model = [&]<class Net>(std::type_identity<Net>, const std::string& model) {
            const bool keras = model == "cnn2";
            const std::size_t epochs = keras ? o.cnn2_epochs : o.epochs, batch = keras ? o.cnn2_batch : o.batch;
            auto net = std::make_unique<Net>(seed(o.seed));
            const Trained t = train(*net, normal.train, normal.test, o, epochs, batch,
                                    title + ", " + model + ", normal pixels");
            rows.push_back({title, model, "normal", "normal", Net::parameter_count, epochs,
                            evaluate(*net, normal.test).accuracy, t.seconds_per_epoch, t.history});
            rows.push_back({title,
                            model,
                            "normal",
                            "shuffled",
                            Net::parameter_count,
                            epochs,
                            evaluate(*net, shuffled_test).accuracy,
                            0.0,
                            {}});
            if constexpr (std::is_same_v<Net, Mlp>)
                if (weights_normal.empty()) weights_normal = weight_images(net->template layer<1>().weights, {});
            if (o.no_shuffled) return;
            net = std::make_unique<Net>(seed(o.seed));
            const Trained s = train(*net, shuffled_train, shuffled_test, o, epochs, batch,
                                    title + ", " + model + ", shuffled pixels");
            rows.push_back({title, model, "shuffled", "shuffled", Net::parameter_count, epochs,
                            evaluate(*net, shuffled_test).accuracy, s.seconds_per_epoch, s.history});
            // Undo the shuffle on the weights: unit j's weight for original pixel k sat at shuffled position
            // unshuffle[k].
            if constexpr (std::is_same_v<Net, Mlp>)
                if (weights_shuffled.empty())
                    weights_shuffled = weight_images(net->template layer<1>().weights, unshuffle.index);
        };
        for (const std::string& model : o.models) {
            if (model == "dense")
                run_model(std::type_identity<Mlp>{}, "dense");
            else if (model == "cnn")
                run_model(std::type_identity<Cnn>{}, "cnn");
            else
                run_model(std::type_identity<Convnet>{}, "cnn2");
        }
    }

    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("\n%s\nWhole run: %.0f s with %d thread(s).\n", markdown_table(rows).c_str(), wall, num_threads());
    write_results(o, rows, wall);
    examples::write_grid_png(o.out / "digits.png", digit_grid, digit_rows * 12, 28, 28, 12, false);
    if (!weights_normal.empty()) {
        std::vector<float> both = weights_normal;
        both.insert(both.end(), weights_shuffled.begin(), weights_shuffled.end());
        examples::write_grid_png(o.out / "dense_weights.png", both, both.size() / 784, 28, 28, 16, true);
    }
    std::printf("Wrote %s/{results.md, results.json, digits.png%s}\n", o.out.c_str(),
                weights_normal.empty() ? "" : ", dense_weights.png");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return examples::run_program("shuffled_pixels", [&] { return run(parse(argc, argv)); });
}
