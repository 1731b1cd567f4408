# Builds one compile-fail target and passes only if the build fails AND its output contains every expected
# pattern: a bare WILL_FAIL would also pass on a typo or a missing include.
# The first pattern must match the first line that says "error:".
#   cmake -DBUILD_DIR=... -DTARGET=... -DCONFIG=... -DLOG=... -DEXPECT=<regex>[@@<regex>...] -P check_compile_fail.cmake
# EXPECT uses @@ as separator because ';' and '|' both mean something inside regexes and argument lists.
# Without EXPECT, the build must succeed (the positive control).
foreach(var BUILD_DIR TARGET LOG)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_compile_fail.cmake: ${var} is not set")
  endif()
endforeach()

set(config_args)
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()
execute_process(
  COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --target "${TARGET}" ${config_args}
  RESULT_VARIABLE result
  OUTPUT_VARIABLE output
  ERROR_VARIABLE output)
file(WRITE "${LOG}" "${output}")

if(NOT DEFINED EXPECT OR EXPECT STREQUAL "")
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "${TARGET} must compile with CTNN_FIX but failed (full output in ${LOG}):\n${output}")
  endif()
  message(STATUS "${TARGET} compiles")
  return()
endif()

if(result EQUAL 0)
  message(FATAL_ERROR "${TARGET} compiled, but this composition must be rejected")
endif()
# The first error must already be the sentence (the first pattern): a follow-up error must not come first.
string(REGEX MATCH "[^\n]*error:[^\n]*" first_error "${output}")
string(FIND "${EXPECT}" "@@" at)
string(SUBSTRING "${EXPECT}" 0 ${at} sentence)
if(NOT first_error MATCHES "${sentence}")
  message(FATAL_ERROR "${TARGET}: the first error is not the expected one.\n"
                      "Expected: ${sentence}\nFirst error: ${first_error}\nFull output in ${LOG}")
endif()

# Split by hand: list(...) would not split inside [brackets], which regexes use.
set(missing "")
set(rest "${EXPECT}")
while(NOT rest STREQUAL "")
  string(FIND "${rest}" "@@" at)
  if(at EQUAL -1)
    set(pattern "${rest}")
    set(rest "")
  else()
    string(SUBSTRING "${rest}" 0 ${at} pattern)
    math(EXPR next "${at} + 2")
    string(SUBSTRING "${rest}" ${next} -1 rest)
  endif()
  if(NOT output MATCHES "${pattern}")
    string(APPEND missing "\n  ${pattern}")
  endif()
endwhile()
if(NOT missing STREQUAL "")
  string(SUBSTRING "${output}" 0 4000 head)
  message(FATAL_ERROR "${TARGET} failed to compile, but not with the expected diagnostic.\n"
                      "Missing:${missing}\nFull output in ${LOG}; it starts with:\n${head}")
endif()
message(STATUS "${TARGET} is rejected with the expected diagnostic")
