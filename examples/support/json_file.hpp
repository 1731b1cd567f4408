#pragma once
// write_json: the examples' and benchmarks' JSON output (results.json, translation.json, the benchmark's --json
// file), written with nlohmann-json so the file is valid JSON whatever its strings hold. A path on Linux is any
// byte string: nlohmann escapes control characters ("\u0001"), and error_handler_t::replace writes each byte
// that is not valid UTF-8 as U+FFFD instead of throwing type_error 316 out of main. The replacement is lossy
// for such bytes only; every valid UTF-8 string reads back as it was.

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include <ctnn/core/file_error.hpp>

namespace examples {

// Keys stay in the order the program inserts them, so the files read like the tables they come from.
using Json = nlohmann::ordered_json;

// `value` rounded to `decimals` places: 0.97630000114 -> 0.9763, written by nlohmann as 0.9763.
inline double rounded(double value, int decimals) {
    const double scale = std::pow(10.0, decimals);
    return std::round(value * scale) / scale;
}

// Writes `document` to `file`, indented by 2; throws ctnn::file_error naming the file when it cannot.
inline void write_json(const std::filesystem::path& file, const Json& document) {
    std::ofstream out(file);
    if (!out) throw ctnn::file_error(file, "file", std::string("cannot open for writing: ") + std::strerror(errno));
    out << document.dump(2, ' ', false, Json::error_handler_t::replace) << '\n';
    out.flush();
    if (!out) throw ctnn::file_error(file, "file", std::string("write failed: ") + std::strerror(errno));
}

}  // namespace examples
