// ctnn_train_bench: seconds per training epoch on MNIST for the seed MLP and CNN (and the residual network with
// BatchNorm of docs/extending.md's layers), at each thread count.
//   ctnn_train_bench --data-dir data/mnist [--threads 1,2] [--models mlp,cnn,residual] [--epochs 1] [--json FILE]
//   ctnn_train_bench --data-dir data/mnist --profile 500    (per-layer forward/backward times instead)
//   ctnn_train_bench --help                                   (what each option accepts)
// One epoch = 60,000 images, batch 32, Adam(1e-3), shuffled, as pytorch_epoch.py does, so the two compare.
// Each (model, threads) run trains a fresh network (seed 1) so no run warms the next one's weights.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <ctnn/ctnn.hpp>

#include "command_line.hpp"
#include "networks.hpp"
#include "support/json_file.hpp"
#include "support/run_program.hpp"
#include "support/training_options.hpp"

namespace {

using namespace ctnn;

using bench::Cnn;
using bench::Mlp;
using bench::ResidualNet;

struct Options {
    std::filesystem::path data_dir = "data/mnist";
    std::vector<int> threads = {1, 2};
    std::vector<std::string> models = {"mlp", "cnn"};
    std::size_t epochs = 1;
    std::filesystem::path json;     // empty: no JSON file
    std::size_t profile_steps = 0;  // > 0: time each layer over this many steps instead of training an epoch
};

struct Result {
    std::string model;
    int threads = 0;
    double seconds = 0.0;  // the fastest epoch: the machine is shared, slow epochs are noise
    double images_per_second = 0.0;
    double test_accuracy = 0.0;
    std::size_t same_after_reload = 0;  // test predictions unchanged after a save/load round trip
    double bf16_test_accuracy = 0.0;    // the trained network with its Dense weights in bf16 (Bf16Inference)
    std::size_t same_in_bf16 = 0;       // test predictions the bf16 weights leave unchanged
};

Options parse(int argc, char** argv) {
    Options o;
    examples::CommandLine cli("ctnn_train_bench",
                              "Trains MNIST epochs (batch 32, Adam 1e-3, as pytorch_epoch.py does) for each model "
                              "and thread count and prints the fastest epoch's seconds; --profile times each layer "
                              "instead.");
    examples::add_data_dir(cli, o.data_dir, "MNIST's four IDX files");
    bench::add_thread_counts(cli, o.threads);
    cli.names("--models", o.models, "the networks", {"mlp", "cnn", "residual"});
    examples::add_epochs(cli, o.epochs);
    cli.integer("--profile", o.profile_steps, "time each layer over this many training steps instead", std::size_t{1})
        ->default_str("");
    cli.output_file("--json", o.json, "also write the results to this JSON file");
    cli.parse(argc, argv);
    return o;
}

template <class Net>
Result run(const std::string& model, int threads, const data::TrainTest& mnist, std::size_t epochs) {
    set_num_threads(threads);
    auto net = std::make_unique<Net>(seed(1));  // heap: the CNN's 5408x128 Dense alone is 2.8 MB
    Adam optimizer{1e-3f};
    FitOptions options;
    options.epochs = epochs;
    options.batch = 32;
    options.shuffle = true;
    options.seed = 1;
    options.verbosity = Verbosity::silent;
    const History history = fit(*net, mnist.train, optimizer, options);
    Result r;
    r.model = model;
    r.threads = threads;
    r.seconds = history.front().seconds;
    for (const EpochRecord& e : history) r.seconds = std::min(r.seconds, e.seconds);
    r.images_per_second = static_cast<double>(mnist.train.size()) / r.seconds;
    r.test_accuracy = evaluate(*net, mnist.test).accuracy;
    // Save, load into a network made with another seed, and compare every test prediction (running statistics
    // included: a network with BatchNorm predicts from them).
    const std::string file = "ctnn_train_bench_" + model + ".ctnn";
    io::save(*net, file);
    auto loaded = std::make_unique<Net>(seed(2));
    io::load(*loaded, file);
    std::remove(file.c_str());
    std::vector<std::uint8_t> before(mnist.test.size()), after(mnist.test.size());
    predict(*net, mnist.test.images.data(), mnist.test.size(), before.data());
    predict(*loaded, mnist.test.images.data(), mnist.test.size(), after.data());
    for (std::size_t i = 0; i < before.size(); ++i) r.same_after_reload += before[i] == after[i];
    std::vector<std::uint8_t> in_bf16(mnist.test.size());
    typename Net::Workspace bf16_ws(net->max_batch());
    predict(Bf16Inference<Net>(*net), bf16_ws, mnist.test.images.data(), mnist.test.size(), in_bf16.data());
    std::size_t correct = 0;
    for (std::size_t i = 0; i < in_bf16.size(); ++i) {
        r.same_in_bf16 += in_bf16[i] == before[i];
        correct += in_bf16[i] == mnist.test.labels[i];
    }
    r.bf16_test_accuracy = static_cast<double>(correct) / static_cast<double>(in_bf16.size());
    return r;
}

// Per-layer profile: a training step layer by layer through the network's own chain, so that what the real
// step fuses is fused here too (an activation absorbed by the max-pooling after it shows 0, a reshape 0), each
// range timed on its own; then the optimiser's update of every tensor. The step as train_step runs it (the
// fused update included, fused_update.hpp) is timed on the same batches, alternating with the layer-by-layer
// step; the two differ by the fusion of the update and by the timers' own cost. Last, consecutive real steps
// with the gradients not kept and kept, alternating (StepPlan::keep_gradients). The batches are shuffled as
// fit's are, and the warm-up is long enough for untouched weights' optimiser moments to decay (~830 steps).
template <class Net>
void profile(const std::string& model, int threads, const data::Dataset& train, std::size_t steps) {
    using clock = std::chrono::steady_clock;
    constexpr std::size_t layers = Net::layer_count;
    constexpr std::size_t batch = 32, warm_up = 1000;
    using Plan = StepPlan<Net>;
    constexpr std::size_t last = Plan::last_trained_layer;
    set_num_threads(threads);
    auto net = std::make_unique<Net>(seed(1));
    Plan plan(*net);
    plan.keep_gradients(false);  // as fit runs its steps
    Adam optimizer{1e-3f};
    Buffer images(batch * train.sample_size());
    std::vector<std::uint8_t> labels(batch);
    std::vector<std::uint32_t> order(train.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::uint32_t>(i);
    Rng shuffle(1);
    for (std::size_t i = order.size() - 1; i > 0; --i)
        std::swap(order[i], order[static_cast<std::size_t>(shuffle.below(i + 1))]);
    auto& ws = net->workspace();
    const GradientTarget own{nullptr, GradientUpdate::overwrite};

    std::array<double, layers> forward_s{}, backward_s{};
    double loss_s = 0.0, update_s = 0.0, fused_s = 0.0;
    const auto seconds = [](clock::time_point a, clock::time_point b) {
        return std::chrono::duration<double>(b - a).count();
    };
    std::size_t timed_layered = 0, timed_fused = 0, next = 0;
    // The next batch of the shuffled order into images and labels, from the start again after the last full one.
    const auto next_batch = [&] {
        if (next + batch > train.size()) next = 0;
        data::gather_batch(train, order, next, batch, images.data(), labels.data());
        next += batch;
    };
    for (std::size_t step = 0; step < warm_up + 2 * steps; ++step) {
        const bool timed = step >= warm_up;
        next_batch();
        if (step % 2 == 1) {  // the real step
            const auto a = clock::now();
            train_step(plan, optimizer, images.data(), labels.data(), batch);
            if (timed) {
                fused_s += seconds(a, clock::now());
                ++timed_fused;
            }
            continue;
        }
        const float* in = images.data();
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (([&] {
                 const auto a = clock::now();
                 in = net->template forward_layers<I, I + 1>(in, batch, ws, Pass::training);
                 if (timed) forward_s[I] += seconds(a, clock::now());
             }()),
             ...);
        }
        (std::make_index_sequence<layers>{});
        auto t = clock::now();
        float* loss_gradient = ws.output_gradient().data();
        detail::network_loss<Net>(  // the loss as train_step computes it (a final Softmax folded in)
            {in, batch * Net::output_shape::size}, labels.data(), batch, loss_gradient, batch);
        if (timed) loss_s += seconds(t, clock::now());
        const float* dy = loss_gradient;
        [&]<std::size_t... R>(std::index_sequence<R...>) {
            (([&] {
                 constexpr std::size_t I = layers - 1 - R;
                 if constexpr (I <= last) {
                     const auto a = clock::now();
                     dy = net->template backward_layers<I>(images.data(), dy, batch, ws, I, nullptr, own);
                     if (timed) backward_s[I] += seconds(a, clock::now());
                 }
             }()),
             ...);
        }
        (std::make_index_sequence<layers>{});
        t = clock::now();
        optimizer.step(*net);
        if (timed) {
            update_s += seconds(t, clock::now());
            ++timed_layered;
        }
    }

    const std::vector<std::string> names = Net::layer_names();
    double total = loss_s + update_s;
    for (std::size_t i = 0; i < layers; ++i) total += forward_s[i] + backward_s[i];
    const double per_step = 1e3 / static_cast<double>(timed_layered);  // seconds over all steps -> ms per step
    const double epoch_steps = static_cast<double>((train.size() + batch - 1) / batch);
    std::printf("\n%s, %d thread(s), %zu steps of batch 32, layer by layer: %.3f ms/step, %.2f s per epoch of %.0f "
                "steps\n",
                model.c_str(), threads, timed_layered, total * per_step, total * per_step * 1e-3 * epoch_steps,
                epoch_steps);
    std::printf("| layer | forward ms/step | backward ms/step | share |\n|---|---:|---:|---:|\n");
    for (std::size_t i = 0; i < layers; ++i)
        std::printf("| %zu %s | %.4f | %.4f | %.1f%% |\n", i, names[i].c_str(), forward_s[i] * per_step,
                    backward_s[i] * per_step, 100.0 * (forward_s[i] + backward_s[i]) / total);
    std::printf("| loss (softmax cross-entropy) | %.4f | | %.1f%% |\n", loss_s * per_step, 100.0 * loss_s / total);
    std::printf("| Adam step (every tensor) | | %.4f | %.1f%% |\n", update_s * per_step, 100.0 * update_s / total);
    const double fused_ms = fused_s * 1e3 / static_cast<double>(timed_fused);
    std::printf("train_step (as fit runs it%s), %zu steps: %.3f ms/step, %.2f s per epoch\n",
                Plan::has_row_split ? ", update fused" : "", timed_fused, fused_ms, fused_ms * 1e-3 * epoch_steps);
    if constexpr (Plan::has_row_split) {
        // Consecutive real steps, as in fit, in runs of 50 alternating between the gradients not kept (fit's
        // way) and kept (train_step's default), so that the two compare within one run.
        constexpr std::size_t run = 50;
        double not_kept_s = 0.0, kept_s = 0.0, last_not_kept = 0.0;
        std::size_t pairs = 0, not_kept_faster = 0;
        for (std::size_t r = 0; r < 2 * ((steps + run - 1) / run); ++r) {
            const bool keep = r % 2 == 1;
            plan.keep_gradients(keep);
            const auto a = clock::now();
            for (std::size_t i = 0; i < run; ++i) {
                next_batch();
                train_step(plan, optimizer, images.data(), labels.data(), batch);
            }
            const double s = seconds(a, clock::now());
            if (!keep) {
                not_kept_s += s;
                last_not_kept = s;
                continue;
            }
            kept_s += s;
            ++pairs;
            not_kept_faster += last_not_kept < s;
        }
        const double per = 1e3 / static_cast<double>(pairs * run);
        std::printf("consecutive train_steps, %zu each way in runs of %zu: gradients not kept (fit) %.3f ms/step, "
                    "kept %.3f ms/step; not kept faster in %zu of %zu pairs\n",
                    pairs * run, run, not_kept_s * per, kept_s * per, not_kept_faster, pairs);
    }
}

void write_json(const std::filesystem::path& file, const std::vector<Result>& results, const Options& o) {
    examples::Json rows = examples::Json::array();
    for (const Result& r : results)
        rows.push_back({{"model", r.model},
                        {"threads", r.threads},
                        {"seconds_per_epoch", examples::rounded(r.seconds, 4)},
                        {"images_per_second", examples::rounded(r.images_per_second, 1)},
                        {"test_accuracy", examples::rounded(r.test_accuracy, 4)},
                        {"bf16_test_accuracy", examples::rounded(r.bf16_test_accuracy, 4)}});
    examples::write_json(file,
                         {{"epochs", o.epochs}, {"batch", 32}, {"data_dir", o.data_dir.string()}, {"results", rows}});
}

int run(const Options& options) {
    const data::TrainTest mnist = data::load_mnist(options.data_dir);
    // On this VM the first training pass over freshly loaded images ran ~0.3 s slower (the MLP epoch: 0.54 s
    // first, 0.24 s after), and one sequential read of the images removes that. Done here, untimed, so
    // that the first model and thread count measured are not charged for it.
    float checksum = 0.0f;
    for (const float v : mnist.train.images) checksum += v;
    if (!(checksum > 0.0f)) throw std::runtime_error("the training images are all zero");
#ifndef _OPENMP
    // Without OpenMP set_num_threads is ignored: say so rather than print a meaningless speed-up.
    std::printf("note: built without OpenMP, every run uses one thread\n");
#endif
    if (options.profile_steps > 0) {
        for (const std::string& model : options.models)
            for (int threads : options.threads) {
                if (model == "mlp")
                    profile<Mlp>(model, threads, mnist.train, options.profile_steps);
                else if (model == "cnn")
                    profile<Cnn>(model, threads, mnist.train, options.profile_steps);
                else
                    profile<ResidualNet>(model, threads, mnist.train, options.profile_steps);
            }
        return 0;
    }
    std::printf("MNIST: %zu training, %zu test images; batch 32, Adam 1e-3, %zu epoch(s), best epoch quoted\n\n",
                mnist.train.size(), mnist.test.size(), options.epochs);
    std::printf(
        "| model | threads | s/epoch | images/s | test accuracy | same predictions after save/load | test accuracy, "
        "Dense weights in bf16 | same predictions in bf16 |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|\n");
    std::vector<Result> results;
    for (const std::string& model : options.models)
        for (int threads : options.threads) {
            const Result r = model == "mlp"   ? run<Mlp>(model, threads, mnist, options.epochs)
                             : model == "cnn" ? run<Cnn>(model, threads, mnist, options.epochs)
                                              : run<ResidualNet>(model, threads, mnist, options.epochs);
            std::printf("| %s | %d | %.3f | %.0f | %.2f%% | %zu of %zu | %.2f%% | %zu of %zu |\n", r.model.c_str(),
                        r.threads, r.seconds, r.images_per_second, 100.0 * r.test_accuracy, r.same_after_reload,
                        mnist.test.size(), 100.0 * r.bf16_test_accuracy, r.same_in_bf16, mnist.test.size());
            std::fflush(stdout);
            results.push_back(r);
        }

    // Speed-up of each thread count over one thread, per model (when one thread was measured).
    std::printf("\n");
    for (const std::string& model : options.models) {
        const auto one = std::find_if(results.begin(), results.end(),
                                      [&](const Result& r) { return r.model == model && r.threads == 1; });
        if (one == results.end()) continue;
        for (const Result& r : results)
            if (r.model == model && r.threads != 1)
                std::printf("%s: %d threads %.2fx faster than 1\n", model.c_str(), r.threads, one->seconds / r.seconds);
    }
    if (!options.json.empty()) write_json(options.json, results, options);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return examples::run_program("ctnn_train_bench", [&] { return run(parse(argc, argv)); });
}
