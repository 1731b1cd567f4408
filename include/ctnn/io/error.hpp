#pragma once
// io::format_error: a model file that cannot be loaded (or written) as asked, e.g.
// "mlp.ctnn: architecture: saved from a different network architecture ...".

#include "ctnn/core/file_error.hpp"

namespace ctnn::io {

class format_error : public file_error {
public:
    using file_error::file_error;
};

}  // namespace ctnn::io
