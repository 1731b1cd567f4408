# Dependencies of the ctnn interface targets, shared by the build tree and ctnnConfig.cmake's logic.
# xtl first: Debian's xsimd config names the xtl target without finding it (link fails with -lxtl).
include(GNUInstallDirs)
find_package(xtl REQUIRED)
find_package(xsimd REQUIRED)
find_package(xtensor REQUIRED)
find_package(ZLIB REQUIRED)

# Optional components. Each is built when its dependency is found and skipped with a message otherwise; the
# core target ctnn::ctnn never depends on them.
#   ctnn::safetensors  io/safetensors.hpp: the JSON header is parsed with nlohmann-json (nlohmann-json3-dev)
#   ctnn::onnx         io/onnx.hpp: ONNX's protobuf classes (libonnx-dev + libprotobuf-dev)
find_package(nlohmann_json 3.10 QUIET)
if(nlohmann_json_FOUND)
  set(CTNN_HAVE_SAFETENSORS ON)
else()
  set(CTNN_HAVE_SAFETENSORS OFF)
  message(STATUS "ctnn: component safetensors disabled: nlohmann-json not found (apt-get install nlohmann-json3-dev)")
endif()

# libonnx-dev's ONNXConfig.cmake does not find protobuf itself.
find_package(Protobuf QUIET)
if(Protobuf_FOUND)
  find_package(ONNX QUIET)
endif()
if(Protobuf_FOUND AND ONNX_FOUND AND TARGET onnx_proto)
  set(CTNN_HAVE_ONNX ON)
else()
  set(CTNN_HAVE_ONNX OFF)
  message(STATUS "ctnn: component onnx disabled: ONNX or protobuf not found "
                 "(apt-get install libonnx-dev libprotobuf-dev)")
endif()
