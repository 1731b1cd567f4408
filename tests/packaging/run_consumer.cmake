# cmake -DMODE=find_package|add_subdirectory -DCTNN_SOURCE_DIR=... -DPACKAGING_DIR=... -DWORK_DIR=...
#       -DCXX_COMPILER=... [-DGENERATOR=...] -P run_consumer.cmake
# Builds and runs a consumer of ctnn in WORK_DIR (wiped first). Fails with the failing step's output.
cmake_minimum_required(VERSION 3.20)

foreach(var IN ITEMS MODE CTNN_SOURCE_DIR PACKAGING_DIR WORK_DIR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT DEFINED GENERATOR OR GENERATOR STREQUAL "")
  set(GENERATOR "Unix Makefiles")
endif()

# Runs a command; EXPECT_FAILURE inverts the check. The output is kept in `<out_var>` when given.
function(step name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "EXPECT_FAILURE" "OUTPUT_VARIABLE" "COMMAND")
  message(STATUS "[${MODE}] ${name}")
  execute_process(COMMAND ${arg_COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(arg_EXPECT_FAILURE AND rc EQUAL 0)
    message(FATAL_ERROR "[${MODE}] ${name}: succeeded but must fail\n${out}")
  elseif(NOT arg_EXPECT_FAILURE AND NOT rc EQUAL 0)
    message(FATAL_ERROR "[${MODE}] ${name}: failed (${rc})\n${out}")
  endif()
  if(arg_OUTPUT_VARIABLE)
    set(${arg_OUTPUT_VARIABLE} "${out}" PARENT_SCOPE)
  endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
# The consumers must see only what this test provides: no package registry, no ctnn on the system paths.
set(common_args -G "${GENERATOR}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)

# Runs the consumer's app and checks what it prints.
function(run_app app)
  step("run ${app}" COMMAND "${app}" OUTPUT_VARIABLE out)
  message(STATUS "[${MODE}] app printed: ${out}")
  if(NOT out MATCHES "ctnn consumer: ok")
    message(FATAL_ERROR "[${MODE}] the app did not print 'ctnn consumer: ok':\n${out}")
  endif()
endfunction()

if(MODE STREQUAL "find_package")
  set(prefix "${WORK_DIR}/prefix")
  step("configure ctnn for install"
    COMMAND "${CMAKE_COMMAND}" -S "${CTNN_SOURCE_DIR}" -B "${WORK_DIR}/ctnn-build" ${common_args}
      -DCTNN_BUILD_TESTS=OFF -DCTNN_BUILD_EXAMPLES=OFF -DCTNN_BUILD_BENCHMARKS=OFF "-DCMAKE_INSTALL_PREFIX=${prefix}")
  step("build ctnn" COMMAND "${CMAKE_COMMAND}" --build "${WORK_DIR}/ctnn-build")
  step("install ctnn" COMMAND "${CMAKE_COMMAND}" --install "${WORK_DIR}/ctnn-build")

  file(GLOB config_dirs LIST_DIRECTORIES true "${prefix}/lib/cmake/ctnn" "${prefix}/share/cmake/ctnn")
  list(LENGTH config_dirs n)
  if(NOT n EQUAL 1)
    message(FATAL_ERROR "[${MODE}] expected one of lib/cmake/ctnn, share/cmake/ctnn in ${prefix}, found: '${config_dirs}'")
  endif()
  foreach(f IN ITEMS ctnnConfig.cmake ctnnConfigVersion.cmake ctnnTargets.cmake)
    if(NOT EXISTS "${config_dirs}/${f}")
      message(FATAL_ERROR "[${MODE}] ${config_dirs}/${f} was not installed")
    endif()
  endforeach()
  if(NOT EXISTS "${prefix}/include/ctnn/config.hpp")
    message(FATAL_ERROR "[${MODE}] the headers were not installed in ${prefix}/include/ctnn")
  endif()
  # The consumer below compiles against the installed headers only: nothing may point back at the source tree.
  file(READ "${config_dirs}/ctnnTargets.cmake" targets_text)
  string(FIND "${targets_text}" "${CTNN_SOURCE_DIR}/include" pos)
  if(NOT pos EQUAL -1)
    message(FATAL_ERROR "[${MODE}] the installed ctnnTargets.cmake names the source tree ${CTNN_SOURCE_DIR}/include")
  endif()

  set(build "${WORK_DIR}/consumer-build")
  step("configure consumer: find_package(ctnn 0.1 REQUIRED)"
    COMMAND "${CMAKE_COMMAND}" -S "${PACKAGING_DIR}/consumer" -B "${build}" ${common_args}
      "-DCMAKE_PREFIX_PATH=${prefix}")
  file(STRINGS "${build}/CMakeCache.txt" found_dir REGEX "^ctnn_DIR:")
  string(REGEX REPLACE "^ctnn_DIR:[A-Z]+=" "" found_dir "${found_dir}")
  if(NOT found_dir STREQUAL config_dirs)
    message(FATAL_ERROR "[${MODE}] the consumer found ctnn in '${found_dir}', not in '${config_dirs}'")
  endif()
  step("build consumer" COMMAND "${CMAKE_COMMAND}" --build "${build}")
  run_app("${build}/app")

  step("configure consumer: find_package(ctnn 9.0) must fail" EXPECT_FAILURE
    COMMAND "${CMAKE_COMMAND}" -S "${PACKAGING_DIR}/consumer" -B "${WORK_DIR}/consumer-9.0" ${common_args}
      "-DCMAKE_PREFIX_PATH=${prefix}" -DCTNN_REQUESTED_VERSION=9.0
    OUTPUT_VARIABLE out)
  if(NOT out MATCHES "compatible[ \t\r\n]+with[ \t\r\n]+requested[ \t\r\n]+version")
    message(FATAL_ERROR "[${MODE}] find_package(ctnn 9.0) failed, but not because of the version:\n${out}")
  endif()

elseif(MODE STREQUAL "add_subdirectory")
  set(build "${WORK_DIR}/consumer-build")
  step("configure consumer: add_subdirectory(ctnn)"
    COMMAND "${CMAKE_COMMAND}" -S "${PACKAGING_DIR}/subdirectory" -B "${build}" ${common_args}
      "-DCTNN_SOURCE_DIR=${CTNN_SOURCE_DIR}")
  step("build consumer" COMMAND "${CMAKE_COMMAND}" --build "${build}")
  run_app("${build}/app")

else()
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()
message(STATUS "[${MODE}] ok")
