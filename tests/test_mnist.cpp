// Tests for ctnn/data/mnist.hpp on tiny MNIST-shaped files (no network, no real data set).

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ctnn/data/mnist.hpp"
#include "idx_writer.hpp"

using ctnn::data::format_error;
using ctnn::data::load_mnist;
using ctnn::test::TempDir;
using ctnn::test::write_image_set;

namespace {

void write_mnist(const TempDir& dir, bool gz, std::uint32_t width = 28,
                 std::vector<std::uint8_t> train_labels = {5, 0, 4}) {
    const std::string ext = gz ? ".gz" : "";
    write_image_set(dir / ("train-images-idx3-ubyte" + ext), dir / ("train-labels-idx1-ubyte" + ext), 3, 28, width,
                    train_labels, gz);
    write_image_set(dir / ("t10k-images-idx3-ubyte" + ext), dir / ("t10k-labels-idx1-ubyte" + ext), 2, 28, width,
                    {7, 2}, gz);
}

}  // namespace

TEST_CASE("mnist: loads plain and gzip directories") {
    for (bool gz : {false, true}) {
        INFO("gz = " << gz);
        TempDir dir;
        write_mnist(dir, gz);
        const auto [train, test] = load_mnist(dir.path());
        CHECK(train.size() == 3);
        CHECK(test.size() == 2);
        CHECK(train.height == 28);
        CHECK(train.width == 28);
        CHECK(train.channels == 1);
        CHECK(train.classes == 10);
        CHECK(train.labels[0] == 5);
        CHECK(test.labels[1] == 2);
        CHECK(test.images[250] == (250 % 251) / 255.0f);
    }
}

TEST_CASE("mnist: mixed plain and gzip files, plain wins when both exist") {
    TempDir dir;
    write_mnist(dir, true);
    std::filesystem::remove(dir / "t10k-labels-idx1-ubyte.gz");
    ctnn::test::write_plain(dir / "t10k-labels-idx1-ubyte",
                            ctnn::test::idx_bytes(0x08, {2}, std::vector<std::uint8_t>{9, 8}));
    ctnn::test::write_plain(dir / "train-labels-idx1-ubyte",
                            ctnn::test::idx_bytes(0x08, {3}, std::vector<std::uint8_t>{1, 1, 1}));
    const auto data = load_mnist(dir.path());
    CHECK(data.test.labels == std::vector<std::uint8_t>{9, 8});
    CHECK(data.train.labels == std::vector<std::uint8_t>{1, 1, 1});
}

TEST_CASE("mnist: a missing file lists both names looked for") {
    TempDir dir;
    write_mnist(dir, true);
    std::filesystem::remove(dir / "t10k-images-idx3-ubyte.gz");
    try {
        (void)load_mnist(dir.path());
        FAIL("expected a format_error");
    } catch (const format_error& e) {
        const std::string m = e.what();
        INFO(m);
        CHECK(e.field() == "file");
        CHECK(e.file() == dir / "t10k-images-idx3-ubyte");
        CHECK(m.find((dir / "t10k-images-idx3-ubyte").string()) != std::string::npos);
        CHECK(m.find((dir / "t10k-images-idx3-ubyte.gz").string()) != std::string::npos);
    }
    CHECK_THROWS_AS((void)load_mnist(dir / "no-such-dir"), format_error);
}

TEST_CASE("mnist: wrong image size and out-of-range label") {
    {
        TempDir dir;
        write_mnist(dir, false, 29);
        const auto file = dir / "train-images-idx3-ubyte";
        try {
            (void)load_mnist(dir.path());
            FAIL("expected a format_error");
        } catch (const format_error& e) {
            CHECK(e.file() == file);
            CHECK(e.field() == "dimension 2");
            CHECK(std::string(e.what()) == file.string() + ": dimension 2: expected 28, found 29");
        }
    }
    {
        TempDir dir;
        write_mnist(dir, true, 28, {5, 10, 4});
        const auto file = dir / "train-labels-idx1-ubyte.gz";
        try {
            (void)load_mnist(dir.path());
            FAIL("expected a format_error");
        } catch (const format_error& e) {
            const std::string m = e.what();
            INFO(m);
            CHECK(e.file() == file);
            CHECK(e.field() == "label 1");
            CHECK(m.find(file.string()) != std::string::npos);
            CHECK(m.find("value 10") != std::string::npos);
        }
    }
}

TEST_CASE("mnist: a directory or an inaccessible path where a file is expected") {
    {
        TempDir dir;
        write_mnist(dir, false);
        const auto file = dir / "train-images-idx3-ubyte";
        std::filesystem::remove(file);
        std::filesystem::create_directory(file);  // no .gz either: the directory is what there is
        CHECK_THROWS_WITH_AS((void)load_mnist(dir.path()), (file.string() + ": file: is a directory").c_str(),
                             format_error);
    }
    {
        TempDir dir;
        write_mnist(dir, true);
        const auto file = dir / "t10k-labels-idx1-ubyte";
        std::filesystem::create_symlink(file, file);  // a loop: cannot be examined, which is not "not found"
        try {
            (void)load_mnist(dir.path());
            FAIL("expected a format_error");
        } catch (const format_error& e) {
            const std::string m = e.what();
            INFO(m);
            CHECK(e.file() == file);
            CHECK(e.field() == "file");
            CHECK(m.starts_with(file.string() + ": file: cannot access: "));
        }
    }
}

TEST_CASE("mnist: image and label counts must agree") {
    TempDir dir;
    write_mnist(dir, true, 28, {5, 0});  // 3 training images, 2 labels
    const auto images = dir / "train-images-idx3-ubyte.gz", labels = dir / "train-labels-idx1-ubyte.gz";
    CHECK_THROWS_WITH_AS(
        (void)load_mnist(dir.path()),
        (labels.string() + ": dimension 0: has 2 labels but " + images.string() + " has 3 images").c_str(),
        format_error);
}
