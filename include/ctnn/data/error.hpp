#pragma once
// format_error: a data file that cannot be used as it is. The message always names the file and the field
// ("data/mnist/train-images-idx3-ubyte: dimension 2: expected 28, found 29") so the user knows what to fix.

#include <filesystem>
#include <stdexcept>
#include <string>

namespace ctnn::data {

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

}  // namespace ctnn::data
