// Tests for ctnn/data/idx.hpp: round trips and every way an IDX file can be broken.

#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "ctnn/data/idx.hpp"
#include "idx_writer.hpp"

using ctnn::data::format_error;
using ctnn::data::IdxArray;
using ctnn::data::IdxType;
using ctnn::data::read_idx;
using ctnn::test::idx_bytes;
using ctnn::test::TempDir;
using ctnn::test::u8_payload;
using ctnn::test::write_gz;
using ctnn::test::write_plain;

namespace {

// Runs `read`, requires a format_error for `file` and `field`, and checks that the message names both and
// contains `fragment`.
template <class Read>
void check_format_error(Read&& read, const std::filesystem::path& file, const std::string& field,
                        const std::string& fragment) {
    bool thrown = false;
    try {
        read();
    } catch (const format_error& e) {
        thrown = true;
        const std::string message = e.what();
        INFO(message);
        CHECK(e.file() == file);
        CHECK(e.field() == field);
        CHECK(message.find(file.string()) == 0);
        CHECK(message.find(file.string(), 1) == std::string::npos);  // once: zlib's own path prefix is dropped
        CHECK(message.find(field) != std::string::npos);
        CHECK(message.find(fragment) != std::string::npos);
    }
    CHECK_MESSAGE(thrown, "expected a format_error for " << file << " field " << field);
}

void check_read_error(const std::filesystem::path& file, const std::string& field, const std::string& fragment,
                      const ctnn::data::IdxExpect& expect = {}) {
    check_format_error([&] { (void)read_idx(file, expect); }, file, field, fragment);
}

}  // namespace

TEST_CASE("idx: u8 round trip, plain and gzip") {
    TempDir dir;
    const auto payload = u8_payload(5 * 3 * 4);
    const auto bytes = idx_bytes(0x08, {5, 3, 4}, payload);
    write_plain(dir / "images", bytes);
    write_gz(dir / "images.gz", bytes);
    for (const char* name : {"images", "images.gz"}) {
        INFO(name);
        const IdxArray a = read_idx(dir / name, {.rank = 3, .type = IdxType::u8, .dims = {0, 3, 4}});
        CHECK(a.type == IdxType::u8);
        CHECK(a.dims == std::vector<std::uint32_t>{5, 3, 4});
        CHECK(a.rank() == 3);
        CHECK(a.count() == 60);
        CHECK(a.bytes == payload);
    }
}

TEST_CASE("idx: rank 1 labels and multi-byte types keep the file's bytes") {
    TempDir dir;
    write_gz(dir / "labels.gz", idx_bytes(0x08, {1}, std::vector<std::uint8_t>{7}));
    CHECK(read_idx(dir / "labels.gz").bytes == std::vector<std::uint8_t>{7});

    // i32, two elements, big-endian as stored.
    const std::vector<std::uint8_t> raw{0, 0, 1, 2, 0xFF, 0xFF, 0xFF, 0xFE};
    write_plain(dir / "ints", idx_bytes(0x0C, {2}, raw));
    const IdxArray a = read_idx(dir / "ints");
    CHECK(a.type == IdxType::i32);
    CHECK(a.bytes == raw);
    CHECK(ctnn::data::element_size(IdxType::f64) == 8);
    CHECK(ctnn::data::to_string(IdxType::f32) == "f32 (0x0D)");
}

TEST_CASE("idx: missing, unreadable and empty files") {
    TempDir dir;
    check_read_error(dir / "nowhere-idx3-ubyte", "file", "not found");
    check_read_error(dir.path(), "file", "directory");
    write_plain(dir / "empty", {});
    check_read_error(dir / "empty", "header", "truncated");
    write_gz(dir / "empty.gz", {});
    check_read_error(dir / "empty.gz", "header", "truncated");
}

TEST_CASE("idx: header validation") {
    TempDir dir;
    const auto payload = u8_payload(6);

    write_plain(dir / "bad-magic", [&] {
        auto b = idx_bytes(0x08, {6}, payload);
        b[0] = 0x12;
        return b;
    }());
    check_read_error(dir / "bad-magic", "magic", "12 00");

    write_plain(dir / "text", std::vector<std::uint8_t>{'h', 'e', 'l', 'l', 'o', '\n'});
    check_read_error(dir / "text", "magic", "not an IDX file");

    write_plain(dir / "bad-type", idx_bytes(0x07, {6}, payload));
    check_read_error(dir / "bad-type", "element type", "0x07");

    write_plain(dir / "rank0", idx_bytes(0x08, {}, payload));
    check_read_error(dir / "rank0", "rank", "found 0");
    write_plain(dir / "rank5", idx_bytes(0x08, {1, 1, 1, 1, 6}, payload));
    check_read_error(dir / "rank5", "rank", "found 5");

    write_plain(dir / "zero-dim", idx_bytes(0x08, {2, 0, 3}, payload));
    check_read_error(dir / "zero-dim", "dimension 1", "is 0");

    // 65535^4 bytes: far over the limit, and the check itself must not overflow.
    write_plain(dir / "huge", idx_bytes(0x0E, {65535, 65535, 65535, 65535}, payload));
    check_read_error(dir / "huge", "size", "exceed the limit");

    // The header stops in the middle of the dimensions.
    auto cut = idx_bytes(0x08, {2, 3, 1}, {});
    cut.resize(9);
    write_plain(dir / "cut-header", cut);
    check_read_error(dir / "cut-header", "header", "truncated");
    write_gz(dir / "cut-header.gz", cut);
    check_read_error(dir / "cut-header.gz", "header", "truncated");
}

TEST_CASE("idx: expectations are checked against the header") {
    TempDir dir;
    write_gz(dir / "images.gz", idx_bytes(0x08, {2, 28, 29}, u8_payload(2 * 28 * 29)));
    check_read_error(dir / "images.gz", "rank", "expected 1, found 3", {.rank = 1, .type = {}, .dims = {}});
    check_read_error(dir / "images.gz", "element type", "expected f32 (0x0D), found u8 (0x08)",
                     {.rank = {}, .type = IdxType::f32, .dims = {}});
    check_read_error(dir / "images.gz", "dimension 2", "expected 28, found 29",
                     {.rank = 3, .type = IdxType::u8, .dims = {0, 28, 28}});
}

TEST_CASE("idx: payload must have exactly the announced length") {
    TempDir dir;
    const auto full = idx_bytes(0x08, {4, 6}, u8_payload(24));
    auto short_file = full;
    short_file.resize(full.size() - 5);
    auto long_file = full;
    long_file.insert(long_file.end(), {1, 2, 3});

    write_plain(dir / "short", short_file);
    check_read_error(dir / "short", "payload", "truncated: expected 24 bytes of u8 (0x08) data (shape 4x6), got 19");
    write_plain(dir / "long", long_file);
    check_read_error(dir / "long", "payload", "trailing data");
    check_read_error(dir / "long", "payload",
                     "trailing data: 3 bytes after the 24 bytes of u8 (0x08) data (shape 4x6)");

    write_gz(dir / "short.gz", short_file);
    check_read_error(dir / "short.gz", "payload", "truncated: expected 24 bytes of u8 (0x08) data (shape 4x6), got 19");
    write_gz(dir / "long.gz", long_file);
    check_read_error(dir / "long.gz", "payload",
                     "trailing data: 3 bytes after the 24 bytes of u8 (0x08) data (shape 4x6)");
}

TEST_CASE("idx: gzip payload larger than one read chunk") {
    TempDir dir;
    const auto payload = u8_payload(3 * 1100 * 1300);  // 4.3 MB: crosses the reader's 4 MiB chunk
    write_gz(dir / "big.gz", idx_bytes(0x08, {3, 1100, 1300}, payload));
    CHECK(read_idx(dir / "big.gz").bytes == payload);
}

TEST_CASE("idx: corrupt and cut gzip streams") {
    TempDir dir;
    std::vector<std::uint8_t> payload(4000);
    std::uint32_t state = 12345;  // incompressible-ish bytes so the deflate stream is long
    for (auto& b : payload) b = static_cast<std::uint8_t>((state = state * 1664525u + 1013904223u) >> 24);
    write_gz(dir / "good.gz", idx_bytes(0x08, {4000}, payload));
    const auto good = ctnn::test::read_all(dir / "good.gz");
    REQUIRE(good.size() > 100);

    // Trailer CRC wrong: only reading to the end of the stream notices it.
    auto bad_crc = good;
    bad_crc[bad_crc.size() - 8] ^= 0xFF;
    write_plain(dir / "bad-crc.gz", bad_crc);
    check_read_error(dir / "bad-crc.gz", "gzip stream", "corrupt");

    // Garbage in the middle of the deflate data.
    auto garbled = good;
    for (std::size_t i = 20; i < 60; ++i) garbled[i] = 0xFF;
    write_plain(dir / "garbled.gz", garbled);
    check_read_error(dir / "garbled.gz", "gzip stream", "corrupt");

    // A download cut short in the compressed stream.
    auto cut = good;
    cut.resize(good.size() / 2);
    write_plain(dir / "cut.gz", cut);
    check_read_error(dir / "cut.gz", "gzip stream", "truncated");
}

TEST_CASE("idx: inaccessible, unreadable and non-regular paths") {
    TempDir dir;
    // Path errors other than "no such file" are reported as such, not as a missing file.
    std::filesystem::create_symlink(dir / "loop", dir / "loop");
    check_read_error(dir / "loop", "file", "cannot access: ");
    check_read_error(dir / std::string(300, 'x'), "file", "cannot access: ");

    // Refused before opening: opening a FIFO would wait for a writer.
    REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
    check_read_error(dir / "fifo", "file", "is not a regular file");
    check_read_error("/dev/null", "file", "is not a regular file");

    write_plain(dir / "locked", idx_bytes(0x08, {1}, u8_payload(1)));
    std::filesystem::permissions(dir / "locked", std::filesystem::perms::none);
    if (::geteuid() == 0) {
        MESSAGE("skipped the unreadable-file check: running as root, where chmod 000 does not deny reading");
    } else {
        check_read_error(dir / "locked", "file", "cannot open: Permission denied");
    }
}

TEST_CASE("idx: a header claiming more than the file holds is refused without allocating the claim") {
    // 60000 MNIST images announced (47 MB), 20 bytes present. A plain file is compared with its size before any
    // allocation; a gzip stream's buffer only grows with what arrives (the fuzz_idx_gzip seed
    // deflate-header-claims-47MB, run with -malloc_limit_mb=32, checks that no 47 MB buffer is allocated).
    TempDir dir;
    const auto claim = idx_bytes(0x08, {60000, 28, 28}, u8_payload(20));
    write_plain(dir / "claim", claim);
    write_gz(dir / "claim.gz", claim);
    for (const char* name : {"claim", "claim.gz"}) {
        INFO(name);
        check_read_error(dir / name, "payload",
                         "truncated: expected 47040000 bytes of u8 (0x08) data (shape 60000x28x28), got 20");
    }

    // An honest gzip stream ends in one buffer of exactly the payload (not rounded up by the growth).
    const auto payload = u8_payload(3 * 100 * 233);  // 69,900 bytes: past the first 64 KiB, not a power of two
    write_gz(dir / "honest.gz", idx_bytes(0x08, {3, 100, 233}, payload));
    const IdxArray a = read_idx(dir / "honest.gz");
    CHECK(a.bytes == payload);
    CHECK(a.bytes.capacity() == payload.size());
}

TEST_CASE("idx: gzip members and what follows the last one") {
    TempDir dir;
    const auto bytes = idx_bytes(0x08, {4, 6}, u8_payload(24));
    write_gz(dir / "first.gz", {bytes.data(), 10});
    write_gz(dir / "second.gz", {bytes.data() + 10, bytes.size() - 10});
    auto members = ctnn::test::read_all(dir / "first.gz");
    const auto second = ctnn::test::read_all(dir / "second.gz");
    members.insert(members.end(), second.begin(), second.end());

    // `cat first.gz second.gz` is one gzip file (gzip -d reads it whole).
    write_plain(dir / "members.gz", members);
    CHECK(read_idx(dir / "members.gz").bytes == u8_payload(24));

    // zlib's gzread would ignore these bytes; the reader does not.
    auto junk = members;
    junk.insert(junk.end(), {'j', 'u', 'n', 'k'});
    write_plain(dir / "junk.gz", junk);
    check_read_error(dir / "junk.gz", "gzip stream", "trailing data: 4 bytes after the last gzip member");
    auto zeros = members;
    zeros.insert(zeros.end(), 7, 0);
    write_plain(dir / "zeros.gz", zeros);
    check_read_error(dir / "zeros.gz", "gzip stream", "trailing data: 7 bytes after the last gzip member");

    // The start of a third member, cut off.
    auto cut_member = members;
    cut_member.insert(cut_member.end(), second.begin(), second.begin() + 5);
    write_plain(dir / "cut-member.gz", cut_member);
    check_read_error(dir / "cut-member.gz", "gzip stream", "truncated: the file ends inside a gzip member");
}
