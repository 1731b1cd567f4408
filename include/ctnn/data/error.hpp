#pragma once
// data::format_error: a data file (IDX images or labels) that cannot be used as it is.

#include "ctnn/core/file_error.hpp"

namespace ctnn::data {

class format_error : public file_error {
public:
    using file_error::file_error;
};

}  // namespace ctnn::data
