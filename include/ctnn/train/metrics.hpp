#pragma once
// Evaluation results: mean loss, accuracy, confusion matrix.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace ctnn {

class ConfusionMatrix {
public:
    explicit ConfusionMatrix(std::size_t classes = 0) : classes_(classes), counts_(classes * classes, 0) {}

    void add(std::size_t truth, std::size_t predicted) {
        if (truth >= classes_ || predicted >= classes_)
            throw std::out_of_range("ConfusionMatrix: class index out of range");
        ++counts_[truth * classes_ + predicted];
    }
    // Samples of class `truth` predicted as `predicted`.
    std::size_t operator()(std::size_t truth, std::size_t predicted) const {
        return counts_.at(truth * classes_ + predicted);
    }
    std::size_t classes() const noexcept { return classes_; }
    std::size_t total() const noexcept {
        std::size_t sum = 0;
        for (std::size_t c : counts_) sum += c;
        return sum;
    }
    std::size_t correct() const noexcept {
        std::size_t sum = 0;
        for (std::size_t c = 0; c < classes_; ++c) sum += counts_[c * classes_ + c];
        return sum;
    }
    double accuracy() const noexcept {
        const std::size_t n = total();
        return n == 0 ? 0.0 : static_cast<double>(correct()) / static_cast<double>(n);
    }

    // Rows are the true class, columns the prediction.
    std::string to_string() const {
        std::string text = "true\\pred";
        for (std::size_t p = 0; p < classes_; ++p) text += '\t' + std::to_string(p);
        for (std::size_t t = 0; t < classes_; ++t) {
            text += '\n' + std::to_string(t);
            for (std::size_t p = 0; p < classes_; ++p) text += '\t' + std::to_string((*this)(t, p));
        }
        return text + '\n';
    }

private:
    std::size_t classes_;
    std::vector<std::size_t> counts_;
};

struct Evaluation {
    double loss = 0.0;      // mean cross-entropy
    double accuracy = 0.0;  // in [0, 1]
    ConfusionMatrix confusion;
};

}  // namespace ctnn
