// Buffer's allocation: 64-byte alignment always; large arrays on a 2 MiB boundary, offered to huge pages.
#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "ctnn/core/buffer.hpp"

using namespace ctnn;

namespace {

std::uintptr_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

// The VmFlags line of the mapping of /proc/self/smaps that holds `p`; empty when there is no such file.
std::string mapping_flags(const void* p) {
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    bool inside = false;
    while (std::getline(smaps, line)) {
        std::uintptr_t begin = 0, end = 0;
        char dash = 0;
        std::istringstream range(line);
        if (range >> std::hex >> begin >> dash >> end && dash == '-' && line.find(':') > line.find(' ')) {
            inside = begin <= address(p) && address(p) < end;
            continue;
        }
        if (inside && line.rfind("VmFlags:", 0) == 0) return line;
    }
    return {};
}

}  // namespace

TEST_CASE("Buffer: small arrays are 64-byte aligned, large ones start on a 2 MiB boundary") {
    for (std::size_t floats : {1u, 17u, 1000u, 100000u}) {
        const Buffer small(floats, 1.0f);
        CHECK(address(small.data()) % buffer_alignment == 0);
    }
    const std::size_t large_floats = detail::huge_page_bytes / sizeof(float) + 12345;
    Buffer large(large_floats, 2.0f);
    CHECK(address(large.data()) % detail::huge_page_bytes == 0);
    CHECK(large.front() == 2.0f);
    CHECK(large.back() == 2.0f);
    large.resize(3 * large_floats, 3.0f);  // reallocation frees the first block with its own alignment
    CHECK(address(large.data()) % detail::huge_page_bytes == 0);
    CHECK(large.back() == 3.0f);
}

TEST_CASE("Buffer: on Linux, a large array's mapping is advised for transparent huge pages") {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const Buffer large(3 * detail::huge_page_bytes / sizeof(float), 1.0f);
    const Buffer small(1000, 1.0f);
    const std::string flags = mapping_flags(large.data());
    if (flags.empty()) {
        MESSAGE("no /proc/self/smaps here: the advice is not visible");
        return;
    }
    INFO(flags);
    CHECK(flags.find(" hg") != std::string::npos);  // VM_HUGEPAGE, set by madvise(MADV_HUGEPAGE)
    const std::string small_flags = mapping_flags(small.data());
    INFO(small_flags);
    CHECK(small_flags.find(" hg") == std::string::npos);
#else
    MESSAGE("not Linux: no huge-page advice");
#endif
}
