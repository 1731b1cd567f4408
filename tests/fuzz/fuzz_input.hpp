#pragma once
// Shared by the fuzz targets. The readers take paths, so each input is first written to a file of this
// process's own; and a rejection must be the documented one: a file_error (data:: or io::format_error) that
// names the file it was given and a field, as "<file>: <field>: <problem>". Anything else, another exception
// type, a message that names the wrong file, a crash or a sanitizer report, ends the run as a finding.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <system_error>

#include <unistd.h>

#include "ctnn/core/file_error.hpp"

namespace ctnn::fuzz {

// A directory under $TMPDIR (or /tmp) named after the process, removed when the process exits normally;
// libFuzzer leaves through exit(), so static destructors run. Forked workers (-fork, -jobs) each get their own.
class InputDirectory {
public:
    InputDirectory() {
        const char* tmp = std::getenv("TMPDIR");
        path_ = std::filesystem::path(tmp && *tmp ? tmp : "/tmp") / ("ctnn-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(path_);
    }
    ~InputDirectory() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    InputDirectory(const InputDirectory&) = delete;
    InputDirectory& operator=(const InputDirectory&) = delete;

    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

    // Replaces the content of `name` with the n bytes at data and returns its path.
    std::filesystem::path write(const std::string& name, const std::uint8_t* data, std::size_t n) const {
        const std::filesystem::path file = path_ / name;
        std::FILE* f = std::fopen(file.c_str(), "wb");
        if (!f || (n > 0 && std::fwrite(data, 1, n, f) != n) || std::fclose(f) != 0) {
            std::perror(file.c_str());  // the harness, not the reader, failed: stop rather than fuzz nothing
            std::abort();
        }
        return file;
    }

private:
    std::filesystem::path path_;
};

inline const InputDirectory& input_directory() {
    static const InputDirectory directory;
    return directory;
}

// `text` with the bytes below 0x20 and 0x7f as \xNN; with `all`, every byte outside printable ASCII (for the
// report of a finding, which must show what a message really holds).
inline std::string escaped(const std::string& text, bool all = false) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (const unsigned char c : text) {
        if (c >= 0x20 && c != 0x7f && (c < 0x80 || !all)) {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xF];
        }
    }
    return out;
}

// Aborts unless `e` names one of `files` and a field, and what() reads "<file>: <field>: <problem>". Names read
// from the file may hold any byte: what() must show control characters as \xNN, since a NUL would end it
// before the problem and an escape sequence would drive the terminal it is printed on.
inline void check_rejection(const file_error& e, std::initializer_list<std::filesystem::path> files) {
    bool known_file = false;
    for (const auto& f : files) known_file = known_file || e.file() == f;
    const std::string prefix = escaped(e.file().string()) + ": " + escaped(e.field()) + ": ";
    const std::string message = e.what();  // up to the first NUL, as every caller of what() sees it
    if (known_file && !e.field().empty() && message.starts_with(prefix) && message.size() > prefix.size()) return;
    std::fprintf(stderr, "rejection in the wrong form (%s): file \"%s\", field \"%s\", what() \"%s\"\n",
                 !known_file         ? "names another file"
                 : e.field().empty() ? "names no field"
                                     : "what() does not read <file>: <field>: <problem>",
                 escaped(e.file().string(), true).c_str(), escaped(e.field(), true).c_str(),
                 escaped(message, true).c_str());
    std::abort();
}

}  // namespace ctnn::fuzz
