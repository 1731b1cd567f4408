#include <doctest/doctest.h>

#include <string>

#include "ctnn/core/file_error.hpp"

TEST_CASE("file_error: control characters read from a file are shown as \\xNN, so the message stays whole") {
    // A NUL inside a tensor name (found by fuzzing the ONNX reader) used to end what() before the problem.
    const std::string field = std::string("node /1/Ba") + '\x01' + '\0' + "lization";
    const ctnn::file_error e("model.onnx", field, std::string("an \x1b[31mescape") + '\n' + "and the rest");
    CHECK(std::string(e.what()) ==
          "model.onnx: node /1/Ba\\x01\\x00lization: an \\x1b[31mescape\\x0aand the rest");
    CHECK(e.field() == field);  // the accessor keeps the bytes as they were
    CHECK(std::string(ctnn::file_error("a", "b", "caf\xc3\xa9").what()) == "a: b: caf\xc3\xa9");  // UTF-8 untouched
}
