// Tests for ctnn/data/dataset.hpp: make_dataset's checks, pixel scaling, image(), gather_batch.

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ctnn/data/dataset.hpp"
#include "idx_writer.hpp"

using ctnn::data::Dataset;
using ctnn::data::format_error;
using ctnn::data::IdxArray;
using ctnn::data::IdxType;
using ctnn::data::make_dataset;

namespace {

IdxArray u8_array(std::vector<std::uint32_t> dims, std::vector<std::uint8_t> bytes) {
    return {IdxType::u8, std::move(dims), std::move(bytes)};
}

// 3 images of 2x2: pixel p of image i is 10*i + p.
IdxArray small_images() { return u8_array({3, 2, 2}, {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 255}); }

std::string message_of(auto&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("dataset: make_dataset scales pixels to 0..1 and keeps labels") {
    const Dataset d = make_dataset(small_images(), u8_array({3}, {2, 0, 1}), 3, "img", "lbl");
    CHECK(d.size() == 3);
    CHECK(d.height == 2);
    CHECK(d.width == 2);
    CHECK(d.channels == 1);
    CHECK(d.classes == 3);
    CHECK(d.sample_size() == 4);
    CHECK(d.labels == std::vector<std::uint8_t>{2, 0, 1});
    REQUIRE(d.images.size() == 12);
    CHECK(d.images[0] == 0.0f);
    CHECK(d.images[5] == 11.0f / 255.0f);
    CHECK(d.images[11] == 1.0f);
    const auto second = d.image(1);
    REQUIRE(second.size() == 4);
    CHECK(second[3] == 13.0f / 255.0f);
    CHECK_THROWS_AS((void)d.image(3), std::out_of_range);
    // Buffers are aligned for the SIMD kernels.
    CHECK(reinterpret_cast<std::uintptr_t>(d.images.data()) % ctnn::buffer_alignment == 0);
}

TEST_CASE("dataset: rank 4 images carry channels") {
    const Dataset d = make_dataset(u8_array({1, 1, 2, 3}, {1, 2, 3, 4, 5, 6}), u8_array({1}, {0}), 1, "i", "l");
    CHECK(d.channels == 3);
    CHECK(d.sample_size() == 6);
}

TEST_CASE("dataset: make_dataset rejects inconsistent inputs, naming the file and the field") {
    SUBCASE("label out of range names the labels file, the index and the value") {
        try {
            (void)make_dataset(small_images(), u8_array({3}, {1, 0, 12}), 10, "dir/img-idx3", "dir/lbl-idx1");
            FAIL("expected a format_error");
        } catch (const format_error& e) {
            const std::string m = e.what();
            INFO(m);
            CHECK(e.file() == "dir/lbl-idx1");
            CHECK(e.field() == "label 2");
            CHECK(m.find("dir/lbl-idx1") != std::string::npos);
            CHECK(m.find("label 2") != std::string::npos);
            CHECK(m.find("value 12") != std::string::npos);
        }
    }
    SUBCASE("count mismatch names both files") {
        try {
            (void)make_dataset(small_images(), u8_array({2}, {1, 0}), 10, "dir/img-idx3", "dir/lbl-idx1");
            FAIL("expected a format_error");
        } catch (const format_error& e) {
            const std::string m = e.what();
            INFO(m);
            CHECK(e.file() == "dir/lbl-idx1");
            CHECK(e.field() == "dimension 0");
            CHECK(m.find("dir/lbl-idx1") != std::string::npos);
            CHECK(m.find("dir/img-idx3") != std::string::npos);
            CHECK(m.find("2 labels") != std::string::npos);
            CHECK(m.find("3 images") != std::string::npos);
        }
    }
    SUBCASE("wrong types and ranks") {
        CHECK(message_of([] {
                  (void)make_dataset(u8_array({12}, std::vector<std::uint8_t>(12)), u8_array({12}, {}), 10, "i", "l");
              }) == "i: rank: expected 3 (N x H x W) or 4 (N x H x W x C), found 1");
        IdxArray floats = small_images();
        floats.type = IdxType::f32;
        CHECK_THROWS_WITH_AS((void)make_dataset(floats, u8_array({3}, {0, 0, 0}), 10, "i", "l"),
                             "i: element type: expected u8 (0x08), found f32 (0x0D)", format_error);
        CHECK_THROWS_WITH_AS((void)make_dataset(small_images(), u8_array({3, 1}, {0, 0, 0}), 10, "i", "l"),
                             "l: rank: expected 1, found 2", format_error);
        CHECK_THROWS_AS((void)make_dataset(small_images(), u8_array({3}, {0, 0, 0}), 0, "i", "l"),
                        std::invalid_argument);
    }
}

TEST_CASE("dataset: load_idx_dataset reads both files") {
    ctnn::test::TempDir dir;
    ctnn::test::write_image_set(dir / "img.gz", dir / "lbl", 4, 3, 2, {3, 1, 4, 1}, true);
    const Dataset d = ctnn::data::load_idx_dataset(dir / "img.gz", dir / "lbl", 5);
    CHECK(d.size() == 4);
    CHECK(d.sample_size() == 6);
    CHECK(d.images[7] == 7.0f / 255.0f);
    CHECK_THROWS_AS((void)ctnn::data::load_idx_dataset(dir / "img.gz", dir / "lbl", 4), format_error);
}

TEST_CASE("dataset: gather_batch copies the ordered samples") {
    const Dataset d = make_dataset(small_images(), u8_array({3}, {2, 0, 1}), 3, "img", "lbl");
    const std::vector<std::uint32_t> order{2, 0, 1, 2};
    std::vector<float> images(2 * 4, -1.0f);
    std::vector<std::uint8_t> labels(2, 99);

    ctnn::data::gather_batch(d, order, 1, 2, images.data(), labels.data());  // samples 0 then 1
    for (std::size_t p = 0; p < 4; ++p) {
        CHECK(images[p] == d.image(0)[p]);
        CHECK(images[4 + p] == d.image(1)[p]);
    }
    CHECK(labels == std::vector<std::uint8_t>{2, 0});

    ctnn::data::gather_batch(d, order, 3, 1, images.data(), nullptr);  // labels optional
    CHECK(images[3] == 1.0f);

    CHECK_THROWS_AS(ctnn::data::gather_batch(d, order, 3, 2, images.data(), labels.data()), std::out_of_range);
    CHECK_THROWS_AS(ctnn::data::gather_batch(d, order, 5, 0, images.data(), labels.data()), std::out_of_range);
    const std::vector<std::uint32_t> bad{0, 3};
    CHECK_THROWS_AS(ctnn::data::gather_batch(d, bad, 0, 2, images.data(), labels.data()), std::out_of_range);
}

TEST_CASE("dataset: load_idx_dataset checks each file and the pair, naming the file at fault") {
    ctnn::test::TempDir dir;
    using ctnn::test::idx_bytes;
    using ctnn::test::u8_payload;
    ctnn::test::write_image_set(dir / "img", dir / "lbl", 4, 3, 2, {3, 1, 4, 1}, false);
    const auto load = [&](const std::string& images, const std::string& labels, std::size_t height = 0,
                          std::size_t width = 0) {
        return message_of([&] { (void)ctnn::data::load_idx_dataset(dir / images, dir / labels, 5, height, width); });
    };
    const std::string img = (dir / "img").string(), lbl = (dir / "lbl").string();

    ctnn::test::write_plain(dir / "lbl3", idx_bytes(0x08, {3}, std::vector<std::uint8_t>{3, 1, 4}));
    CHECK(load("img", "lbl3") == (dir / "lbl3").string() + ": dimension 0: has 3 labels but " + img + " has 4 images");

    ctnn::test::write_plain(dir / "lbl-i32", idx_bytes(0x0C, {1}, std::vector<std::uint8_t>{0, 0, 0, 1}));
    CHECK(load("img", "lbl-i32") ==
          (dir / "lbl-i32").string() + ": element type: expected u8 (0x08), found i32 (0x0C)");

    ctnn::test::write_plain(dir / "img-rank2", idx_bytes(0x08, {4, 6}, u8_payload(24)));
    CHECK(load("img-rank2", "lbl") ==
          (dir / "img-rank2").string() + ": rank: expected 3 (N x H x W) or 4 (N x H x W x C), found 2");

    // The caller's image size is checked against the header, before the payload is read.
    CHECK(load("img", "lbl", 4, 2) == img + ": dimension 1: expected 4, found 3");
    CHECK(load("img", "lbl", 3, 2).empty());

    ctnn::test::write_plain(dir / "lbl-high", idx_bytes(0x08, {4}, std::vector<std::uint8_t>{3, 1, 5, 1}));
    CHECK(load("img", "lbl-high") == (dir / "lbl-high").string() + ": label 2: value 5 is not below the 5 classes");
    CHECK(load("img", "missing") == (dir / "missing").string() + ": file: not found");
}
