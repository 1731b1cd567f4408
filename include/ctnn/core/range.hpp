#pragma once
// Range and split_range: the contiguous share of a count that one part of a fixed split takes.

#include <cstddef>

namespace ctnn {

// [begin, end) of part `part` when `count` items are split into `parts` nearly equal contiguous ranges,
// each a multiple of `granule` except the last.
struct Range {
    std::size_t begin, end;
};
constexpr Range split_range(std::size_t count, std::size_t part, std::size_t parts,
                            std::size_t granule = 1) noexcept {
    const std::size_t units = (count + granule - 1) / granule;
    const std::size_t base = units / parts, extra = units % parts;
    const std::size_t first = part * base + (part < extra ? part : extra);
    const std::size_t len = base + (part < extra ? 1 : 0);
    const std::size_t b = first * granule;
    const std::size_t e = (first + len) * granule;
    return {b < count ? b : count, e < count ? e : count};
}

}  // namespace ctnn
