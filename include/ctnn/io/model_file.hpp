#pragma once
// Saving and loading a network's parameters: save(net, "mlp.ctnn"), load(net, "mlp.ctnn").
//
// File layout, format version 1, every integer little-endian:
//
//   offset    size   field
//   0         8      magic "CTNNMODL"
//   8         4      u32 format version (1)
//   12        8      u64 architecture hash: Net::architecture_hash, computed at compile time from the network type
//   20        4      u32 tensor count T
//   24               tensor table, T entries: the trainable tensors in visit_parameters order, then the
//                    non-trainable state (BatchNorm's running statistics) in visit_state order, each:
//                      u32 layer index (position after Input, parameter-free layers counted)
//                      u32 name length L, then L bytes of name ("weights", "running_mean"), no terminator
//                      u32 rank R, then R x u64 dims
//                      u64 element count (the product of the dims)
//   ...              payload: every tensor's elements as IEEE-754 float32, in table order, no padding
//   size - 4  4      u32 CRC-32 (zlib's crc32) of every byte before it
//
// load() checks, in this order, and stops at the first failure with a format_error naming the file and the
// field: the file opens; it holds the fixed 24-byte header; magic; version; architecture hash; tensor count;
// each table entry against the network's own; the exact file size the table implies; the checksum. The payload
// is staged in a buffer and reaches the network only once every check has passed, so a failed load leaves the
// network's parameters and state exactly as they were.
//
// save() writes FILE.tmp-<pid>-<n> in FILE's directory, flushes it to disk, then renames it over FILE: a crash,
// a full disk or a bad path never leaves a half-written model where a good one used to be.

#include <atomic>
#include <bit>
#include <cerrno>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include "ctnn/io/error.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn::io {

// Integers and floats are copied to and from the file as they sit in memory.
static_assert(std::endian::native == std::endian::little,
              "ctnn model files are little-endian; this platform would need byte swapping");
static_assert(std::numeric_limits<float>::is_iec559 && sizeof(float) == 4, "the payload is IEEE-754 float32");

inline constexpr char model_magic[8] = {'C', 'T', 'N', 'N', 'M', 'O', 'D', 'L'};
inline constexpr std::uint32_t model_format_version = 1;
inline constexpr std::size_t model_fixed_header_size = 8 + 4 + 8 + 4;

// Bounds on what a table entry may claim. A corrupt table could otherwise announce a name of 4 GiB.
inline constexpr std::uint32_t max_tensor_count = 1u << 16;
inline constexpr std::uint32_t max_tensor_name_length = 256;
inline constexpr std::uint32_t max_tensor_rank = 8;

// One entry of the tensor table.
struct TensorRecord {
    std::uint32_t layer_index = 0;
    std::string name;
    std::vector<std::uint64_t> dims;
    std::uint64_t element_count = 0;

    friend bool operator==(const TensorRecord&, const TensorRecord&) = default;
};

// What read_header() finds: enough for a tool to tell which network a file belongs to without that network.
struct ModelFileHeader {
    std::uint32_t version = 0;
    std::uint64_t architecture_hash = 0;
    std::vector<TensorRecord> tensors;
};

// What save() and load() need of a network: its compile-time fingerprint and a walk over its parameters.
template <class Net>
concept SavableNetwork = requires(Net& net) {
    { Net::architecture_hash } -> std::convertible_to<std::uint64_t>;
    net.visit_parameters([](std::size_t, const ParameterView&) {});
};

namespace detail {

inline std::string hex(std::uint64_t value, int digits = 16) {
    char text[2 + 16 + 1];
    std::snprintf(text, sizeof text, "0x%0*llx", digits, static_cast<unsigned long long>(value));
    return text;
}

inline std::string describe_dims(const std::vector<std::uint64_t>& dims) {
    if (dims.empty()) return "scalar";
    std::string text;
    for (std::size_t k = 0; k < dims.size(); ++k) {
        if (k != 0) text += 'x';
        text += std::to_string(dims[k]);  // appended separately: g++ 12 -O3 warns falsely (-Wrestrict) on "x" + str
    }
    return text;
}

inline std::string describe(const TensorRecord& t) {
    return "layer " + std::to_string(t.layer_index) + " " + t.name + " " + describe_dims(t.dims);
}

// "layer 1 weights 784x128, layer 1 bias 128", cut short for deep networks: the first tensors are where
// architectures usually part ways.
inline std::string describe(const std::vector<TensorRecord>& tensors) {
    constexpr std::size_t shown = 8;
    if (tensors.empty()) return "no tensors";
    std::string text;
    for (std::size_t i = 0; i < tensors.size() && i < shown; ++i) text += (i ? ", " : "") + describe(tensors[i]);
    if (tensors.size() > shown) text += ", ... (" + std::to_string(tensors.size() - shown) + " more)";
    return text;
}

// zlib's crc32 takes 32-bit lengths.
inline std::uint32_t crc32_update(std::uint32_t crc, const void* data, std::size_t n) noexcept {
    const auto* bytes = static_cast<const Bytef*>(data);
    while (n > 0) {
        const std::size_t chunk = std::min<std::size_t>(n, std::size_t{1} << 30);
        crc = static_cast<std::uint32_t>(::crc32(crc, bytes, static_cast<uInt>(chunk)));
        bytes += chunk;
        n -= chunk;
    }
    return crc;
}

struct CloseFile {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

// The network's own table and the spans its parameters live in, in visit_parameters order.
struct NetworkTensors {
    std::vector<TensorRecord> records;
    std::vector<std::span<float>> values;
    std::uint64_t element_total = 0;
};

// Trainable tensors first, then the non-trainable state (running statistics) of networks that have some.
template <SavableNetwork Net>
NetworkTensors tensors_of(Net& net) {
    NetworkTensors out;
    const auto add = [&](std::size_t layer_index, std::string_view name, std::span<float> value,
                         std::span<const std::size_t> shape) {
        TensorRecord record{static_cast<std::uint32_t>(layer_index), std::string(name), {}, value.size()};
        record.dims.assign(shape.begin(), shape.end());
        out.records.push_back(std::move(record));
        out.values.push_back(value);
        out.element_total += value.size();
    };
    net.visit_parameters([&](std::size_t layer, const ParameterView& p) { add(layer, p.name, p.value, p.shape); });
    if constexpr (requires { net.visit_state([](std::size_t, const StateView&) {}); })
        net.visit_state([&](std::size_t layer, const StateView& v) { add(layer, v.name, v.value, v.shape); });
    return out;
}

// Reads a model file front to back, keeping the running CRC and turning every short read into a "truncated"
// format_error that says which field was cut off.
class ModelReader {
public:
    explicit ModelReader(const std::filesystem::path& file) : file_(file) {
        require_regular_file<format_error>(file);
        std::error_code ec;
        stream_.reset(std::fopen(file.c_str(), "rb"));
        if (!stream_) throw format_error(file, "file", std::string("cannot open: ") + std::strerror(errno));
        size_ = std::filesystem::file_size(file, ec);
        if (ec) throw format_error(file, "file", "cannot determine its size: " + ec.message());
    }

    const std::filesystem::path& file() const noexcept { return file_; }
    std::uint64_t size() const noexcept { return size_; }
    std::uint64_t offset() const noexcept { return offset_; }
    std::uint32_t crc() const noexcept { return crc_; }

    void read(void* destination, std::size_t n, const std::string& field, bool checksummed = true) {
        const std::size_t got = std::fread(destination, 1, n, stream_.get());
        if (std::ferror(stream_.get()))
            throw format_error(file_, field, std::string("read failed: ") + std::strerror(errno));
        if (got < n)
            throw format_error(file_, field,
                               "truncated: needs " + std::to_string(n) + " bytes at offset " + std::to_string(offset_) +
                                   ", the file has " + std::to_string(size_) + " bytes");
        if (checksummed) crc_ = crc32_update(crc_, destination, n);
        offset_ += n;
    }
    template <class T>
    T read_value(const std::string& field) {
        T value;
        read(&value, sizeof value, field);
        return value;
    }

private:
    std::filesystem::path file_;
    std::unique_ptr<std::FILE, CloseFile> stream_;
    std::uint64_t size_ = 0;
    std::uint64_t offset_ = 0;
    std::uint32_t crc_ = 0;
};

struct FixedHeader {
    std::uint32_t version = 0;
    std::uint64_t architecture_hash = 0;
    std::uint32_t tensor_count = 0;
};

inline FixedHeader read_fixed_header(ModelReader& in) {
    if (in.size() < model_fixed_header_size)
        throw format_error(in.file(), "header",
                           "truncated: the fixed header needs " + std::to_string(model_fixed_header_size) +
                               " bytes, the file has " + std::to_string(in.size()));
    char magic[sizeof model_magic];
    in.read(magic, sizeof magic, "header");
    if (std::memcmp(magic, model_magic, sizeof magic) != 0)
        throw format_error(in.file(), "magic", "not a ctnn model file (expected \"CTNNMODL\")");
    FixedHeader header;
    header.version = in.read_value<std::uint32_t>("version");
    if (header.version != model_format_version)
        throw format_error(in.file(), "version",
                           "unknown format version " + std::to_string(header.version) + " (this build reads " +
                               std::to_string(model_format_version) + ")");
    header.architecture_hash = in.read_value<std::uint64_t>("architecture hash");
    header.tensor_count = in.read_value<std::uint32_t>("tensor count");
    return header;
}

// One table entry, bounded but not yet compared with anything.
inline TensorRecord read_tensor_record(ModelReader& in, std::size_t index) {
    const std::string field = "tensor " + std::to_string(index);
    TensorRecord t;
    t.layer_index = in.read_value<std::uint32_t>(field + " layer index");
    const auto name_length = in.read_value<std::uint32_t>(field + " name");
    if (name_length > max_tensor_name_length)
        throw format_error(in.file(), field + " name",
                           "a name of " + std::to_string(name_length) + " bytes exceeds the limit of " +
                               std::to_string(max_tensor_name_length));
    t.name.resize(name_length);
    in.read(t.name.data(), name_length, field + " name");
    const auto rank = in.read_value<std::uint32_t>(field + " rank");
    if (rank > max_tensor_rank)
        throw format_error(in.file(), field + " rank",
                           "rank " + std::to_string(rank) + " exceeds the limit of " + std::to_string(max_tensor_rank));
    t.dims.resize(rank);
    for (auto& d : t.dims) d = in.read_value<std::uint64_t>(field + " dims");
    t.element_count = in.read_value<std::uint64_t>(field + " element count");
    return t;
}

// The table after the fixed header, each entry bounded.
inline ModelFileHeader read_table(ModelReader& in) {
    const FixedHeader fixed = read_fixed_header(in);
    if (fixed.tensor_count > max_tensor_count)
        throw format_error(
            in.file(), "tensor count",
            std::to_string(fixed.tensor_count) + " exceeds the limit of " + std::to_string(max_tensor_count));
    ModelFileHeader header{fixed.version, fixed.architecture_hash, {}};
    for (std::size_t i = 0; i < fixed.tensor_count; ++i) header.tensors.push_back(read_tensor_record(in, i));
    return header;
}

// The payload after the table (element_total floats, once the file size is exactly what the table implies) and
// its checksum. Staged, not read into a network: a checksum failure must leave the network as it was.
inline std::vector<float> read_payload(ModelReader& in, std::uint64_t element_total) {
    const std::filesystem::path& file = in.file();
    const std::uint64_t implied_size = in.offset() + element_total * sizeof(float) + sizeof(std::uint32_t) /* CRC */;
    if (in.size() < implied_size)
        throw format_error(file, "file size",
                           "truncated: the header implies " + std::to_string(implied_size) + " bytes, the file has " +
                               std::to_string(in.size()));
    if (in.size() > implied_size)
        throw format_error(file, "file size",
                           std::to_string(in.size() - implied_size) +
                               (in.size() - implied_size == 1 ? " trailing byte" : " trailing bytes") +
                               " after the checksum (the header implies " + std::to_string(implied_size) +
                               " bytes, the file has " + std::to_string(in.size()) + ")");

    std::vector<float> staging(element_total);
    in.read(staging.data(), staging.size() * sizeof(float), "payload");
    const std::uint32_t computed_crc = in.crc();
    std::uint32_t stored_crc = 0;
    in.read(&stored_crc, sizeof stored_crc, "checksum", /*checksummed=*/false);
    if (stored_crc != computed_crc)
        throw format_error(file, "checksum",
                           "checksum mismatch: file is corrupted (stored " + hex(stored_crc, 8) + ", computed " +
                               hex(computed_crc, 8) + ")");
    return staging;
}

// Compares a table entry with the network's, field by field, so the message says which one differs.
inline void check_tensor_record(const std::filesystem::path& file, std::size_t index, const TensorRecord& found,
                                const TensorRecord& expected) {
    const std::string field = "tensor " + std::to_string(index);
    const std::string context = " (this network's tensor " + std::to_string(index) + " is " + describe(expected) + ")";
    if (found.layer_index != expected.layer_index)
        throw format_error(file, field + " layer index",
                           "expected " + std::to_string(expected.layer_index) + ", found " +
                               std::to_string(found.layer_index) + context);
    if (found.name != expected.name)
        throw format_error(file, field + " name", "expected \"" + expected.name + "\", found \"" + found.name + "\"");
    if (found.dims.size() != expected.dims.size())
        throw format_error(file, field + " rank",
                           "expected " + std::to_string(expected.dims.size()) + ", found " +
                               std::to_string(found.dims.size()) + context);
    if (found.dims != expected.dims)
        throw format_error(
            file, field + " dims",
            "expected " + describe_dims(expected.dims) + ", found " + describe_dims(found.dims) + context);
    if (found.element_count != expected.element_count)
        throw format_error(file, field + " element count",
                           "expected " + std::to_string(expected.element_count) + ", found " +
                               std::to_string(found.element_count) + context);
}

// The architecture message, with the tensor shapes on both sides when the file's table can be read: a user who
// changed Dense<784,128> into Dense<784,64> sees it at once. Equal shapes point at a parameter-free layer.
inline std::string architecture_mismatch(ModelReader& in, const FixedHeader& header, std::uint64_t expected_hash,
                                         const std::vector<TensorRecord>& expected) {
    std::string text = "saved from a different network architecture (the file's architecture hash is " +
                       hex(header.architecture_hash) + ", this network's is " + hex(expected_hash) + ")";
    if (header.tensor_count > max_tensor_count) return text;
    std::vector<TensorRecord> found;
    try {
        for (std::size_t i = 0; i < header.tensor_count; ++i) found.push_back(read_tensor_record(in, i));
    } catch (const format_error&) {
        return text;  // a broken table would only add noise to the real problem
    }
    if (found == expected)
        return text + "; the parameter tensors agree (" + describe(expected) +
               "), so a parameter-free layer (Permute, pooling, activation) or the input shape differs";
    return text + "; the file holds " + describe(found) + "; this network has " + describe(expected);
}

// Creates FILE.tmp-<pid>-<n> next to FILE and renames it over FILE on commit(); until then, any exit removes
// it. The counter keeps two threads saving to one file from sharing a temporary file.
class AtomicFileWriter {
public:
    explicit AtomicFileWriter(const std::filesystem::path& file) : file_(file), temporary_(file) {
        static std::atomic<unsigned> counter{0};
        temporary_ += ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
        // "x": never truncate a file that is not ours, even if it happens to bear the temporary name.
        stream_.reset(std::fopen(temporary_.c_str(), "wbx"));
        if (!stream_)
            throw format_error(file_, "file",
                               "cannot create the temporary file " + temporary_.string() + ": " + std::strerror(errno));
    }
    ~AtomicFileWriter() {
        stream_.reset();
        if (!committed_) {
            std::error_code ignored;
            std::filesystem::remove(temporary_, ignored);
        }
    }
    AtomicFileWriter(const AtomicFileWriter&) = delete;
    AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

    std::uint32_t crc() const noexcept { return crc_; }

    void write(const void* data, std::size_t n, bool checksummed = true) {
        if (n > 0 && std::fwrite(data, 1, n, stream_.get()) != n) fail("write failed");
        if (checksummed) crc_ = crc32_update(crc_, data, n);
    }

    // Data on disk before the rename, the rename itself on disk after: a crash leaves the old file or the new
    // one, never an empty one.
    void commit() {
        if (std::fflush(stream_.get()) != 0) fail("write failed");
        if (::fsync(::fileno(stream_.get())) != 0) fail("cannot flush to disk");
        if (std::fclose(stream_.release()) != 0) fail("write failed");
        std::error_code ec;
        std::filesystem::rename(temporary_, file_, ec);
        if (ec) throw format_error(file_, "file", "cannot rename " + temporary_.string() + " over it: " + ec.message());
        committed_ = true;
        sync_directory();
    }

private:
    [[noreturn]] void fail(const char* what) const {
        const int error = errno;  // before anything below can overwrite it
        throw format_error(file_, "file",
                           std::string(what) + " on " + temporary_.string() + ": " + std::strerror(error));
    }
    void sync_directory() const noexcept {
        const auto directory = file_.has_parent_path() ? file_.parent_path() : std::filesystem::path(".");
        const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY);
        if (fd < 0) return;  // the file is already in place; durability of the rename is best effort
        (void)::fsync(fd);
        ::close(fd);
    }

    std::filesystem::path file_;
    std::filesystem::path temporary_;
    std::unique_ptr<std::FILE, CloseFile> stream_;
    std::uint32_t crc_ = 0;
    bool committed_ = false;
};

// resize and memcpy rather than insert: g++ 12 -O3 warns falsely (-Wstringop-overflow) on inserting a few bytes.
template <class T>
void append(std::vector<unsigned char>& bytes, T value) {
    const std::size_t end = bytes.size();
    bytes.resize(end + sizeof value);
    std::memcpy(bytes.data() + end, &value, sizeof value);
}

}  // namespace detail

// Writes net's parameters to `file` atomically (see the top of this header). Throws format_error naming the
// file when it cannot be written; whatever was at `file` before is then left as it was.
template <SavableNetwork Net>
void save(const Net& net, const std::filesystem::path& file) {
    // visit_parameters is not const because optimisers write through it; here it is only read through.
    const detail::NetworkTensors tensors = detail::tensors_of(const_cast<Net&>(net));

    std::vector<unsigned char> header;
    header.insert(header.end(), std::begin(model_magic), std::end(model_magic));
    detail::append(header, model_format_version);
    detail::append(header, static_cast<std::uint64_t>(Net::architecture_hash));
    detail::append(header, static_cast<std::uint32_t>(tensors.records.size()));
    for (const TensorRecord& t : tensors.records) {
        detail::append(header, t.layer_index);
        detail::append(header, static_cast<std::uint32_t>(t.name.size()));
        header.insert(header.end(), t.name.begin(), t.name.end());
        detail::append(header, static_cast<std::uint32_t>(t.dims.size()));
        for (std::uint64_t d : t.dims) detail::append(header, d);
        detail::append(header, t.element_count);
    }

    detail::AtomicFileWriter out(file);
    out.write(header.data(), header.size());
    for (std::span<const float> values : tensors.values) out.write(values.data(), values.size_bytes());
    const std::uint32_t crc = out.crc();
    out.write(&crc, sizeof crc, /*checksummed=*/false);
    out.commit();
}

// Replaces net's parameters with those in `file`, after checking everything (see the top of this header).
// Throws format_error naming the file and the field; net is then unchanged.
template <SavableNetwork Net>
void load(Net& net, const std::filesystem::path& file) {
    const detail::NetworkTensors expected = detail::tensors_of(net);
    detail::ModelReader in(file);

    const detail::FixedHeader header = detail::read_fixed_header(in);
    if (header.architecture_hash != Net::architecture_hash)
        throw format_error(file, "architecture",
                           detail::architecture_mismatch(in, header, Net::architecture_hash, expected.records));
    if (header.tensor_count != expected.records.size())
        throw format_error(
            file, "tensor count",
            "expected " + std::to_string(expected.records.size()) + ", found " + std::to_string(header.tensor_count));
    for (std::size_t i = 0; i < expected.records.size(); ++i)
        detail::check_tensor_record(file, i, detail::read_tensor_record(in, i), expected.records[i]);

    const std::vector<float> staging = detail::read_payload(in, expected.element_total);
    const float* source = staging.data();
    for (std::span<float> values : expected.values) {
        std::memcpy(values.data(), source, values.size_bytes());
        source += values.size();
    }
}

// The header and tensor table of `file`, for tools that need to know which network a file belongs to. Checks
// magic, version and the table's bounds; does not read the payload or verify the checksum (load() does).
inline ModelFileHeader read_header(const std::filesystem::path& file) {
    detail::ModelReader in(file);
    return detail::read_table(in);
}

// Everything in `file`, for tools that turn a model file into something else without its network type
// (ctnn_embed). Checks what load() checks, with the file's own table standing in for a network's: each element
// count must be the product of its dims, then the file size and the checksum.
struct ModelFileContents {
    ModelFileHeader header;
    std::vector<float> values;  // every tensor's elements, in table order
};
inline ModelFileContents read_model_file(const std::filesystem::path& file) {
    detail::ModelReader in(file);
    ModelFileContents contents{detail::read_table(in), {}};
    std::uint64_t element_total = 0;
    for (std::size_t i = 0; i < contents.header.tensors.size(); ++i) {
        const TensorRecord& t = contents.header.tensors[i];
        const std::string field = "tensor " + std::to_string(i) + " element count";
        std::uint64_t product = 1;
        for (std::uint64_t d : t.dims)
            product = (d != 0 && product > t.element_count / d) ? t.element_count + 1 : product * d;
        if (product != t.element_count)
            throw format_error(file, field,
                               std::to_string(t.element_count) + " is not the product of the dims " +
                                   detail::describe_dims(t.dims));
        // A corrupt table must not overflow the size it implies into one that passes.
        const std::uint64_t max_total =
            (std::numeric_limits<std::uint64_t>::max() - in.offset() - sizeof(std::uint32_t)) / sizeof(float);
        if (t.element_count > max_total - element_total)
            throw format_error(file, field, std::to_string(t.element_count) + " elements cannot fit in any file");
        element_total += t.element_count;
    }
    contents.values = detail::read_payload(in, element_total);
    return contents;
}

}  // namespace ctnn::io
