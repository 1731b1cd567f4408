#pragma once
// IDX reader (the format of MNIST and Fashion-MNIST), for plain and gzip-compressed files.
//
// Layout (big-endian): two zero bytes, an element-type byte, a rank byte, `rank` 32-bit dimensions, then the
// elements in row-major order. Everything the header claims is checked before the payload is allocated, and
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
// plain file's exact size can be compared with the header before reading.
class IdxSource {
public:
    explicit IdxSource(const std::filesystem::path& file) : file_(file) {
        std::error_code ec;
        const auto status = std::filesystem::status(file, ec);
        if (!std::filesystem::exists(status)) throw format_error(file, "file", "not found");
        if (std::filesystem::is_directory(status)) throw format_error(file, "file", "is a directory");

        plain_.reset(std::fopen(file.c_str(), "rb"));
        if (!plain_) throw format_error(file, "file", std::string("cannot open: ") + std::strerror(errno));
        unsigned char magic[2] = {0, 0};
        const std::size_t got = std::fread(magic, 1, 2, plain_.get());
        compressed_ = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        if (compressed_) {
            plain_.reset();
            gz_.reset(gzopen(file.c_str(), "rb"));
            if (!gz_) throw format_error(file, "file", std::string("cannot open: ") + std::strerror(errno));
            gzbuffer(gz_.get(), 1u << 18);  // larger than zlib's 8 KiB default: fewer, cheaper reads
        } else {
            size_ = std::filesystem::file_size(file, ec);
            if (ec) throw format_error(file, "file", "cannot determine its size: " + ec.message());
            std::rewind(plain_.get());
        }
    }

    bool compressed() const noexcept { return compressed_; }
    std::uint64_t plain_size() const noexcept { return size_; }

    // Reads up to n bytes; fewer only at the end of the data. Throws on a read error or a corrupt gzip stream.
    std::size_t read(void* destination, std::size_t n) {
        auto* out = static_cast<unsigned char*>(destination);
        std::size_t total = 0;
        while (total < n) {
            const std::size_t want = std::min<std::size_t>(n - total, std::size_t{1} << 30);
            std::size_t got = 0;
            if (compressed_) {
                const int r = gzread(gz_.get(), out + total, static_cast<unsigned>(want));
                check_gzip();
                if (r < 0) throw format_error(file_, "gzip stream", "read failed");
                got = static_cast<std::size_t>(r);
            } else {
                got = std::fread(out + total, 1, want, plain_.get());
                if (std::ferror(plain_.get()))
                    throw format_error(file_, "file", std::string("read failed: ") + std::strerror(errno));
            }
            total += got;
            if (got < want) break;
        }
        return total;
    }

private:
    void check_gzip() {
        int code = Z_OK;
        const char* message = gzerror(gz_.get(), &code);
        if (code == Z_OK) return;
        if (code == Z_ERRNO) throw format_error(file_, "file", std::string("read failed: ") + std::strerror(errno));
        // zlib prefixes its message with the path; ours already starts with it.
        std::string text = message;
        if (const std::string prefix = file_.string() + ": "; text.starts_with(prefix)) text.erase(0, prefix.size());
        // Z_BUF_ERROR is zlib's "unexpected end of file": the compressed stream itself was cut short.
        throw format_error(file_, "gzip stream", (code == Z_BUF_ERROR ? "truncated: " : "corrupt: ") + text);
    }

    struct CloseFile {
        void operator()(std::FILE* f) const noexcept { std::fclose(f); }
    };
    struct CloseGz {
        void operator()(gzFile f) const noexcept { gzclose(f); }
    };

    std::filesystem::path file_;
    std::unique_ptr<std::FILE, CloseFile> plain_;
    std::unique_ptr<gzFile_s, CloseGz> gz_;
    bool compressed_ = false;
    std::uint64_t size_ = 0;
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
        shape += (k ? "x" : "") + std::to_string(d);
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

    // gzip: the decompressed length is unknown until the stream ends, so grow in bounded chunks; a header
    // that lies about its size costs at most what the stream really holds.
    constexpr std::size_t chunk = std::size_t{1} << 22;
    array.bytes.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(payload, std::uint64_t{1} << 26)));
    while (array.bytes.size() < payload) {
        const std::size_t old = array.bytes.size();
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, payload - old));
        array.bytes.resize(old + want);
        const std::size_t got = source.read(array.bytes.data() + old, want);
        if (got < want)
            throw format_error(file, "payload", "truncated: expected " + what + ", got " + std::to_string(old + got));
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
