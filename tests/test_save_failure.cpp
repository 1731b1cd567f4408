// io::save failing at every byte of the file: a forked child saves with RLIMIT_FSIZE = k (SIGXFSZ ignored, so
// the write past k fails with EFBIG, the errno path of a full disk), for every k below the file's size. Each
// time save must throw io::format_error naming the file, the old file must be byte for byte what it was, and
// no temporary file may be left; from k = size on the new file is in place. Also an unwritable directory and a
// path whose parent does not exist. The library has no failure injection: only the kernel refuses writes.
//
// fork() in a process whose OpenMP threads may be alive copies only the calling thread: the child runs no
// parallel region (save has none), reports through a pipe and leaves with _exit.

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <grp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctnn/ctnn.hpp"
#ifdef CTNN_TESTS_HAVE_SAFETENSORS
#include "ctnn/io/safetensors.hpp"
#endif
#include "idx_writer.hpp"  // TempDir

using namespace ctnn;
namespace fs = std::filesystem;

namespace {

// 163 bytes: every offset is tried. All of it stays in stdio's buffer until commit()'s fflush.
using Tiny = Sequential<Input<2, 2, 1>, Flatten, Dense<4, 3>>;
// 8.4 KB, larger than stdio's buffer: fwrite() itself fails for small k, fflush() for larger ones.
using Wider = Sequential<Input<8, 8, 1>, Flatten, Dense<64, 32>>;

std::vector<std::uint8_t> read_bytes(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> directory_entries(const fs::path& directory) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(directory)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// What happened to a save in the child.
struct ChildSave {
    enum class Outcome : char { saved = 'S', format_error = 'F', other_exception = 'X', setup_failed = 'U' };
    Outcome outcome = Outcome::setup_failed;
    bool names_file = false;  // format_error::file() is the path save was given
    std::string message;
};

// Runs prepare() then save(file) in a forked child; the child's result comes back through a pipe.
template <class Save, class Prepare>
ChildSave save_in_child(Save&& save, const fs::path& file, Prepare&& prepare) {
    int channel[2];
    REQUIRE(::pipe(channel) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(channel[0]);
        std::string report;
        if (!prepare()) {
            report = std::string(1, static_cast<char>(ChildSave::Outcome::setup_failed)) + std::strerror(errno);
        } else {
            try {
                save(file);
                report = static_cast<char>(ChildSave::Outcome::saved);
            } catch (const io::format_error& e) {
                report = std::string(1, static_cast<char>(ChildSave::Outcome::format_error)) +
                         (e.file() == file ? '1' : '0') + e.what();
            } catch (const std::exception& e) {
                report = std::string(1, static_cast<char>(ChildSave::Outcome::other_exception)) + e.what();
            }
        }
        const char* p = report.data();
        for (std::size_t left = report.size(); left > 0;) {
            const ssize_t written = ::write(channel[1], p, left);
            if (written <= 0) break;
            p += written;
            left -= static_cast<std::size_t>(written);
        }
        ::_exit(0);
    }
    ::close(channel[1]);
    std::string report;
    char chunk[512];
    for (ssize_t got; (got = ::read(channel[0], chunk, sizeof chunk)) != 0;) {
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) break;
        report.append(chunk, static_cast<std::size_t>(got));
    }
    ::close(channel[0]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    REQUIRE(!report.empty());
    ChildSave result;
    result.outcome = static_cast<ChildSave::Outcome>(report[0]);
    if (result.outcome == ChildSave::Outcome::format_error) {
        result.names_file = report.size() > 1 && report[1] == '1';
        result.message = report.substr(2);
    } else {
        result.message = report.substr(1);
    }
    return result;
}

// The file size limit for this process (the child) only; writes past it fail with EFBIG instead of raising
// SIGXFSZ.
bool limit_file_size(std::uint64_t bytes) {
    if (std::signal(SIGXFSZ, SIG_IGN) == SIG_ERR) return false;
    rlimit limit{};
    if (::getrlimit(RLIMIT_FSIZE, &limit) != 0) return false;
    limit.rlim_cur = static_cast<rlim_t>(bytes);
    return ::setrlimit(RLIMIT_FSIZE, &limit) == 0;
}

// Saves the second network over a file holding the first with the file size limited to every k in [0, size]
// (size that of the second's file; `stride` > 1 tries every stride-th k, plus those near stdio's buffer
// boundaries). save_first(path) and save_second(path) write the two files.
template <class SaveFirst, class SaveSecond>
void check_save_fails_at_every_offset(SaveFirst&& save_first, SaveSecond&& save_second, std::size_t stride) {
    ctnn::test::TempDir dir;
    const fs::path file = dir / "model.ctnn";
    save_second(file);
    const std::vector<std::uint8_t> new_bytes = read_bytes(file);
    save_first(file);
    const std::vector<std::uint8_t> old_bytes = read_bytes(file);
    REQUIRE(old_bytes.size() == new_bytes.size());
    REQUIRE(old_bytes != new_bytes);

    std::vector<std::size_t> offsets;
    for (std::size_t k = 0; k <= new_bytes.size(); k += stride) offsets.push_back(k);
    for (std::size_t boundary = 4096; boundary < new_bytes.size(); boundary += 4096)
        for (std::size_t k = boundary - 2; k <= boundary + 2; ++k) offsets.push_back(k);
    offsets.push_back(new_bytes.size() - 1);
    offsets.push_back(new_bytes.size());  // the last: the new file is then in place
    std::sort(offsets.begin(), offsets.end());
    offsets.erase(std::unique(offsets.begin(), offsets.end()), offsets.end());

    std::size_t failures = 0, mismatches = 0;
    for (const std::size_t k : offsets) {
        const ChildSave save = save_in_child(save_second, file, [k] { return limit_file_size(k); });
        const bool should_fail = k < new_bytes.size();
        const auto entries = directory_entries(dir.path());
        const auto bytes = read_bytes(file);
        const bool right = should_fail
                               ? save.outcome == ChildSave::Outcome::format_error && save.names_file &&
                                     save.message.find(file.string()) != std::string::npos &&
                                     save.message.find(std::strerror(EFBIG)) != std::string::npos && bytes == old_bytes
                               : save.outcome == ChildSave::Outcome::saved && bytes == new_bytes;
        if (!right || entries != std::vector<std::string>{"model.ctnn"}) {
            ++mismatches;
            if (mismatches <= 3) {  // the first few, not thousands of lines
                INFO("limit " << k << " of " << new_bytes.size() << " bytes: outcome "
                              << std::string(1, static_cast<char>(save.outcome)) << ", message: " << save.message);
                CHECK(right);
                CHECK(entries == std::vector<std::string>{"model.ctnn"});
            }
        }
        failures += save.outcome == ChildSave::Outcome::format_error;
        if (should_fail && save.outcome == ChildSave::Outcome::saved) save_first(file);  // keep testing
    }
    CHECK(mismatches == 0);
    CHECK(failures ==
          std::count_if(offsets.begin(), offsets.end(), [&](std::size_t k) { return k < new_bytes.size(); }));
}

}  // namespace

TEST_CASE("a save cut off at any byte (RLIMIT_FSIZE) throws, leaves the old file and no temporary file") {
    const auto first = std::make_unique<Tiny>(seed(1));
    const auto second = std::make_unique<Tiny>(seed(2));
    check_save_fails_at_every_offset([&](const fs::path& f) { io::save(*first, f); },
                                     [&](const fs::path& f) { io::save(*second, f); }, 1);
}

TEST_CASE("a save larger than stdio's buffer, cut off in fwrite or in fflush, throws and leaves the old file") {
    const auto first = std::make_unique<Wider>(seed(1));
    const auto second = std::make_unique<Wider>(seed(2));
    check_save_fails_at_every_offset([&](const fs::path& f) { io::save(*first, f); },
                                     [&](const fs::path& f) { io::save(*second, f); }, 61);
}

#ifdef CTNN_TESTS_HAVE_SAFETENSORS
TEST_CASE("a safetensors save cut off at any byte (RLIMIT_FSIZE) throws, leaves the old file and no temporary file") {
    const auto first = std::make_unique<Tiny>(seed(1));
    const auto second = std::make_unique<Tiny>(seed(2));
    check_save_fails_at_every_offset([&](const fs::path& f) { io::save_safetensors(*first, f); },
                                     [&](const fs::path& f) { io::save_safetensors(*second, f); }, 1);
}
#endif

TEST_CASE("a save into an unwritable directory throws, naming the file, and leaves the old file") {
    ctnn::test::TempDir dir;
    const fs::path file = dir / "model.ctnn";
    const auto first = std::make_unique<Tiny>(seed(1));
    const auto second = std::make_unique<Tiny>(seed(2));
    io::save(*first, file);
    const auto old_bytes = read_bytes(file);
    fs::permissions(dir.path(), fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                    fs::perm_options::remove);
    // Root ignores the permission bits: the child gives up root first (to nobody).
    const ChildSave save = save_in_child([&](const fs::path& f) { io::save(*second, f); }, file,
                                         [] {
                                             if (::geteuid() != 0) return true;
                                             return ::setgroups(0, nullptr) == 0 && ::setgid(65534) == 0 &&
                                                    ::setuid(65534) == 0;
                                         });
    fs::permissions(dir.path(), fs::perms::owner_write, fs::perm_options::add);
    INFO(save.message);
    REQUIRE(save.outcome != ChildSave::Outcome::setup_failed);
    CHECK(save.outcome == ChildSave::Outcome::format_error);
    CHECK(save.names_file);
    CHECK(save.message.find(file.string() + ": file: cannot create the temporary file") == 0);
    CHECK(save.message.find(std::strerror(EACCES)) != std::string::npos);
    CHECK(read_bytes(file) == old_bytes);
    CHECK(directory_entries(dir.path()) == std::vector<std::string>{"model.ctnn"});
}

TEST_CASE("a save to a path whose parent does not exist throws, naming the file, and creates nothing") {
    ctnn::test::TempDir dir;
    const fs::path file = dir / "missing" / "model.ctnn";
    const auto net = std::make_unique<Tiny>(seed(1));
    bool thrown = false;
    try {
        io::save(*net, file);
    } catch (const io::format_error& e) {
        thrown = true;
        INFO(e.what());
        CHECK(e.file() == file);
        CHECK(e.field() == "file");
        CHECK(std::string(e.what()).find(file.string() + ": file: cannot create the temporary file") == 0);
        CHECK(std::string(e.what()).find(std::strerror(ENOENT)) != std::string::npos);
    }
    CHECK(thrown);
    CHECK(directory_entries(dir.path()).empty());
}
