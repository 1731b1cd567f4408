#pragma once
// safetensors files (Hugging Face's format, what PyTorch users exchange weights in): load_safetensors(net, path)
// reads one into a network through its PyTorch state dict (io/state_dict.hpp), save_safetensors(net, path)
// writes one that PyTorch's load_state_dict(..., strict=True) takes; read_safetensors / write_safetensors do
// the same for a StateDict. Needs nlohmann-json (CMake target ctnn::safetensors).
//
// Layout: u64 little-endian header length N; N bytes of JSON,
//   {"name": {"dtype": "F32", "shape": [128, 784], "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}
// then the data buffer, offsets relative to its start, each tensor little-endian in C order.
//
// Reading maps the whole file (mmap, read-only) and copies each tensor once, from the mapping into its
// TorchTensor: F32 as it is, F16 and BF16 converted to float (exactly: every value of both is a float). Other
// dtypes are refused by name, except in tensors the load ignores (PyTorch's I64 num_batches_tracked, or any
// tensor StateDictOptions::allow_unexpected lets through). A file truncated by another process while it is
// mapped would raise SIGBUS, as with any mapped reader (the reference implementation maps files too).
//
// Checked before anything is converted, each failure a format_error naming the file and the field (the tensor's
// name for a tensor's entry): the file exists, is a regular file, is not empty, holds the 8-byte length; the
// header length is at most 100,000,000 bytes (the reference implementation's limit) and fits in the file; the
// header is valid JSON (nlohmann's message included) and an object; __metadata__ maps strings to strings; every
// tensor entry is an object with a known dtype string, a shape of non-negative integers and two data_offsets
// begin <= end within the buffer, spanning exactly product(shape) x dtype size bytes without overflow. As the
// reference implementation requires, the tensors, ordered by offset, cover the data buffer exactly: a gap,
// an overlap or bytes after the last tensor are errors (an overlap would let one byte be two tensors' values; a
// gap or a tail is where a writer and its reader disagree about the layout).
//
// Writing follows the reference implementation: F32 tensors in name order, the JSON header padded with spaces
// to a multiple of 8 bytes (the data then starts 8-byte aligned), __metadata__ {"format": "pt"}; atomically, as
// io::save (a temporary file renamed over the target).

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "ctnn/io/error.hpp"
#include "ctnn/io/model_file.hpp"  // detail::AtomicFileWriter
#include "ctnn/io/state_dict.hpp"

namespace ctnn::io {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; this platform would need byte swapping");

// The largest header a file may declare: the reference implementation's limit.
inline constexpr std::uint64_t safetensors_max_header_size = 100'000'000;

namespace detail {

struct SafetensorsDtype {
    std::string_view name;
    std::size_t size;
};
// Every dtype of the format, so that any file can be validated; only F32, F16 and BF16 convert to float.
inline constexpr SafetensorsDtype safetensors_dtypes[] = {
    {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},
    {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4},     {"I64", 8},     {"U64", 8}, {"F64", 8}};

inline bool converts_to_float(std::string_view dtype) noexcept {
    return dtype == "F32" || dtype == "F16" || dtype == "BF16";
}

// IEEE-754 binary16 to float, exactly: subnormals become normal floats, infinities and NaN payloads stay.
inline float half_to_float(std::uint16_t h) noexcept {
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    const std::uint32_t exponent = (h >> 10) & 0x1Fu;
    const std::uint32_t mantissa = h & 0x3FFu;
    if (exponent == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
    if (exponent == 0) {
        const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;  // m x 2^-24: exact, both are floats
        return sign != 0 ? -magnitude : magnitude;
    }
    return std::bit_cast<float>(sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13));
}
// bfloat16 is the upper half of a float.
inline float bfloat16_to_float(std::uint16_t b) noexcept { return std::bit_cast<float>(std::uint32_t{b} << 16); }

// One tensor entry of a header, checked against the data buffer.
struct SafetensorsEntry {
    std::string name;
    SafetensorsDtype dtype;
    std::vector<std::int64_t> shape;
    std::uint64_t begin = 0, end = 0;  // byte offsets in the data buffer
};

// A parsed and validated file: its entries in offset order, its metadata, its data buffer.
struct SafetensorsContents {
    std::vector<SafetensorsEntry> tensors;
    std::map<std::string, std::string> metadata;
    std::span<const unsigned char> data;
};

// A JSON value as a message quotes it, cut short.
inline constexpr int safetensors_max_json_depth = 16;

inline std::string json_excerpt(const nlohmann::json& value) {
    std::string text = value.dump();
    if (text.size() > 40) text = text.substr(0, 37) + "...";
    return text;
}

inline std::uint64_t json_size(const std::filesystem::path& file, const std::string& field, const std::string& what,
                               const nlohmann::json& value) {
    if (!value.is_number_unsigned())
        throw format_error(file, field, what + " is " + json_excerpt(value) + ", not a non-negative integer");
    return value.get<std::uint64_t>();
}

inline SafetensorsEntry parse_safetensors_entry(const std::filesystem::path& file, const std::string& name,
                                                const nlohmann::json& value, std::uint64_t data_size) {
    if (!value.is_object())
        throw format_error(
            file, name, "the entry is " + json_excerpt(value) + ", not an object with dtype, shape and data_offsets");
    const auto member = [&](const char* key) -> const nlohmann::json& {
        const auto found = value.find(key);
        if (found == value.end()) throw format_error(file, name, std::string(key) + ": missing");
        return *found;
    };
    SafetensorsEntry entry;
    entry.name = name;

    const nlohmann::json& dtype = member("dtype");
    if (!dtype.is_string()) throw format_error(file, name, "dtype: " + json_excerpt(dtype) + " is not a string");
    const std::string& dtype_name = dtype.get_ref<const std::string&>();
    const auto* known = std::find_if(std::begin(safetensors_dtypes), std::end(safetensors_dtypes),
                                     [&](const SafetensorsDtype& d) { return d.name == dtype_name; });
    if (known == std::end(safetensors_dtypes))
        throw format_error(file, name, "dtype: unknown dtype " + json_excerpt(dtype));
    entry.dtype = *known;

    const nlohmann::json& shape = member("shape");
    if (!shape.is_array()) throw format_error(file, name, "shape: " + json_excerpt(shape) + " is not an array");
    std::uint64_t elements = 1;
    bool overflow = false;
    for (std::size_t k = 0; k < shape.size(); ++k) {
        const std::uint64_t d = json_size(file, name, "shape: dimension " + std::to_string(k), shape[k]);
        if (d > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            throw format_error(file, name, "shape: dimension " + std::to_string(k) + " is too large");
        entry.shape.push_back(static_cast<std::int64_t>(d));
        overflow = overflow || (d != 0 && elements > std::numeric_limits<std::uint64_t>::max() / d);
        elements *= d;
    }
    if (overflow || elements > std::numeric_limits<std::uint64_t>::max() / entry.dtype.size)
        throw format_error(file, name, "shape: " + describe_shape(entry.shape) + " overflows the byte count");
    const std::uint64_t bytes = elements * entry.dtype.size;

    const nlohmann::json& offsets = member("data_offsets");
    if (!offsets.is_array() || offsets.size() != 2)
        throw format_error(file, name, "data_offsets: " + json_excerpt(offsets) + " is not an array [begin, end]");
    entry.begin = json_size(file, name, "data_offsets: begin", offsets[0]);
    entry.end = json_size(file, name, "data_offsets: end", offsets[1]);
    if (entry.begin > entry.end)
        throw format_error(
            file, name, "data_offsets: begin " + std::to_string(entry.begin) + " > end " + std::to_string(entry.end));
    if (entry.end > data_size)
        throw format_error(file, name,
                           "data_offsets: end " + std::to_string(entry.end) + " lies beyond the data buffer of " +
                               std::to_string(data_size) + " bytes");
    if (entry.end - entry.begin != bytes)
        throw format_error(file, name,
                           "data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
                               ") span " + std::to_string(entry.end - entry.begin) + " bytes, shape " +
                               describe_shape(entry.shape) + " of " + std::string(entry.dtype.name) + " needs " +
                               std::to_string(bytes));
    return entry;
}

// Parses and validates the bytes of a whole file (see the top of this header); `file` names it in messages.
inline SafetensorsContents parse_safetensors(const std::filesystem::path& file, std::span<const unsigned char> bytes) {
    if (bytes.empty())
        throw format_error(file, "file", "is empty (a safetensors file starts with an 8-byte header length)");
    if (bytes.size() < 8)
        throw format_error(file, "header length",
                           "truncated: needs 8 bytes, the file has " + std::to_string(bytes.size()));
    std::uint64_t header_size = 0;
    std::memcpy(&header_size, bytes.data(), sizeof header_size);
    if (header_size > safetensors_max_header_size)
        throw format_error(
            file, "header length",
            std::to_string(header_size) + " bytes exceeds the limit of " + std::to_string(safetensors_max_header_size));
    if (header_size > bytes.size() - 8)
        throw format_error(file, "header length",
                           std::to_string(header_size) + " bytes, but the file has " +
                               std::to_string(bytes.size() - 8) + " after the length");
    const auto* header_begin = bytes.data() + 8;
    const std::span<const unsigned char> data = bytes.subspan(8 + header_size);

    // A valid header nests three levels (header, entry, shape). Deeper input is refused while parsing: a value
    // nested 100,000 levels deep would overflow the stack in nlohmann's recursive dump() of the error message.
    const auto refuse_deep_nesting = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
        if (depth > safetensors_max_json_depth)
            throw format_error(file, "header",
                               "malformed JSON: nested deeper than " + std::to_string(safetensors_max_json_depth) +
                                   " levels (a safetensors header needs 3)");
        return true;
    };
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(header_begin, header_begin + header_size, refuse_deep_nesting);
    } catch (const nlohmann::json::exception& e) {
        throw format_error(file, "header", std::string("malformed JSON: ") + e.what());
    }
    if (!header.is_object()) throw format_error(file, "header", "is " + json_excerpt(header) + ", not a JSON object");

    SafetensorsContents contents;
    contents.data = data;
    for (const auto& [key, value] : header.items()) {
        if (key == "__metadata__") {
            if (!value.is_object())
                throw format_error(file, "__metadata__", "is " + json_excerpt(value) + ", not an object of strings");
            for (const auto& [meta_key, meta_value] : value.items()) {
                if (!meta_value.is_string())
                    throw format_error(
                        file, "__metadata__",
                        "the value of \"" + meta_key + "\" is " + json_excerpt(meta_value) + ", not a string");
                contents.metadata.emplace(meta_key, meta_value.get<std::string>());
            }
            continue;
        }
        // Every later error names its tensor; an empty name would leave it naming nothing (and no layer has one).
        if (key.empty()) throw format_error(file, "header", "a tensor entry has an empty name");
        contents.tensors.push_back(parse_safetensors_entry(file, key, value, data.size()));
    }

    std::sort(contents.tensors.begin(), contents.tensors.end(),
              [](const auto& a, const auto& b) { return std::pair(a.begin, a.end) < std::pair(b.begin, b.end); });
    std::uint64_t covered = 0;
    const SafetensorsEntry* previous = nullptr;
    for (const SafetensorsEntry& t : contents.tensors) {
        if (t.begin < covered)
            throw format_error(file, t.name,
                               "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                                   ") overlap tensor " + previous->name + "'s [" + std::to_string(previous->begin) +
                                   ", " + std::to_string(previous->end) + ")");
        if (t.begin > covered)
            throw format_error(file, t.name,
                               "data_offsets: the " + std::to_string(t.begin - covered) + " bytes before it, from " +
                                   std::to_string(covered) +
                                   ", belong to no tensor (safetensors requires the tensors to cover the buffer)");
        covered = t.end;
        previous = &t;
    }
    if (covered != data.size())
        throw format_error(file, "data",
                           std::to_string(data.size() - covered) + " bytes after the last tensor (the tensors end at " +
                               std::to_string(covered) + " of a " + std::to_string(data.size()) +
                               "-byte buffer; safetensors requires them to cover it)");
    return contents;
}

// The tensor's values as floats.
inline std::vector<float> safetensors_values(const SafetensorsEntry& t, std::span<const unsigned char> data) {
    const unsigned char* bytes = data.data() + t.begin;
    const std::size_t count = static_cast<std::size_t>((t.end - t.begin) / t.dtype.size);
    std::vector<float> values(count);
    if (t.dtype.name == "F32") {
        std::memcpy(values.data(), bytes, count * sizeof(float));
    } else {
        const bool half = t.dtype.name == "F16";
        for (std::size_t i = 0; i < count; ++i) {
            std::uint16_t bits;
            std::memcpy(&bits, bytes + 2 * i, sizeof bits);
            values[i] = half ? half_to_float(bits) : bfloat16_to_float(bits);
        }
    }
    return values;
}

// The whole file, mapped read-only for the lifetime of the object.
class MappedFile {
public:
    explicit MappedFile(const std::filesystem::path& file) {
        require_regular_file<format_error>(file);
        const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw format_error(file, "file", std::string("cannot open: ") + std::strerror(errno));
        struct stat info {};
        if (::fstat(fd, &info) != 0) {
            const int error = errno;
            ::close(fd);
            throw format_error(file, "file", std::string("cannot determine its size: ") + std::strerror(error));
        }
        size_ = static_cast<std::size_t>(info.st_size);
        if (size_ > 0) {
            void* mapped = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
            if (mapped == MAP_FAILED) {
                const int error = errno;
                ::close(fd);
                throw format_error(file, "file", std::string("cannot map: ") + std::strerror(error));
            }
            data_ = static_cast<const unsigned char*>(mapped);
        }
        ::close(fd);  // the mapping stays valid without the descriptor
    }
    ~MappedFile() {
        if (data_ != nullptr) ::munmap(const_cast<unsigned char*>(data_), size_);
    }
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    std::span<const unsigned char> bytes() const noexcept { return {data_, size_}; }

private:
    const unsigned char* data_ = nullptr;
    std::size_t size_ = 0;
};

// What a reader keeps of a tensor: its values, only its name and shape (for load_state_dict to report it as
// unexpected, whatever its dtype, without converting it), or nothing.
enum class SafetensorsTake { values, name_only, nothing };

// The file's tensors as a StateDict, take(name) choosing what is kept of each.
template <class Take>
StateDict read_safetensors_with(const std::filesystem::path& file, Take&& take) {
    const MappedFile mapped(file);
    const SafetensorsContents contents = parse_safetensors(file, mapped.bytes());
    StateDict tensors;
    for (const SafetensorsEntry& t : contents.tensors) {
        const SafetensorsTake what = take(std::string_view(t.name));
        if (what == SafetensorsTake::nothing) continue;
        TorchTensor& out = tensors[t.name];
        out.shape = t.shape;
        if (what == SafetensorsTake::name_only) continue;
        if (!converts_to_float(t.dtype.name))
            throw format_error(file, t.name,
                               "dtype " + std::string(t.dtype.name) +
                                   " is not supported: ctnn reads F32, F16 and BF16 (converted to float exactly)");
        out.values = safetensors_values(t, contents.data);
    }
    return tensors;
}

}  // namespace detail

// Every tensor of `file`, as floats (F32, F16, BF16; num_batches_tracked counters are left out). Throws
// format_error naming the file and the field.
inline StateDict read_safetensors(const std::filesystem::path& file) {
    return detail::read_safetensors_with(file, [](std::string_view name) {
        return detail::ignored_torch_tensor(name) ? detail::SafetensorsTake::nothing : detail::SafetensorsTake::values;
    });
}

// Writes `tensors` (F32) to `file` atomically, with `metadata` as __metadata__. Throws format_error naming the
// file (and the tensor, for one whose values do not fill its shape); whatever was at `file` is then left as it was.
inline void write_safetensors(const std::filesystem::path& file, const StateDict& tensors,
                              const std::map<std::string, std::string>& metadata = {{"format", "pt"}}) {
    nlohmann::json header = nlohmann::json::object();
    std::uint64_t offset = 0;
    for (const auto& [name, t] : tensors) {
        if (name == "__metadata__") throw format_error(file, name, "is the header's metadata key, not a tensor name");
        for (std::int64_t d : t.shape)
            if (d < 0) throw format_error(file, name, "shape " + detail::describe_shape(t.shape) + " is negative");
        if (t.values.size() != detail::element_count(t.shape))
            throw format_error(file, name,
                               "holds " + std::to_string(t.values.size()) + " values, its shape " +
                                   detail::describe_shape(t.shape) + " needs " +
                                   std::to_string(detail::element_count(t.shape)));
        const std::uint64_t end = offset + t.values.size() * sizeof(float);
        header[name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, end}}};
        offset = end;
    }
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    const std::uint64_t header_size = text.size();

    detail::AtomicFileWriter out(file);
    out.write(&header_size, sizeof header_size, /*checksummed=*/false);
    out.write(text.data(), text.size(), /*checksummed=*/false);
    for (const auto& entry : tensors)
        out.write(entry.second.values.data(), entry.second.values.size() * sizeof(float), /*checksummed=*/false);
    out.commit();
}

// Replaces net's parameters and state with those in the safetensors file (PyTorch's names and layouts, see
// io/state_dict.hpp), after checking the file and every tensor. Throws format_error naming the file and the
// field; net is then unchanged.
template <class Net>
void load_safetensors(Net& net, const std::filesystem::path& file, const StateDictOptions& options = {}) {
    std::set<std::string, std::less<>> expected;
    for (ExpectedTorchTensor& t : expected_state_dict<Net>()) expected.insert(std::move(t.name));
    const StateDict tensors = detail::read_safetensors_with(file, [&](std::string_view name) {
        const auto renamed = options.rename.find(name);
        const bool is_renamed = renamed != options.rename.end();
        const std::string_view seen = is_renamed ? std::string_view(renamed->second) : name;
        using Take = detail::SafetensorsTake;
        if (expected.contains(seen)) return Take::values;
        if (is_renamed) return Take::name_only;  // load_state_dict checks every rename against the file
        if (detail::ignored_torch_tensor(seen) || options.allow_unexpected) return Take::nothing;
        return Take::name_only;  // load_state_dict reports it as unexpected
    });
    load_state_dict(net, tensors, file, options);
}

// Writes net's parameters and state to `file` in PyTorch's layout and names (F32), atomically.
template <class Net>
void save_safetensors(const Net& net, const std::filesystem::path& file) {
    write_safetensors(file, state_dict(net));
}

}  // namespace ctnn::io
