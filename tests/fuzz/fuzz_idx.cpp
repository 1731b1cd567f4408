// Fuzz target: read_idx on a plain file holding the input as it is (an input starting 1f 8b takes the gzip path).
// Each input is read twice: with no expectation, and with MNIST's (u8, rank 3, 28 x 28) so the checks against
// the caller's expectation run too. An accepted file must describe itself consistently.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ctnn/data/idx.hpp"
#include "fuzz_input.hpp"
#include "idx_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace ctnn::data;
    const auto file = ctnn::fuzz::input_directory().write("input-idx3-ubyte", data, size);
    const IdxExpect mnist_images{.rank = 3, .type = IdxType::u8, .dims = {0, 28, 28}};
    for (const IdxExpect& expect : {IdxExpect{}, mnist_images}) {
        try {
            ctnn::fuzz::check_accepted(read_idx(file, expect), expect);
        } catch (const format_error& e) {
            ctnn::fuzz::check_rejection(e, {file});
        }
    }
    return 0;
}
