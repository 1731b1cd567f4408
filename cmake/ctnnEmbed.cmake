# ctnn_embed_model(TARGET <target> MODEL <file.ctnn> HEADER <name.hpp> NAME <identifier> [NAMESPACE <ns>])
#
# Compiles a model file into <target>: at build time the ctnn_embed tool turns MODEL into HEADER, which defines
# `inline constexpr ctnn::io::EmbeddedParameters<...> <NAME>` (in NAMESPACE, e.g. app::models, when given), and
# <target> can `#include "<name.hpp>"` and build `Net net{<NAME>}` with no file at run time. The header is
# regenerated whenever the model file or the tool changes.
#
#   MODEL   relative to the calling directory's source directory; it may be the OUTPUT of a custom command in
#           the same directory (a model trained or generated at build time).
#   HEADER  relative to <binary dir>/ctnn_embedded/<target>/, which becomes one of <target>'s include
#           directories; an absolute path is used as it is, and its directory is added.
#
# Call it in the directory that defines <target>: CMake attaches a custom command's output to targets of that
# directory only. The tool is the target ctnn::embed: built by ctnn itself (CTNN_BUILD_TOOLS) or imported by
# find_package(ctnn) from an installation that has it.
function(ctnn_embed_model)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "TARGET;MODEL;HEADER;NAME;NAMESPACE" "")
  foreach(required IN ITEMS TARGET MODEL HEADER NAME)
    if(NOT arg_${required})
      message(FATAL_ERROR "ctnn_embed_model: ${required} is required")
    endif()
  endforeach()
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "ctnn_embed_model: unknown arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET "${arg_TARGET}")
    message(FATAL_ERROR "ctnn_embed_model: ${arg_TARGET} is not a target (define it before this call)")
  endif()
  if(NOT TARGET ctnn::embed)
    message(FATAL_ERROR "ctnn_embed_model: the ctnn_embed tool is not available: configure ctnn with "
                        "-DCTNN_BUILD_TOOLS=ON (it needs CLI11: apt-get install libcli11-dev), or install such a build")
  endif()

  cmake_path(ABSOLUTE_PATH arg_MODEL BASE_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" NORMALIZE OUTPUT_VARIABLE model)
  cmake_path(IS_ABSOLUTE arg_HEADER header_is_absolute)
  if(header_is_absolute)
    set(header "${arg_HEADER}")
  else()
    cmake_path(ABSOLUTE_PATH arg_HEADER BASE_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}/ctnn_embedded/${arg_TARGET}"
               NORMALIZE OUTPUT_VARIABLE header)
  endif()
  cmake_path(GET header PARENT_PATH header_dir)
  cmake_path(GET model FILENAME model_name)
  cmake_path(GET header FILENAME header_name)
  set(namespace_args)
  if(arg_NAMESPACE)
    set(namespace_args --namespace "${arg_NAMESPACE}")
  endif()

  add_custom_command(OUTPUT "${header}"
    COMMAND "${CMAKE_COMMAND}" -E make_directory "${header_dir}"
    COMMAND "$<TARGET_FILE:ctnn::embed>" "${model}" --output "${header}" --name "${arg_NAME}" ${namespace_args}
    DEPENDS ctnn::embed "${model}"
    COMMENT "ctnn_embed: ${model_name} -> ${header_name}"
    VERBATIM)
  target_sources("${arg_TARGET}" PRIVATE "${header}")
  target_include_directories("${arg_TARGET}" PRIVATE "${header_dir}")
endfunction()
