#pragma once
// file_error: an input file that cannot be used as it is. The message always names the file and the field
// ("data/mnist/train-images-idx3-ubyte: dimension 2: expected 28, found 29") so the user knows what to fix
// without a debugger. data::format_error and io::format_error derive from it. Control characters in the message
// (a tensor or node name read from a hostile file may hold any byte) appear as \xNN: a NUL would end what()
// before the problem, an escape sequence would drive the terminal it is printed on.

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace ctnn {

namespace detail {
inline std::string printable(std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte != 0x7f) {
            out += c;
        } else {
            out += "\\x";
            out += hex[byte >> 4];
            out += hex[byte & 0xF];
        }
    }
    return out;
}
}  // namespace detail

class file_error : public std::runtime_error {
public:
    file_error(std::filesystem::path file, std::string field, const std::string& problem)
        : std::runtime_error(detail::printable(file.string()) + ": " + detail::printable(field) + ": " +
                             detail::printable(problem)),
          file_(std::move(file)),
          field_(std::move(field)) {}

    const std::filesystem::path& file() const noexcept { return file_; }
    const std::string& field() const noexcept { return field_; }

private:
    std::filesystem::path file_;
    std::string field_;
};

// Throws Error(file, "file", ...) unless `file` is a regular file that exists: "not found", "cannot access"
// (a symlink loop, a directory it may not search), "is a directory", "is not a regular file" (a FIFO would
// block the open until a writer comes, and a device has no size to check a header against). Every reader
// calls it before opening.
template <class Error>
void require_regular_file(const std::filesystem::path& file) {
    std::error_code ec;
    const auto status = std::filesystem::status(file, ec);
    if (status.type() == std::filesystem::file_type::not_found) throw Error(file, "file", "not found");
    if (ec) throw Error(file, "file", "cannot access: " + ec.message());
    if (std::filesystem::is_directory(status)) throw Error(file, "file", "is a directory");
    if (!std::filesystem::is_regular_file(status)) throw Error(file, "file", "is not a regular file");
}

}  // namespace ctnn
