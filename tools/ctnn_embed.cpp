// ctnn_embed: turns a model file into a C++ header, so that a program carries its network's parameters and
// needs no file at run time.
//
//   ctnn_embed mlp.ctnn -o mlp_parameters.hpp --name mlp_parameters [--namespace app::models]
//
// writes a header defining `inline constexpr ctnn::io::EmbeddedParameters<hash, count> mlp_parameters`, and
// `Net net{mlp_parameters}` then builds the network (ctnn/io/embedded.hpp), bitwise the one io::load() of the
// file gives. The file is read and checked as load() checks it, checksum included (io::read_model_file); every
// float is written as a hexadecimal literal, which is exact for every finite value, -0 and subnormals included.
// NaN and infinities are refused: a network holding them computes nothing useful, and embedding one is a mistake
// to report, not to preserve. Errors are one line on stderr and a non-zero exit status; the header is written
// only once everything has been checked, and atomically, so a failed run never leaves a truncated header that
// a build would take for up to date.

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "ctnn/core/file_error.hpp"
#include "ctnn/io/model_file.hpp"

namespace {

// C++20's keywords and alternative tokens: none can name a variable or a namespace.
constexpr std::string_view cpp_keywords[] = {
    "alignas",     "alignof",   "and",        "and_eq",    "asm",      "auto",         "bitand",
    "bitor",       "bool",      "break",      "case",      "catch",    "char",         "char8_t",
    "char16_t",    "char32_t",  "class",      "compl",     "concept",  "const",        "consteval",
    "constexpr",   "constinit", "const_cast", "continue",  "co_await", "co_return",    "co_yield",
    "decltype",    "default",   "delete",     "do",        "double",   "dynamic_cast", "else",
    "enum",        "explicit",  "export",     "extern",    "false",    "float",        "for",
    "friend",      "goto",      "if",         "inline",    "int",      "long",         "mutable",
    "namespace",   "new",       "noexcept",   "not",       "not_eq",   "nullptr",      "operator",
    "or",          "or_eq",     "private",    "protected", "public",   "register",     "reinterpret_cast",
    "requires",    "return",    "short",      "signed",    "sizeof",   "static",       "static_assert",
    "static_cast", "struct",    "switch",     "template",  "this",     "thread_local", "throw",
    "true",        "try",       "typedef",    "typeid",    "typename", "union",        "unsigned",
    "using",       "virtual",   "void",       "volatile",  "wchar_t",  "while",        "xor",
    "xor_eq"};

// Why `text` cannot name a C++ entity, or empty when it can. Names the implementation reserves (a double
// underscore anywhere, or an underscore first) are refused too: they could clash with the standard library.
std::string identifier_problem(std::string_view text) {
    const auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (text.empty()) return "is empty";
    if (!letter(text.front())) return "must start with a letter or an underscore";
    for (char c : text)
        if (!letter(c) && !digit(c)) return "may hold only letters, digits and underscores";
    if (text.front() == '_' || text.find("__") != std::string_view::npos)
        return "is reserved for the implementation (a leading underscore or a double underscore)";
    for (std::string_view keyword : cpp_keywords)
        if (text == keyword) return "is a C++ keyword";
    return {};
}

// The namespace's components ("app::models" gives app, models); none for an empty namespace.
std::vector<std::string> namespace_components(const std::string& text) {
    std::vector<std::string> parts;
    if (text.empty()) return parts;
    std::size_t begin = 0;
    while (true) {
        const std::size_t end = text.find("::", begin);
        parts.push_back(text.substr(begin, end - begin));
        if (end == std::string::npos) return parts;
        begin = end + 2;
    }
}

// "0x1.8p-3f", "-0x0p+0f", "0x0.000002p-126f": std::to_chars' shortest exact hexadecimal form.
void append_literal(std::string& out, float value) {
    char digits[32];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value, std::chars_format::hex);
    const std::string_view text(digits, static_cast<std::size_t>(end - digits));
    if (text.front() == '-') {
        out += "-0x";
        out += text.substr(1);
    } else {
        out += "0x";
        out += text;
    }
    out += 'f';
}

// Text from the file (a tensor name) made safe for a string literal or a comment: a quote, a backslash or a
// control character in it must not end the literal, splice a comment line or start a new one. Octal escapes,
// since a hexadecimal one would swallow the digits after it.
std::string escaped(std::string_view text) {
    std::string out;
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte < 0x7f && c != '"' && c != '\\' && c != '?') {
            out += c;
        } else {
            char escape[5];
            std::snprintf(escape, sizeof escape, "\\%03o", byte);
            out += escape;
        }
    }
    return out;
}

// The model file's own descriptions ("layer 1 weights 784x128", "0x...") keep the tool's messages in its words.
using ctnn::io::detail::describe;
using ctnn::io::detail::hex;

// Refuses NaN and infinities, naming the tensor and the element.
void check_finite(const std::filesystem::path& model, const ctnn::io::ModelFileContents& contents) {
    std::size_t first = 0;
    for (std::size_t i = 0; i < contents.header.tensors.size(); ++i) {
        const ctnn::io::TensorRecord& t = contents.header.tensors[i];
        for (std::size_t k = 0; k < t.element_count; ++k) {
            const float value = contents.values[first + k];
            if (std::isfinite(value)) continue;
            throw ctnn::file_error(
                model, "tensor " + std::to_string(i) + " (" + escaped(describe(t)) + ") element " + std::to_string(k),
                std::string(std::isnan(value) ? "NaN" : "infinite") +
                    ": a model holding non-finite values cannot be embedded");
        }
        first += t.element_count;
    }
}

// The header's text, from a file whose every check has passed. Throws file_error for a non-finite value.
std::string generate(const std::filesystem::path& model, const ctnn::io::ModelFileContents& contents,
                     const std::string& name, const std::vector<std::string>& namespaces) {
    const ctnn::io::ModelFileHeader& header = contents.header;
    const std::vector<float>& values = contents.values;
    check_finite(model, contents);

    const std::string data = name + "_data";
    const std::string count = std::to_string(values.size());
    std::string out;
    out.reserve(64 * 1024 + values.size() * 18);
    out += "#pragma once\n";
    out += "// Generated by ctnn_embed from " + model.filename().string() +
           ": its parameters and state, bit for bit. Do not edit;\n// regenerate it from the model file. `Net net{" +
           name + "};` builds the network (ctnn/io/embedded.hpp).\n//\n";
    out += "// architecture hash " + hex(header.architecture_hash) + ", " + count + " values in " +
           std::to_string(header.tensors.size()) + " tensors:\n";
    {
        std::uint64_t offset = 0;
        for (std::size_t i = 0; i < header.tensors.size(); ++i) {
            out += "//   tensor " + std::to_string(i) + ": " + escaped(describe(header.tensors[i])) + ", values " +
                   std::to_string(offset) + ".." + std::to_string(offset + header.tensors[i].element_count) + "\n";
            offset += header.tensors[i].element_count;
        }
    }
    out += "\n#include <cstdint>\n#include <iterator>\n\n#include <ctnn/io/embedded.hpp>\n\n";
    for (const std::string& n : namespaces) out += "namespace " + n + " {\n";
    if (!namespaces.empty()) out += "\n";

    std::size_t dim_total = 0;
    for (const auto& t : header.tensors) dim_total += t.dims.size();
    if (!values.empty() || !header.tensors.empty()) {
        out += "namespace " + data + " {\n\n";
        if (dim_total > 0) {
            out += "inline constexpr std::uint64_t dims[] = {";
            bool first = true;
            for (const auto& t : header.tensors)
                for (std::uint64_t d : t.dims) (out += first ? "" : ", ") += std::to_string(d), first = false;
            out += "};\n";
        }
        if (!header.tensors.empty()) {
            out += "inline constexpr ctnn::io::EmbeddedTensor tensors[] = {\n";
            std::size_t dim_offset = 0;
            for (const auto& t : header.tensors) {
                out += "    {" + std::to_string(t.layer_index) + ", \"" + escaped(t.name) + "\", ";
                out += t.dims.empty()
                           ? std::string("{}")
                           : "{dims + " + std::to_string(dim_offset) + ", " + std::to_string(t.dims.size()) + "}";
                out += ", " + std::to_string(t.element_count) + "},\n";
                dim_offset += t.dims.size();
            }
            out += "};\n";
        }
        if (!values.empty()) {
            // Many values per line and nothing but literals: the compiler's fastest path through an initializer.
            constexpr std::size_t per_line = 8;
            out += "inline constexpr float values[] = {\n";
            for (std::size_t i = 0; i < values.size(); ++i) {
                append_literal(out, values[i]);
                out += (i + 1 == values.size()) ? "\n" : (i % per_line == per_line - 1) ? ",\n" : ", ";
            }
            out += "};\n";
            // A header cut short would otherwise leave the missing values zero without a word.
            out += "static_assert(std::size(values) == " + count +
                   ", \"this header lost values: regenerate it with ctnn_embed\");\n";
        }
        if (!header.tensors.empty())
            out += "static_assert(ctnn::io::element_total(tensors) == " + count +
                   ", \"this header's tensor table disagrees with its values: regenerate it with ctnn_embed\");\n";
        out += "\n}  // namespace " + data + "\n\n";
    }

    out += "inline constexpr ctnn::io::EmbeddedParameters<" + hex(header.architecture_hash) + "ULL, " + count + "> " +
           name + "{";
    if (!values.empty()) out += data + "::values";
    if (!header.tensors.empty()) out += std::string(values.empty() ? "{}" : "") + ", " + data + "::tensors";
    out += "};\n";
    if (!namespaces.empty()) out += "\n";
    for (auto it = namespaces.rbegin(); it != namespaces.rend(); ++it) out += "}  // namespace " + *it + "\n";
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "ctnn_embed: turns a ctnn model file into a C++ header; `Net net{NAME};` then builds the network "
        "with no file at run time"};
    std::filesystem::path model;
    std::filesystem::path output;
    std::string name;
    std::string name_space;
    app.add_option("model", model, "the model file (written by ctnn::io::save)")->required();
    app.add_option("-o,--output", output, "the header to write")->required();
    app.add_option("-n,--name", name, "the variable the header defines (a C++ identifier)")->required();
    app.add_option("--namespace", name_space, "the namespace it is defined in, e.g. app::models (default: global)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "ctnn_embed: %s (see --help)\n", e.what());
        return e.get_exit_code() != 0 ? e.get_exit_code() : 2;
    }

    if (const std::string problem = identifier_problem(name); !problem.empty()) {
        std::fprintf(stderr, "ctnn_embed: --name: \"%s\" %s\n", name.c_str(), problem.c_str());
        return 2;
    }
    const std::vector<std::string> namespaces = namespace_components(name_space);
    for (const std::string& part : namespaces)
        if (const std::string problem = identifier_problem(part); !problem.empty()) {
            std::fprintf(stderr, "ctnn_embed: --namespace: \"%s\" in \"%s\" %s\n", part.c_str(), name_space.c_str(),
                         problem.c_str());
            return 2;
        }

    try {
        const ctnn::io::ModelFileContents contents = ctnn::io::read_model_file(model);
        const std::string text = generate(model, contents, name, namespaces);
        ctnn::io::detail::AtomicFileWriter out(output);
        out.write(text.data(), text.size(), /*checksummed=*/false);
        out.commit();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ctnn_embed: %s\n", e.what());
        return 1;
    }
    return 0;
}
