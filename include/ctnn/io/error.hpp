#pragma once
// format_error: a model file that cannot be loaded (or written) as asked. The message always names the file and
// the field ("mlp.ctnn: architecture: saved from a different network architecture ...") so that the user knows
// which file is at fault and why, without a debugger.

#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>

namespace ctnn::io {

class format_error : public std::runtime_error {
public:
    format_error(std::filesystem::path file, std::string field, const std::string& problem)
        : std::runtime_error(file.string() + ": " + field + ": " + problem),
          file_(std::move(file)),
          field_(std::move(field)) {}

    const std::filesystem::path& file() const noexcept { return file_; }
    const std::string& field() const noexcept { return field_; }

private:
    std::filesystem::path file_;
    std::string field_;
};

}  // namespace ctnn::io
