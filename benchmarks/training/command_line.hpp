#pragma once
// Command-line pieces shared by the training benchmarks.

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ctnn::bench {

// "mlp,cnn" -> {"mlp", "cnn"}; empty items are skipped.
inline std::vector<std::string> split_commas(std::string_view text) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        if (comma > start) parts.emplace_back(text.substr(start, comma - start));
        start = comma + 1;
    }
    return parts;
}

// "1,2" -> {1, 2}; throws std::invalid_argument naming an entry that is not a positive count.
inline std::vector<int> thread_counts(std::string_view text) {
    std::vector<int> counts;
    for (const std::string& t : split_commas(text)) {
        const int n = std::atoi(t.c_str());
        if (n <= 0) throw std::invalid_argument("bad thread count: " + t);
        counts.push_back(n);
    }
    return counts;
}

}  // namespace ctnn::bench
