#pragma once
// run_program: the body of every example's and benchmark's main. Whatever ends a program early becomes one line
// on stderr, "program: message", and an exit status:
//   0  --help printed the options (help_shown);
//   2  a mistake on the command line (usage_error: CommandLine throws it for every rejected option);
//   1  anything else that went wrong at run time: a missing or malformed input file (ctnn::file_error and its
//      subclasses name the file and the field), the file system refusing (std::filesystem::filesystem_error),
//      any other std::exception, or something that is not one.
// Nothing escapes main, so no error ends in std::terminate, an abort or a core dump. Control characters in the
// message (a path may hold any byte but '/' and NUL) are written as \xNN so the message stays on one line.

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

namespace examples {

// A value or an option the program cannot accept; the message names the option and what was expected.
class usage_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Thrown once --help has printed the options: the program ends with status 0 and prints nothing more.
struct help_shown {};

namespace detail {
inline void print_error(const char* program, std::string_view message) {
    std::string line;
    for (const char c : message) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            char escaped[5];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
            line += escaped;
        } else {
            line += c;
        }
    }
    std::fflush(stdout);  // what the program printed before the error comes first
    std::fprintf(stderr, "%s: %s\n", program, line.c_str());
}
}  // namespace detail

// Runs `body` (returning main's status) and maps what it throws to a line on stderr and a status, as above.
template <class Body>
int run_program(const char* program, Body&& body) noexcept {
    try {
        return body();
    } catch (const help_shown&) {
        return 0;
    } catch (const usage_error& e) {
        detail::print_error(program, e.what());
        return 2;
    } catch (const std::exception& e) {
        detail::print_error(program, e.what());
        return 1;
    } catch (...) {
        detail::print_error(program, "stopped by an exception that is not a std::exception");
        return 1;
    }
}

}  // namespace examples
