// Tests for ctnn/train/non_finite_loss.hpp: fit stops at the first batch whose loss is NaN or infinite, names
// its epoch and batch, on the serial path and on the row split's; a checkpoint saved before stays loadable and
// equal; FitOptions::stop_on_non_finite_loss = false trains on.

#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ctnn/ctnn.hpp"
#include "idx_writer.hpp"  // TempDir
#include "network_values.hpp"
#include "synthetic_data.hpp"
#include "thread_count.hpp"

using namespace ctnn;

namespace {

using SmallMlp = Sequential<Input<8, 8, 1>, Flatten, Dense<64, 32>, ReLU, Dense<32, 4>>;
using Linear = Sequential<Input<8, 8, 1>, Flatten, Dense<64, 4>>;

// An infinite pixel reaches the loss through ReLU as +inf and -inf added together: NaN. A NaN pixel reaches it
// as NaN (ReLU keeps NaN).
constexpr float infinity = std::numeric_limits<float>::infinity();
constexpr float not_a_number = std::numeric_limits<float>::quiet_NaN();

std::vector<char> read_bytes(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

template <class Net>
bool any_nan(Net& net) {
    for (float v : testing::parameter_values(net))
        if (std::isnan(v)) return true;
    return false;
}

// Runs fit and returns the non_finite_loss it throws (failing the test if it throws none).
template <class Net, class Optimizer>
std::optional<non_finite_loss> fit_failure(Net& net, const data::Dataset& train, Optimizer& optimizer,
                                           const FitOptions& options) {
    try {
        fit(net, train, optimizer, options);
    } catch (const non_finite_loss& e) {
        return e;
    }
    FAIL_CHECK("fit returned without throwing non_finite_loss");
    return std::nullopt;
}

}  // namespace

TEST_CASE(
    "an infinite pixel in epoch 1's data stops fit at its batch; the model saved after epoch 0 still loads, "
    "unchanged") {
    auto train = testing::blobs(160, 8, 4, 21);  // 5 batches of 32, in order (no shuffle)
    constexpr std::size_t poisoned_sample = 70;  // batch 70 / 32 = 2
    ctnn::test::TempDir dir;
    const std::filesystem::path checkpoint = dir / "epoch0.ctnn";

    auto net = std::make_unique<SmallMlp>(seed(21));
    Adam optimizer(1e-2f);
    std::vector<float> saved_parameters;
    std::vector<char> saved_bytes;
    std::size_t callbacks = 0;
    FitOptions options{.epochs = 3, .batch = 32, .shuffle = false, .verbosity = Verbosity::silent};
    options.on_epoch_end = [&](const EpochRecord& record) {
        ++callbacks;
        CHECK(std::isfinite(record.loss));
        io::save(*net, checkpoint);
        saved_parameters = testing::parameter_values(*net);
        saved_bytes = read_bytes(checkpoint);
        train.image(poisoned_sample)[5] = infinity;  // seen from epoch 1 on
        return true;
    };
    const auto failure = fit_failure(*net, train, optimizer, options);
    REQUIRE(failure.has_value());
    INFO(failure->what());
    CHECK(failure->epoch() == 1);
    CHECK(failure->batch() == poisoned_sample / 32);
    CHECK(std::isnan(failure->loss_sum()));
    CHECK(std::string(failure->what()).find("epoch 1, batch 2 is nan") != std::string::npos);
    CHECK(callbacks == 1);  // epoch 1 never finished
    CHECK(any_nan(*net));   // the failing step's update was applied, as the message says

    // The checkpoint is the file epoch 0 wrote, and it loads into a network equal to the one saved.
    CHECK(read_bytes(checkpoint) == saved_bytes);
    auto reloaded = std::make_unique<SmallMlp>(seed(99));
    REQUIRE(testing::parameter_values(*reloaded) != saved_parameters);
    io::load(*reloaded, checkpoint);
    CHECK(testing::bits_of(testing::parameter_values(*reloaded)) == testing::bits_of(saved_parameters));
}

TEST_CASE("stop_on_non_finite_loss = false trains every epoch and reports the NaN in the history") {
    auto train = testing::blobs(96, 8, 4, 22);
    train.image(40)[0] = not_a_number;  // batch 1 of epoch 0
    auto net = std::make_unique<Linear>(seed(22));
    Adam optimizer(1e-2f);
    const History history = fit(
        *net, train, optimizer,
        {.epochs = 2, .batch = 32, .shuffle = false, .verbosity = Verbosity::silent, .stop_on_non_finite_loss = false});
    REQUIRE(history.size() == 2);
    CHECK(std::isnan(history[0].loss));
    CHECK(std::isnan(history[1].loss));

    // The same data with the guard on: the NaN pixel itself stops it.
    auto fresh = std::make_unique<Linear>(seed(22));
    Adam other(1e-2f);
    const auto failure = fit_failure(*fresh, train, other,
                                     {.epochs = 2, .batch = 32, .shuffle = false, .verbosity = Verbosity::silent});
    REQUIRE(failure.has_value());
    CHECK(failure->epoch() == 0);
    CHECK(failure->batch() == 1);
}

TEST_CASE("a NaN pixel passes ReLU and stops fit at its batch") {
    auto train = testing::blobs(96, 8, 4, 23);
    train.image(70)[9] = not_a_number;  // batch 2 of epoch 0
    auto net = std::make_unique<SmallMlp>(seed(23));
    Adam optimizer(1e-2f);
    const auto failure = fit_failure(*net, train, optimizer,
                                     {.epochs = 2, .batch = 32, .shuffle = false, .verbosity = Verbosity::silent});
    REQUIRE(failure.has_value());
    CHECK(failure->epoch() == 0);
    CHECK(failure->batch() == 2);
}

TEST_CASE("an overflowing learning rate stops fit at the first step after the update that overflowed") {
    const auto train = testing::blobs(128, 8, 4, 23);
    auto net = std::make_unique<SmallMlp>(seed(23));
    SGD optimizer(1e30f);
    const auto failure = fit_failure(*net, train, optimizer,
                                     {.epochs = 2, .batch = 32, .verbosity = Verbosity::silent});
    REQUIRE(failure.has_value());
    INFO(failure->what());
    // Batch 0's loss comes from the initial weights; its update makes them ~1e28, and batch 1's logits overflow.
    CHECK(failure->epoch() == 0);
    CHECK(failure->batch() == 1);
    CHECK(!std::isfinite(failure->loss_sum()));
}

TEST_CASE("the row split (2 threads, one parallel region per epoch) stops at the NaN batch too") {
    // The wide Dense right below the Softmax: the infinite pixel's NaN reaches the loss with no ReLU after it
    // (the seed CNN's ReLUs would turn it into zeros).
    using Cnn = Sequential<Input<28, 28, 1>, Conv2D<5, 5, 1, 32>, ReLU, Flatten, Dense<24 * 24 * 32, 10>, Softmax>;
    static_assert(StepPlan<Cnn>::has_row_split);
    const testing::ThreadCount two(2);
    REQUIRE(StepPlan<Cnn>::splits_rows(32));
    // A batch inside the region (done() of thread 0 between steps) and the last one (done() after the region).
    for (const std::size_t poisoned_batch : {std::size_t{1}, std::size_t{2}}) {
        INFO("poisoned batch " << poisoned_batch);
        auto train = testing::blobs(96, 28, 10, 24);  // 3 full batches of 32
        train.image(poisoned_batch * 32 + 3)[100] = infinity;
        auto net = std::make_unique<Cnn>(seed(24));
        Adam optimizer;
        const auto failure = fit_failure(*net, train, optimizer,
                                         {.epochs = 1, .batch = 32, .shuffle = false, .verbosity = Verbosity::silent});
        REQUIRE(failure.has_value());
        CHECK(failure->epoch() == 0);
        CHECK(failure->batch() == poisoned_batch);
        CHECK(std::isnan(failure->loss_sum()));
    }
}
