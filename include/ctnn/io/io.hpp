#pragma once
// The dependency-free part of ctnn/io: ctnn model files, PyTorch's names and layouts (state dicts), and
// parameters compiled into the program. The optional components are included by name:
//   #include <ctnn/io/safetensors.hpp>   target ctnn::safetensors (nlohmann-json)
//   #include <ctnn/io/onnx.hpp>          target ctnn::onnx (libonnx + protobuf)

#include "ctnn/io/embedded.hpp"
#include "ctnn/io/error.hpp"
#include "ctnn/io/model_file.hpp"
#include "ctnn/io/state_dict.hpp"
