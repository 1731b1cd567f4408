// Fuzz target: read_idx on gzip files. The first input byte chooses what the rest becomes:
//   bit 0 clear  the rest, gzip-compressed here: the IDX checks behind a valid stream, where the payload
//                length is unknown until the stream ends (bit 1 set: as two gzip members, split in the middle)
//   bit 0 set    the rest written as it is: a damaged gzip stream (the corpus holds real .gz files)
// As in fuzz_idx, each input is read with no expectation and with MNIST's.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include <zlib.h>

#include "ctnn/data/idx.hpp"
#include "fuzz_input.hpp"
#include "idx_checks.hpp"

namespace {

// Appends one gzip member holding the n bytes at data to out.
void append_gzip_member(const std::uint8_t* data, std::size_t n, std::vector<std::uint8_t>& out) {
    z_stream z{};
    if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16 /* gzip wrapper */, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        std::abort();
    const std::size_t start = out.size();
    out.resize(start + deflateBound(&z, static_cast<uLong>(n)));
    z.next_in = const_cast<Bytef*>(data);
    z.avail_in = static_cast<uInt>(n);
    z.next_out = out.data() + start;
    z.avail_out = static_cast<uInt>(out.size() - start);
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) std::abort();
    out.resize(start + z.total_out);
    deflateEnd(&z);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace ctnn::data;
    if (size == 0) return 0;
    const std::uint8_t mode = data[0];
    const std::uint8_t* rest = data + 1;
    const std::size_t n = size - 1;

    std::vector<std::uint8_t> bytes;
    if (mode & 1) {
        bytes.assign(rest, rest + n);
    } else if (mode & 2) {
        append_gzip_member(rest, n / 2, bytes);
        append_gzip_member(rest + n / 2, n - n / 2, bytes);
    } else {
        append_gzip_member(rest, n, bytes);
    }
    const auto file = ctnn::fuzz::input_directory().write("input-idx3-ubyte.gz", bytes.data(), bytes.size());

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
