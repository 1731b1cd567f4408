#pragma once
// fit / evaluate / predict / train_step: the training loop over a data::Dataset.

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ctnn/core/buffer.hpp"
#include "ctnn/core/parallel.hpp"
#include "ctnn/core/random.hpp"
#include "ctnn/data/dataset.hpp"
#include "ctnn/layers/layer.hpp"
#include "ctnn/network/bf16_inference.hpp"
#include "ctnn/train/loss.hpp"
#include "ctnn/train/metrics.hpp"
#include "ctnn/train/non_finite_loss.hpp"
#include "ctnn/train/progress.hpp"
#include "ctnn/train/step_plan.hpp"
#include "ctnn/train/train_step.hpp"

namespace ctnn {

// One epoch's figures; the validation ones are present when FitOptions::validation was given.
struct EpochRecord {
    std::size_t epoch = 0;  // from 0
    double loss = 0.0, accuracy = 0.0;
    std::optional<double> validation_loss, validation_accuracy;
    double seconds = 0.0;
};
using History = std::vector<EpochRecord>;

struct FitOptions {
    std::size_t epochs = 1;
    std::size_t batch = 32;  // the last batch of an epoch may be smaller
    bool shuffle = true;     // a new sample order each epoch, drawn from `seed`
    std::uint64_t seed = 0;
    const data::Dataset* validation = nullptr;
    Verbosity verbosity = Verbosity::automatic;
    // Called after each epoch; returning false stops training.
    std::function<bool(const EpochRecord&)> on_epoch_end = {};
    // A batch whose loss is NaN or infinite throws non_finite_loss (naming the epoch and the batch) right after
    // its step; false trains on, and the epoch's figures then carry the NaN.
    bool stop_on_non_finite_loss = true;
};

namespace detail {

// Turns a plan's keep_gradients off for its lifetime, restoring the previous setting after.
template <class Plan>
class GradientsNotKept {
public:
    explicit GradientsNotKept(Plan& plan) noexcept : plan_(plan), kept_(plan.keeps_gradients()) {
        plan_.keep_gradients(false);
    }
    ~GradientsNotKept() { plan_.keep_gradients(kept_); }
    GradientsNotKept(const GradientsNotKept&) = delete;
    GradientsNotKept& operator=(const GradientsNotKept&) = delete;

private:
    Plan& plan_;
    bool kept_;
};

template <class Net>
void check_dataset(const data::Dataset& d, std::string_view what) {
    if (d.sample_size() != Net::input_shape::size)
        throw std::invalid_argument(std::string(what) + ": samples of " + std::to_string(d.height) + "x" +
                                    std::to_string(d.width) + "x" + std::to_string(d.channels) +
                                    " do not fit the network's input " + Net::input_shape::name());
    if (d.classes > Net::output_shape::size)
        throw std::invalid_argument(std::string(what) + ": " + std::to_string(d.classes) +
                                    " classes but the network has " + std::to_string(Net::output_shape::size) +
                                    " outputs");
}

}  // namespace detail

// Loss, accuracy and confusion matrix of `net` on `d`, in batches of up to the network's max_batch.
template <class Net>
Evaluation evaluate(Net& net, const data::Dataset& d) {
    detail::check_dataset<Net>(d, "evaluate");
    constexpr std::size_t classes = Net::output_shape::size;
    Evaluation result{0.0, 0.0, ConfusionMatrix(classes)};
    auto& ws = net.workspace();
    const std::size_t batch = net.max_batch();
    double loss_sum = 0.0;
    for (std::size_t first = 0; first < d.size(); first += batch) {
        const std::size_t n = std::min(batch, d.size() - first);
        const float* images = d.images.data() + first * d.sample_size();
        const std::uint8_t* labels = d.labels.data() + first;
        const std::span<const float> output = net.forward(images, n, ws, Pass::inference);
        loss_sum += detail::network_loss<Net>(output, labels, n, nullptr).loss_sum;
        for (std::size_t r = 0; r < n; ++r) {
            const float* row = output.data() + r * classes;
            result.confusion.add(labels[r], static_cast<std::size_t>(std::max_element(row, row + classes) - row));
        }
    }
    result.loss = d.size() == 0 ? 0.0 : loss_sum / static_cast<double>(d.size());
    result.accuracy = result.confusion.accuracy();
    return result;
}

// Trains plan.network() on `train` for options.epochs epochs, each step spread over threads as `plan` says;
// returns the per-epoch history. Throws non_finite_loss when a batch's loss is NaN or infinite (unless
// options.stop_on_non_finite_loss is false).
template <class Net, class Reducer, class Optimizer>
    requires OptimizerFor<Optimizer, Net> History fit(StepPlan<Net, Reducer>& plan, const data::Dataset& train,
                                                      Optimizer& optimizer, const FitOptions& options = {}) {
        using Plan = StepPlan<Net, Reducer>;
        Net& net = plan.network();
        detail::check_dataset<Net>(train, "fit");
        if (options.validation != nullptr) detail::check_dataset<Net>(*options.validation, "fit (validation)");
        if (options.batch == 0 || options.batch > net.max_batch())
            throw std::invalid_argument("fit: batch " + std::to_string(options.batch) + " must be in 1.." +
                                        std::to_string(net.max_batch()) + " (the network's max_batch)");
        if (train.size() == 0) throw std::invalid_argument("fit: the training set is empty");

        // Nothing reads a step's gradients between fit's steps (StepPlan::keep_gradients); the caller's setting
        // is back when fit returns or throws.
        const detail::GradientsNotKept not_kept(plan);

        const std::size_t sample = train.sample_size();
        Buffer batch_images(options.batch * sample);
        std::vector<std::uint8_t> batch_labels(options.batch);
        std::vector<std::uint32_t> order(train.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::uint32_t>(i);

        Rng shuffle_rng(options.seed);
        detail::ProgressReporter progress(options.verbosity, options.epochs, train.size());
        History history;
        for (std::size_t epoch = 0; epoch < options.epochs; ++epoch) {
            if (options.shuffle)
                for (std::size_t i = order.size() - 1; i > 0; --i)
                    std::swap(order[i], order[static_cast<std::size_t>(shuffle_rng.below(i + 1))]);
            progress.start_epoch(epoch);
            const auto start = std::chrono::steady_clock::now();
            double loss_sum = 0.0;
            std::size_t correct = 0, seen = 0, batch = 0;
            // One test of a number the step has computed anyway: no pass over the outputs.
            const auto add_step = [&](std::size_t n, const BatchLoss& step) {
                if (options.stop_on_non_finite_loss && !std::isfinite(step.loss_sum))
                    throw non_finite_loss(epoch, batch, step.loss_sum);
                ++batch;
                loss_sum += step.loss_sum;
                correct += step.correct;
                seen += n;
                progress.update(seen, loss_sum / static_cast<double>(seen),
                                static_cast<double>(correct) / static_cast<double>(seen));
            };
            std::size_t first = 0;
            // The full batches of a row-split network share one parallel region; train_step opens one per step.
            if constexpr (Plan::has_row_split && detail::TeamOptimizer<Optimizer, Net>) {
                const std::size_t full_batches = train.size() / options.batch;
                if (full_batches > 0 && Plan::splits_rows(options.batch)) {
                    const std::size_t n = options.batch;
                    detail::row_split_steps(
                        plan, optimizer, batch_images.data(), batch_labels.data(), n, Plan::parts_for(n), full_batches,
                        [&](std::size_t step) {
                            data::gather_batch(train, order, step * n, n, batch_images.data(), batch_labels.data());
                        },
                        [&](std::size_t /*step*/, const BatchLoss& loss) { add_step(n, loss); });
                    first = full_batches * n;
                }
            }
            for (; first < train.size(); first += options.batch) {
                const std::size_t n = std::min(options.batch, train.size() - first);
                data::gather_batch(train, order, first, n, batch_images.data(), batch_labels.data());
                add_step(n, train_step(plan, optimizer, batch_images.data(), batch_labels.data(), n));
            }
            EpochRecord record;
            record.epoch = epoch;
            record.loss = loss_sum / static_cast<double>(seen);
            record.accuracy = static_cast<double>(correct) / static_cast<double>(seen);
            record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (options.validation != nullptr) {
                const Evaluation v = evaluate(net, *options.validation);
                record.validation_loss = v.loss;
                record.validation_accuracy = v.accuracy;
            }
            progress.end_epoch(record.loss, record.accuracy, record.seconds,
                               record.validation_loss ? &*record.validation_loss : nullptr,
                               record.validation_accuracy ? &*record.validation_accuracy : nullptr);
            history.push_back(record);
            if (options.on_epoch_end && !options.on_epoch_end(record)) break;
        }
        return history;
    }

// Trains `net` with a StepPlan of its own (made for this call: its buffers are allocated on the first steps).
template <class Net, class Optimizer>
    requires OptimizerFor<Optimizer, Net> History fit(Net& net, const data::Dataset& train, Optimizer& optimizer,
                                                      const FitOptions& options = {}) {
        StepPlan<Net> plan(net);
        return fit(plan, train, optimizer, options);
    }

// The class of one sample and the probabilities behind it.
template <std::size_t Classes>
struct Prediction {
    std::size_t label = 0;
    std::array<float, Classes> probabilities{};
};

// Predicts one sample (input_shape::size floats) with a caller-owned workspace: safe from several threads.
template <class Net>
Prediction<Net::output_shape::size> predict(const Net& net, std::span<const float> sample,
                                            typename Net::Workspace& ws) {
    constexpr std::size_t classes = Net::output_shape::size;
    if (sample.size() != Net::input_shape::size)
        throw std::invalid_argument("predict: sample of " + std::to_string(sample.size()) +
                                    " floats, the network takes " + std::to_string(Net::input_shape::size));
    const std::span<const float> output = net.forward(sample.data(), 1, ws, Pass::inference);
    Prediction<classes> p;
    if constexpr (detail::ends_with_softmax<Net>) {
        std::copy_n(output.data(), classes, p.probabilities.data());
    } else {
        const float top = *std::max_element(output.begin(), output.end());
        float total = 0.0f;
        for (std::size_t c = 0; c < classes; ++c) total += p.probabilities[c] = std::exp(output[c] - top);
        for (float& q : p.probabilities) q /= total;
    }
    p.label = static_cast<std::size_t>(std::max_element(p.probabilities.begin(), p.probabilities.end()) -
                                       p.probabilities.begin());
    return p;
}
template <class Net>
Prediction<Net::output_shape::size> predict(Net& net, std::span<const float> sample) {
    return predict(std::as_const(net), sample, net.workspace());
}

namespace detail {
// labels[i] = the class with the largest output for sample i < n, forward(x, count) giving the outputs of count
// samples at x, called on batches of up to `batch`.
template <class Net, class Forward>
void predict_in_batches(Forward&& forward, const float* samples, std::size_t n, std::size_t batch,
                        std::uint8_t* labels) {
    constexpr std::size_t classes = Net::output_shape::size;
    for (std::size_t first = 0; first < n; first += batch) {
        const std::size_t count = std::min(batch, n - first);
        const std::span<const float> output = forward(samples + first * Net::input_shape::size, count);
        for (std::size_t r = 0; r < count; ++r) {
            const float* row = output.data() + r * classes;
            labels[first + r] = static_cast<std::uint8_t>(std::max_element(row, row + classes) - row);
        }
    }
}
}  // namespace detail

// Predicted classes of n samples, written to labels.
template <class Net>
void predict(Net& net, const float* samples, std::size_t n, std::uint8_t* labels) {
    detail::predict_in_batches<Net>(
        [&](const float* x, std::size_t count) { return net.forward(x, count, net.workspace(), Pass::inference); },
        samples, n, net.max_batch(), labels);
}
// The same with the network's Dense weights in bf16 (network/bf16_inference.hpp), in batches of ws.max_batch().
template <class Net>
void predict(const Bf16Inference<Net>& model, typename Net::Workspace& ws, const float* samples, std::size_t n,
             std::uint8_t* labels) {
    detail::predict_in_batches<Net>([&](const float* x, std::size_t count) { return model.forward(x, count, ws); },
                                    samples, n, ws.max_batch(), labels);
}

}  // namespace ctnn
