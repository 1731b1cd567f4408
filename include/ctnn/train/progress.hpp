#pragma once
// Training progress: a bar with rate and ETA redrawn in place on a terminal, one line per epoch otherwise
// (logs and CI output stay readable).

#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

namespace ctnn {

enum class Verbosity {
    automatic,  // bar on a terminal, one line per epoch otherwise
    bar,
    lines,
    silent,
};

namespace detail {

class ProgressReporter {
public:
    using clock = std::chrono::steady_clock;

    ProgressReporter(Verbosity verbosity, std::size_t epochs, std::size_t samples_per_epoch)
        : epochs_(epochs), samples_(samples_per_epoch) {
        if (verbosity == Verbosity::automatic)
            verbosity = isatty(fileno(stdout)) != 0 ? Verbosity::bar : Verbosity::lines;
        verbosity_ = verbosity;
    }

    void start_epoch(std::size_t epoch) {
        epoch_ = epoch;
        epoch_start_ = last_draw_ = clock::now();
    }

    // Redraws at most ten times a second: printing must not cost training time.
    void update(std::size_t done, double mean_loss, double accuracy) {
        if (verbosity_ != Verbosity::bar) return;
        const auto now = clock::now();
        if (done < samples_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
        last_draw_ = now;
        const double elapsed = std::chrono::duration<double>(now - epoch_start_).count();
        const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
        const double eta = rate > 0 ? static_cast<double>(samples_ - done) / rate : 0.0;
        constexpr std::size_t width = 30;
        const std::size_t filled = samples_ == 0 ? width : done * width / samples_;
        std::string bar(filled, '=');
        if (filled < width) bar += '>' + std::string(width - filled - 1, ' ');
        std::printf("\rEpoch %zu/%zu [%s] %zu/%zu  loss %.4f  acc %.2f%%  %.0f img/s  ETA %.0fs ", epoch_ + 1,
                    epochs_, bar.c_str(), done, samples_, mean_loss, 100.0 * accuracy, rate, eta);
        std::fflush(stdout);
    }

    void end_epoch(double mean_loss, double accuracy, double seconds, const double* validation_loss,
                   const double* validation_accuracy) {
        if (verbosity_ == Verbosity::silent) return;
        if (verbosity_ == Verbosity::bar) std::printf("\r\033[K");
        std::printf("Epoch %zu/%zu  loss %.4f  acc %.2f%%", epoch_ + 1, epochs_, mean_loss, 100.0 * accuracy);
        if (validation_loss != nullptr)
            std::printf("  val_loss %.4f  val_acc %.2f%%", *validation_loss, 100.0 * *validation_accuracy);
        std::printf("  %.2fs\n", seconds);
        std::fflush(stdout);
    }

private:
    Verbosity verbosity_;
    std::size_t epochs_, samples_, epoch_ = 0;
    clock::time_point epoch_start_{}, last_draw_{};
};

}  // namespace detail
}  // namespace ctnn
