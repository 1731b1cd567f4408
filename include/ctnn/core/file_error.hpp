#pragma once
// file_error: an input file that cannot be used as it is. The message always names the file and the field
// ("data/mnist/train-images-idx3-ubyte: dimension 2: expected 28, found 29") so the user knows what to fix
// without a debugger. data::format_error and io::format_error derive from it.

#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>

namespace ctnn {

class file_error : public std::runtime_error {
public:
    file_error(std::filesystem::path file, std::string field, const std::string& problem)
        : std::runtime_error(file.string() + ": " + field + ": " + problem),
          file_(std::move(file)),
          field_(std::move(field)) {}

    const std::filesystem::path& file() const noexcept { return file_; }
    const std::string& field() const noexcept { return field_; }

private:
    std::filesystem::path file_;
    std::string field_;
};

}  // namespace ctnn
