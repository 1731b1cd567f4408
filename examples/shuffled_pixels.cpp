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
// cnn2 is Keras' simple MNIST convnet, trained with Keras' recipe (batch 128, --cnn2-epochs epochs); it is not
// in the default run.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ratio>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>

#include "support/png.hpp"

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

struct Options {
    std::filesystem::path data_dir = "data", out = "results";
    std::vector<std::string> datasets{"mnist", "fashion"}, models{"dense", "cnn"};
    std::size_t epochs = 5, batch = 32;
    std::size_t cnn2_epochs = 15, cnn2_batch = 128;  // Keras' recipe for its convnet
    float lr = 1e-3f;
    std::uint64_t seed = 1;
    int threads = 0;  // 0: OpenMP's default
    bool shuffled = true;
};

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> items;
    std::stringstream stream(text);
    for (std::string item; std::getline(stream, item, ',');)
        if (!item.empty()) items.push_back(item);
    return items;
}

[[noreturn]] void usage(const char* problem) {
    std::fprintf(
        stderr,
        "shuffled_pixels: %s\nusage: shuffled_pixels [--data-dir DIR] [--datasets mnist,fashion] "
        "[--models dense,cnn,cnn2] [--epochs 5] [--batch 32] [--cnn2-epochs 15] [--lr 0.001] [--seed 1] [--threads N] "
        "[--no-shuffled] [--out DIR]\n",
        problem);
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value after " + arg).c_str());
            return argv[++i];
        };
        auto number = [&](const std::string& text) {
            char* end = nullptr;
            const double v = std::strtod(text.c_str(), &end);
            if (end == text.c_str() || *end != '\0' || v < 0) usage(("not a valid number for " + arg).c_str());
            return v;
        };
        if (arg == "--data-dir")
            o.data_dir = value();
        else if (arg == "--out")
            o.out = value();
        else if (arg == "--datasets")
            o.datasets = split_list(value());
        else if (arg == "--models")
            o.models = split_list(value());
        else if (arg == "--epochs")
            o.epochs = static_cast<std::size_t>(number(value()));
        else if (arg == "--batch")
            o.batch = static_cast<std::size_t>(number(value()));
        else if (arg == "--cnn2-epochs")
            o.cnn2_epochs = static_cast<std::size_t>(number(value()));
        else if (arg == "--lr")
            o.lr = static_cast<float>(number(value()));
        else if (arg == "--seed")
            o.seed = static_cast<std::uint64_t>(number(value()));
        else if (arg == "--threads")
            o.threads = static_cast<int>(number(value()));
        else if (arg == "--no-shuffled")
            o.shuffled = false;
        else if (arg == "--help" || arg == "-h")
            usage("help");
        else
            usage(("unknown argument " + arg).c_str());
    }
    for (const auto& d : o.datasets)
        if (d != "mnist" && d != "fashion") usage(("unknown data set " + d + " (mnist, fashion)").c_str());
    for (const auto& m : o.models)
        if (m != "dense" && m != "cnn" && m != "cnn2") usage(("unknown model " + m + " (dense, cnn, cnn2)").c_str());
    if (o.epochs == 0 || o.batch == 0 || o.batch > default_max_batch || o.cnn2_epochs == 0)
        usage("epochs and batch must be positive");
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
    Adam optimizer(o.lr);
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

std::string json_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out;
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
    std::ofstream json(o.out / "results.json");
    json << "{\n  \"rows\": [\n";
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        char accuracy[32], seconds[32];
        std::snprintf(accuracy, sizeof accuracy, "%.4f", r.test_accuracy);
        if (r.trained())
            std::snprintf(seconds, sizeof seconds, "%.3f", r.seconds_per_epoch);
        else
            std::snprintf(seconds, sizeof seconds, "null");
        json << "    {\"dataset\": \"" << r.dataset << "\", \"model\": \"" << r.model << "\", \"train_pixels\": \""
             << r.train_pixels << "\", \"test_pixels\": \"" << r.test_pixels << "\", \"params\": " << r.params
             << ", \"epochs\": " << r.epochs << ", \"test_accuracy\": " << accuracy
             << ", \"seconds_per_epoch\": " << seconds << ", \"accuracy_history\": [";
        for (std::size_t e = 0; e < r.history.size(); ++e) {
            std::snprintf(accuracy, sizeof accuracy, "%.4f", r.history[e]);
            json << (e ? ", " : "") << accuracy;
        }
        json << "]}" << (i + 1 < rows.size() ? "," : "") << "\n";
    }
    json << "  ],\n  \"meta\": {\"ctnn\": \"" << CTNN_VERSION_MAJOR << "." << CTNN_VERSION_MINOR << "."
         << CTNN_VERSION_PATCH << "\", \"compiler\": \"" << json_escape(__VERSION__) << "\", \"simd\": \"" << simd
         << "\", \"threads\": " << num_threads() << ", \"seed\": " << o.seed << ", \"epochs\": " << o.epochs
         << ", \"batch\": " << o.batch << ", \"learning_rate\": " << o.lr
         << ", \"optimizer\": \"Adam (beta1 0.9, beta2 0.999, eps 1e-7)\", \"permutation\": "
            "\"make_permutation<784>(seed)\", \"wall_seconds\": "
         << static_cast<long>(wall_seconds + 0.5) << "}\n}\n";

    std::ofstream md(o.out / "results.md");
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
}

}  // namespace

int main(int argc, char** argv) try {
    const Options o = parse(argc, argv);
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
            if (!o.shuffled) return;
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
} catch (const std::exception& e) {
    std::fprintf(stderr, "shuffled_pixels: %s\n", e.what());
    return 1;
}
