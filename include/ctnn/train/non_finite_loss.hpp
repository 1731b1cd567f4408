#pragma once
// non_finite_loss: fit stopped because the loss of a batch was NaN or infinite, e.g.
// "fit: the loss of epoch 1, batch 2 is nan (both counted from 0) ...". The loss is known only once the step has
// run, so its update has been applied: after a NaN loss the parameters are usually NaN too, and training on
// would only make every later loss NaN. What was saved before (a checkpoint in on_epoch_end) is untouched.

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace ctnn {

class non_finite_loss : public std::runtime_error {
public:
    non_finite_loss(std::size_t epoch, std::size_t batch, double loss_sum)
        : std::runtime_error(message(epoch, batch, loss_sum)), epoch_(epoch), batch_(batch), loss_sum_(loss_sum) {}

    // Counted from 0, as EpochRecord::epoch; batch is the step within the epoch.
    std::size_t epoch() const noexcept { return epoch_; }
    std::size_t batch() const noexcept { return batch_; }
    // The batch's summed loss: NaN, +inf or -inf.
    double loss_sum() const noexcept { return loss_sum_; }

private:
    static std::string message(std::size_t epoch, std::size_t batch, double loss_sum) {
        // "nan", "inf", "-inf" (fabs: glibc prints the sign of a NaN, which says nothing here).
        char value[16];
        std::snprintf(value, sizeof value, "%g", std::isnan(loss_sum) ? std::fabs(loss_sum) : loss_sum);
        return "fit: the loss of epoch " + std::to_string(epoch) + ", batch " + std::to_string(batch) + " is " + value +
               " (both counted from 0); the step's update has been applied, so the parameters are likely no longer "
               "finite: lower the learning rate or check the data for NaN or infinite values "
               "(FitOptions::stop_on_non_finite_loss = false trains on regardless)";
    }

    std::size_t epoch_, batch_;
    double loss_sum_;
};

}  // namespace ctnn
