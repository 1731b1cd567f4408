#pragma once
// CommandLine: the options of the examples and benchmarks, parsed by CLI11, where every rejected value is named
// together with what was expected, in one line:
//   --lr: 'abc' is not a number (expected a number > 0)
//   --epochs: '1.5' is not a whole number (expected an integer >= 1)
//   --batch: 300 is out of range (expected an integer from 1 to 256, the networks' max batch)
//   --datasets: 'cifar' is not one of mnist, fashion
// Each option is read as text and converted here, not by CLI11, so a fraction never truncates into an integer,
// "-1" never wraps into a huge unsigned and "010" is ten, not octal eight: the bound the message states is the
// one enforced, and --help states it too. A value that starts with "--" is taken as a missing value (CLI11
// would hand the next option over as the value).
// parse() throws usage_error for every mistake (run_program prints it and exits 2) and help_shown once --help
// has printed the options (exit 0). An option given twice keeps its last value, as wrappers that put options
// before the user's expect (scripts/run_experiment.sh passes --data-dir and --out, then "$@").

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "support/run_program.hpp"

namespace examples {

namespace detail {

// "mnist,fashion" -> {"mnist", "fashion"}; empty items (",mnist,") are skipped.
inline std::vector<std::string> split_commas(const std::string& text) {
    std::vector<std::string> items;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        if (comma > start) items.push_back(text.substr(start, comma - start));
        start = comma + 1;
    }
    return items;
}

inline std::string join(const std::vector<std::string>& items, const char* separator) {
    std::string out;
    for (const std::string& item : items) out += (out.empty() ? "" : separator) + item;
    return out;
}

// The shortest decimal text that reads back as `value` (1e-3 -> "0.001").
inline std::string shortest(double value) {
    char text[32];
    const auto end = std::to_chars(text, text + sizeof text, value).ptr;
    return std::string(text, end);
}

// "an integer >= 1", "an integer from 1 to 256, the networks' max batch".
template <std::integral T>
std::string integer_expectation(T min, T max, const std::string& max_means) {
    if (max == std::numeric_limits<T>::max()) return "an integer >= " + std::to_string(min);
    return "an integer from " + std::to_string(min) + " to " + std::to_string(max) +
           (max_means.empty() ? "" : ", " + max_means);
}

// `text` as a T in [min, max]; throws usage_error naming `option`, the text and `expected` otherwise.
template <std::integral T>
T parse_integer(const std::string& option, const std::string& text, T min, T max, const std::string& expected) {
    const char* first = text.data();
    const char* last = first + text.size();
    const auto within = [&](auto v) { return std::cmp_greater_equal(v, min) && std::cmp_less_equal(v, max); };
    std::errc error{};
    bool in_range = false;
    T result{};
    // Read with the widest type of the text's sign, then compare, so "-1" is out of range for an unsigned.
    if (!text.empty() && text[0] == '-') {
        long long v = 0;
        const auto [end, ec] = std::from_chars(first, last, v);
        error = end == last ? ec : std::errc::invalid_argument;
        in_range = error == std::errc{} && within(v);
        result = static_cast<T>(v);
    } else {
        unsigned long long v = 0;
        const auto [end, ec] = std::from_chars(first, last, v);
        error = end == last ? ec : std::errc::invalid_argument;
        in_range = error == std::errc{} && within(v);
        result = static_cast<T>(v);
    }
    if (error == std::errc::invalid_argument)
        throw usage_error(option + ": '" + text + "' is not a whole number (expected " + expected + ")");
    if (!in_range) throw usage_error(option + ": " + text + " is out of range (expected " + expected + ")");
    return result;
}

}  // namespace detail

class CommandLine {
public:
    // `program` is the name --help shows; `description` the paragraph above the options.
    CommandLine(std::string program, const std::string& description) : app_(description + "\n", std::move(program)) {
        app_.allow_extras();  // reported by parse() in our words, with the argument quoted
        app_.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }

    // An integer option accepted in [min, max]; `max_means` says where max comes from ("the networks' max batch").
    template <std::integral T>
    CLI::Option* integer(const std::string& name, T& value, const std::string& help, T min,
                         T max = std::numeric_limits<T>::max(), const std::string& max_means = "") {
        const std::string expected = detail::integer_expectation(min, max, max_means);
        return add(name, help, expected, "INT", std::to_string(value), [=, &value](const std::string& text) {
            value = detail::parse_integer(name, text, min, max, expected);
        });
    }

    // A comma-separated list of integers ("--threads 1,2"), each in [min, max].
    template <std::integral T>
    CLI::Option* integers(const std::string& name, std::vector<T>& values, const std::string& help, T min,
                          T max = std::numeric_limits<T>::max()) {
        const std::string item = detail::integer_expectation(min, max, "");
        const std::string expected = "a comma-separated list, each " + item;
        std::vector<std::string> shown;
        for (const T v : values) shown.push_back(std::to_string(v));
        return add(name, help, expected, "LIST", detail::join(shown, ","), [=, &values](const std::string& text) {
            std::vector<T> parsed;
            for (const std::string& entry : detail::split_commas(text))
                parsed.push_back(detail::parse_integer(name, entry, min, max, expected));
            if (parsed.empty())
                throw usage_error(name + ": '" + text + "' is an empty list (expected " + expected + ")");
            values = std::move(parsed);
        });
    }

    // A finite real number in [min, max], or in (min, max] when `min_excluded` (a learning rate: > 0).
    CLI::Option* number(const std::string& name, double& value, const std::string& help, double min, double max,
                        bool min_excluded) {
        const bool unbounded = max == std::numeric_limits<double>::infinity();
        const std::string low = detail::shortest(min), high = detail::shortest(max);
        const std::string expected = unbounded      ? "a number " + std::string(min_excluded ? ">" : ">=") + " " + low
                                     : min_excluded ? "a number > " + low + " and <= " + high
                                                    : "a number from " + low + " to " + high;
        return add(name, help, expected, "NUMBER", detail::shortest(value), [=, &value](const std::string& text) {
            double v = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec == std::errc::invalid_argument || end != text.data() + text.size())
                throw usage_error(name + ": '" + text + "' is not a number (expected " + expected + ")");
            if (!std::isfinite(v))
                throw usage_error(name + ": '" + text + "' is not a finite number (expected " + expected + ")");
            if (ec == std::errc::result_out_of_range || v < min || v > max || (min_excluded && v == min))
                throw usage_error(name + ": " + text + " is out of range (expected " + expected + ")");
            value = v;
        });
    }

    // A comma-separated list of names, each one of `allowed` ("--datasets mnist,fashion").
    CLI::Option* names(const std::string& name, std::vector<std::string>& values, const std::string& help,
                       const std::vector<std::string>& allowed) {
        const std::string choices = detail::join(allowed, ", ");
        const std::string expected = "a comma-separated list of " + choices;
        return add(name, help, expected, "LIST", detail::join(values, ","), [=, &values](const std::string& text) {
            std::vector<std::string> parsed = detail::split_commas(text);
            for (const std::string& entry : parsed)
                if (std::find(allowed.begin(), allowed.end(), entry) == allowed.end())
                    throw usage_error(name + ": '" + entry + "' is not one of " + choices);
            if (parsed.empty())
                throw usage_error(name + ": '" + text + "' is an empty list (expected " + expected + ")");
            values = std::move(parsed);
        });
    }

    // A folder that must exist when the option is given (a default that does not is left to the program, which
    // names the file it looked for).
    CLI::Option* existing_folder(const std::string& name, std::filesystem::path& value, const std::string& help) {
        const std::string expected = "an existing folder";
        return add(name, help, expected, "DIR", value.string(), [=, &value](const std::string& text) {
            std::error_code ec;
            const auto status = std::filesystem::status(text, ec);
            if (!std::filesystem::exists(status))
                throw usage_error(name + ": '" + text + "' does not exist (expected " + expected + ")");
            if (!std::filesystem::is_directory(status))
                throw usage_error(name + ": '" + text + "' is not a folder (expected " + expected + ")");
            value = text;
        });
    }

    // A folder the program writes into, created if missing; a file the program writes. Any text but an empty one.
    CLI::Option* output_folder(const std::string& name, std::filesystem::path& value, const std::string& help) {
        return output_path(name, value, help, "DIR", "a folder, created if missing");
    }
    CLI::Option* output_file(const std::string& name, std::filesystem::path& value, const std::string& help) {
        return output_path(name, value, help, "FILE", "a file to write");
    }

    // A switch without a value ("--no-shuffled"); "--no-shuffled=1" is refused.
    CLI::Option* flag(const std::string& name, bool& value, const std::string& help) {
        options_[name] = {"", true};
        return app_.add_flag(name, value, help)->disable_flag_override();
    }

    // Parses argv into the bound values; throws help_shown after printing --help, usage_error for a mistake.
    void parse(int argc, const char* const* argv) {
        try {
            app_.parse(argc, argv);
        } catch (const CLI::CallForHelp&) {
            std::fputs(app_.help().c_str(), stdout);
            throw help_shown{};
        } catch (const CLI::CallForAllHelp&) {
            std::fputs(app_.help("", CLI::AppFormatMode::All).c_str(), stdout);
            throw help_shown{};
        } catch (const CLI::ArgumentMismatch& e) {
            throw usage_error(mismatch_message(e.what()));
        } catch (const CLI::ParseError& e) {
            throw usage_error(e.what());
        }
        const std::vector<std::string> extra = app_.remaining();
        if (!extra.empty()) {
            const std::string& first = extra.front();
            throw usage_error((first.size() > 1 && first[0] == '-' ? "unknown option '" : "unexpected argument '") +
                              first + "' (" + app_.get_name() + " --help lists the options)");
        }
    }

private:
    struct Expectation {
        std::string expected;
        bool is_flag = false;
    };

    CLI::Option* add(const std::string& name, const std::string& help, const std::string& expected,
                     const std::string& type_name, const std::string& default_text,
                     std::function<void(const std::string&)> assign) {
        options_[name] = {expected, false};
        CLI::Option* option = app_.add_option_function<std::string>(
            name,
            [=, assign = std::move(assign)](const std::string& text) {
                if (text.starts_with("--"))
                    throw usage_error(name + ": missing value (expected " + expected + ", found the option '" + text +
                                      "')");
                assign(text);
            },
            help + " (" + expected + ")");
        option->type_name(type_name);
        if (!default_text.empty()) option->default_str(default_text);
        return option;
    }

    CLI::Option* output_path(const std::string& name, std::filesystem::path& value, const std::string& help,
                             const std::string& type_name, const std::string& expected) {
        return add(name, help, expected, type_name, value.string(), [=, &value](const std::string& text) {
            if (text.empty()) throw usage_error(name + ": empty path (expected " + expected + ")");
            value = text;
        });
    }

    // CLI11's "--lr: 1 required NUMBER missing" and "no-shuffled was given a disallowed flag override" (the name
    // without its dashes), in our words.
    std::string mismatch_message(const std::string& what) const {
        for (const auto& [name, expectation] : options_) {
            const std::string bare = name.substr(name.find_first_not_of('-'));
            if (!what.starts_with(name + ":") && !what.starts_with(bare + " was given")) continue;
            return expectation.is_flag ? name + ": takes no value (it is a switch)"
                                       : name + ": missing value (expected " + expectation.expected + ")";
        }
        return what;
    }

    CLI::App app_;
    std::map<std::string, Expectation> options_;  // by name, for the messages CLI11 composes itself
};

}  // namespace examples
