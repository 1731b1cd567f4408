#pragma once
// IDX reader (the format of MNIST and Fashion-MNIST), for plain and gzip-compressed files.
//
// Layout (big-endian): two zero bytes, an element-type byte, a rank byte, `rank` 32-bit dimensions, then the
// elements in row-major order. Everything the header claims is checked before the payload is allocated (a
// plain file's payload against the file's size; a gzip stream's, whose length is unknown, as it arrives), and
// the payload must have exactly the announced length: a truncated download and a file with trailing bytes
// (often two files concatenated) are both rejected, each with a format_error naming the file and the field.

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <zlib.h>

#include "ctnn/data/error.hpp"

// Upper bound on an IDX payload. A corrupt header can announce petabytes; this refuses it up front.
#ifndef CTNN_MAX_IDX_BYTES
#define CTNN_MAX_IDX_BYTES (std::uint64_t{1} << 32)
#endif

namespace ctnn::data {

inline constexpr std::uint64_t max_idx_bytes = CTNN_MAX_IDX_BYTES;
inline constexpr std::size_t max_idx_rank = 4;  // MNIST uses 1 and 3; more is almost surely a corrupt header

enum class IdxType : std::uint8_t { u8 = 0x08, i8 = 0x09, i16 = 0x0B, i32 = 0x0C, f32 = 0x0D, f64 = 0x0E };

// Bytes per element, or 0 for a code that is not an IDX type.
constexpr std::size_t element_size(IdxType type) noexcept {
    switch (type) {
        case IdxType::u8:
        case IdxType::i8:
            return 1;
        case IdxType::i16:
            return 2;
        case IdxType::i32:
        case IdxType::f32:
            return 4;
        case IdxType::f64:
            return 8;
    }
    return 0;
}

inline std::string to_string(IdxType type) {
    static constexpr char hex[] = "0123456789ABCDEF";
    const auto code = static_cast<unsigned>(type);
    std::string name;
    switch (type) {
        case IdxType::u8:
            name = "u8";
            break;
        case IdxType::i8:
            name = "i8";
            break;
        case IdxType::i16:
            name = "i16";
            break;
        case IdxType::i32:
            name = "i32";
            break;
        case IdxType::f32:
            name = "f32";
            break;
        case IdxType::f64:
            name = "f64";
            break;
        default:
            name = "unknown";
            break;
    }
    return name + " (0x" + hex[(code >> 4) & 0xF] + hex[code & 0xF] + ")";
}

// The content of an IDX file. `bytes` holds the elements as stored in the file (big-endian for multi-byte
// types); its length is element_size(type) * count().
struct IdxArray {
    IdxType type = IdxType::u8;
    std::vector<std::uint32_t> dims;
    std::vector<std::uint8_t> bytes;

    std::size_t rank() const noexcept { return dims.size(); }
    std::size_t count() const noexcept {
        std::size_t n = 1;
        for (std::uint32_t d : dims) n *= d;
        return n;
    }
};

// What the caller requires of a file; each field is checked against the header before anything is allocated.
struct IdxExpect {
    std::optional<std::size_t> rank;
    std::optional<IdxType> type;
    std::vector<std::uint32_t> dims;  // dims[k] != 0 requires dimension k to equal it; 0 accepts any
};

namespace detail {

// Reads a plain or gzip file through one interface. gzip is detected by its magic bytes (1f 8b) so that a
// plain file's exact size can be compared with the header before reading. gzip goes through zlib's inflate,
// not gzread, which silently drops whatever follows the last gzip member: here a file may hold several
// members (as `cat a.gz b.gz` makes them; gzip -d accepts that too), and anything else after them is an error.
class IdxSource {
public:
    explicit IdxSource(const std::filesystem::path& file) : file_(file) {
        require_regular_file<format_error>(file);
        std::error_code ec;
        file_stream_.reset(std::fopen(file.c_str(), "rb"));
        if (!file_stream_) throw format_error(file, "file", std::string("cannot open: ") + std::strerror(errno));
        size_ = std::filesystem::file_size(file, ec);
        if (ec) throw format_error(file, "file", "cannot determine its size: " + ec.message());
        unsigned char magic[2] = {0, 0};
        compressed_ = std::fread(magic, 1, 2, file_stream_.get()) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        std::rewind(file_stream_.get());
        if (compressed_) {
            input_.resize(std::size_t{1} << 18);
            stream_.next_in = input_.data();
            if (inflateInit2(&stream_, 15 + 16 /* gzip wrapper only */) != Z_OK)
                throw format_error(file, "gzip stream", "zlib cannot start: out of memory");
            inflating_ = true;
        }
    }
    ~IdxSource() {
        if (inflating_) inflateEnd(&stream_);
    }
    IdxSource(const IdxSource&) = delete;  // zlib's state points back at stream_
    IdxSource& operator=(const IdxSource&) = delete;

    bool compressed() const noexcept { return compressed_; }
    std::uint64_t plain_size() const noexcept { return size_; }

    // Reads up to n bytes; fewer only at the end of the data. Throws on a read error or a corrupt gzip stream.
    std::size_t read(void* destination, std::size_t n) {
        auto* out = static_cast<unsigned char*>(destination);
        std::size_t total = 0;
        while (total < n && !finished_) {
            const std::size_t want = std::min<std::size_t>(n - total, std::size_t{1} << 30);
            const std::size_t got = compressed_ ? inflate_into(out + total, want) : read_file(out + total, want);
            total += got;
            if (got < want) break;
        }
        return total;
    }

private:
    std::size_t read_file(unsigned char* out, std::size_t n) {
        const std::size_t got = std::fread(out, 1, n, file_stream_.get());
        if (std::ferror(file_stream_.get()))
            throw format_error(file_, "file", std::string("read failed: ") + std::strerror(errno));
        return got;
    }

    // Tops the input buffer up behind the bytes inflate has not consumed yet; false at the end of the file.
    bool fill_input() {
        if (stream_.avail_in > 0) std::memmove(input_.data(), stream_.next_in, stream_.avail_in);
        const std::size_t got = read_file(input_.data() + stream_.avail_in, input_.size() - stream_.avail_in);
        stream_.next_in = input_.data();
        stream_.avail_in += static_cast<uInt>(got);
        consumed_ += got;
        return got > 0;
    }

    std::size_t inflate_into(unsigned char* out, std::size_t n) {
        stream_.next_out = out;
        stream_.avail_out = static_cast<uInt>(n);
        while (stream_.avail_out > 0 && !finished_) {
            if (stream_.avail_in == 0 && !fill_input())
                throw format_error(file_, "gzip stream", "truncated: the file ends inside a gzip member");
            const int r = inflate(&stream_, Z_NO_FLUSH);
            if (r == Z_STREAM_END) {
                next_member();
            } else if (r == Z_MEM_ERROR) {
                throw format_error(file_, "gzip stream", "zlib is out of memory");
            } else if (r != Z_OK && !(r == Z_BUF_ERROR && stream_.avail_in == 0)) {
                // Z_DATA_ERROR or Z_NEED_DICT; zlib names the defect ("invalid block type", "incorrect data check").
                throw format_error(file_, "gzip stream",
                                   std::string("corrupt: ") + (stream_.msg ? stream_.msg : "invalid deflate data"));
            }
        }
        return n - stream_.avail_out;
    }

    // After a member's trailer (its CRC and length already verified): the end of the file, another member, or
    // bytes that are neither.
    void next_member() {
        if (stream_.avail_in < 2) fill_input();
        if (stream_.avail_in == 0) {
            finished_ = true;
        } else if (stream_.avail_in >= 2 && stream_.next_in[0] == 0x1f && stream_.next_in[1] == 0x8b) {
            inflateReset(&stream_);
        } else {
            const std::uint64_t used = consumed_ - stream_.avail_in;
            throw format_error(file_, "gzip stream",
                               "trailing data: " + std::to_string(size_ > used ? size_ - used : stream_.avail_in) +
                                   " bytes after the last gzip member");
        }
    }

    struct CloseFile {
        void operator()(std::FILE* f) const noexcept { std::fclose(f); }
    };

    std::filesystem::path file_;
    std::unique_ptr<std::FILE, CloseFile> file_stream_;
    std::uint64_t size_ = 0;
    bool compressed_ = false;
    bool finished_ = false;  // gzip: the last member has ended
    // gzip only: zlib's stream, the compressed bytes read ahead, and how many bytes of the file were read so far.
    z_stream stream_{};
    bool inflating_ = false;
    std::vector<unsigned char> input_;
    std::uint64_t consumed_ = 0;
};

inline std::uint32_t load_big_endian(const unsigned char* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

inline std::string hex_byte(unsigned v) {
    static constexpr char hex[] = "0123456789abcdef";
    return {hex[(v >> 4) & 0xF], hex[v & 0xF]};
}

}  // namespace detail

inline IdxArray read_idx(const std::filesystem::path& file, const IdxExpect& expect = {}) {
    detail::IdxSource source(file);

    unsigned char magic[4];
    if (const std::size_t got = source.read(magic, 4); got < 4)
        throw format_error(file, "header",
                           "truncated: the magic number needs 4 bytes, the file has " + std::to_string(got));
    if (magic[0] != 0 || magic[1] != 0)
        throw format_error(file, "magic",
                           "expected the first two bytes to be 00 00, found " + detail::hex_byte(magic[0]) + " " +
                               detail::hex_byte(magic[1]) + " (not an IDX file)");
    const auto type = static_cast<IdxType>(magic[2]);
    if (element_size(type) == 0)
        throw format_error(file, "element type",
                           "unknown type code 0x" + detail::hex_byte(magic[2]) + " (IDX knows 08, 09, 0b, 0c, 0d, 0e)");
    const std::size_t rank = magic[3];
    if (rank == 0 || rank > max_idx_rank)
        throw format_error(
            file, "rank",
            "expected 1 to " + std::to_string(max_idx_rank) + " dimensions, found " + std::to_string(rank));
    if (expect.rank && *expect.rank != rank)
        throw format_error(file, "rank",
                           "expected " + std::to_string(*expect.rank) + ", found " + std::to_string(rank));
    if (expect.type && *expect.type != type)
        throw format_error(file, "element type", "expected " + to_string(*expect.type) + ", found " + to_string(type));

    unsigned char raw_dims[4 * max_idx_rank];
    const std::size_t header_size = 4 + 4 * rank;
    if (const std::size_t got = source.read(raw_dims, 4 * rank); got < 4 * rank)
        throw format_error(file, "header",
                           "truncated: " + std::to_string(rank) + " dimensions need " + std::to_string(header_size) +
                               " bytes, the file has " + std::to_string(4 + got));

    IdxArray array;
    array.type = type;
    array.dims.resize(rank);
    const std::uint64_t width = element_size(type);
    std::uint64_t payload = width;
    std::string shape;
    for (std::size_t k = 0; k < rank; ++k) {
        const std::uint32_t d = detail::load_big_endian(raw_dims + 4 * k);
        const std::string field = "dimension " + std::to_string(k);
        if (d == 0) throw format_error(file, field, "is 0; every dimension must be positive");
        if (k < expect.dims.size() && expect.dims[k] != 0 && expect.dims[k] != d)
            throw format_error(file, field,
                               "expected " + std::to_string(expect.dims[k]) + ", found " + std::to_string(d));
        if (k != 0) shape += 'x';
        shape += std::to_string(d);  // appended separately: g++ 12 -O3 warns falsely (-Wrestrict) on "x" + str
        // Divide instead of multiplying so a hostile header cannot overflow the check itself.
        if (d > max_idx_bytes / payload)
            throw format_error(file, "size",
                               "dimensions " + shape + (k + 1 < rank ? "..." : "") + " of " + to_string(type) +
                                   " exceed the limit of " + std::to_string(max_idx_bytes) + " bytes");
        payload *= d;
        array.dims[k] = d;
    }
    const std::string what = std::to_string(payload) + " bytes of " + to_string(type) + " data (shape " + shape + ")";

    if (!source.compressed()) {
        const std::uint64_t available = source.plain_size() - header_size;
        if (available < payload)
            throw format_error(file, "payload", "truncated: expected " + what + ", got " + std::to_string(available));
        if (available > payload)
            throw format_error(file, "payload",
                               "trailing data: " + std::to_string(available - payload) + " bytes after the " + what);
        array.bytes.resize(static_cast<std::size_t>(payload));
        if (const std::size_t got = source.read(array.bytes.data(), array.bytes.size()); got != payload)
            throw format_error(file, "payload", "truncated: expected " + what + ", got " + std::to_string(got));
        return array;
    }

    // gzip: the decompressed length is unknown until the stream ends, so the buffer grows only once the data
    // has filled it (doubling from 64 KiB, capped at the announced length): a header that lies about its size
    // costs at most twice what the stream really holds, and an honest one ends in one buffer of exactly its size.
    std::size_t filled = 0;
    while (filled < payload) {
        if (filled == array.bytes.size()) {
            const auto grown = static_cast<std::size_t>(
                std::min<std::uint64_t>(payload, std::max<std::uint64_t>(2 * std::uint64_t{filled}, 1u << 16)));
            array.bytes.reserve(grown);  // exactly: resize alone may round the capacity up past the payload
            array.bytes.resize(grown);
        }
        const std::size_t want = array.bytes.size() - filled;
        const std::size_t got = source.read(array.bytes.data() + filled, want);
        filled += got;
        if (got < want)
            throw format_error(file, "payload", "truncated: expected " + what + ", got " + std::to_string(filled));
    }
    // Reading on to the end also makes zlib verify the gzip trailer (CRC and length).
    std::uint64_t extra = 0;
    unsigned char sink[1 << 16];
    while (const std::size_t got = source.read(sink, sizeof sink)) extra += got;
    if (extra != 0)
        throw format_error(file, "payload", "trailing data: " + std::to_string(extra) + " bytes after the " + what);
    return array;
}

}  // namespace ctnn::data
