# Runs shuffled_pixels on the tiny data folder and checks what it wrote: every row of the experiment, each
# accuracy a fraction, the per-epoch histories, and the two pictures.
#   cmake -DEXAMPLE=... -DDATA=... -DOUT=... -P check_shuffled_pixels.cmake
file(REMOVE_RECURSE "${OUT}")
execute_process(
  COMMAND "${EXAMPLE}" --data-dir "${DATA}" --epochs 2 --batch 16 --threads 2 --out "${OUT}"
  RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE errors)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "shuffled_pixels failed (${status}):\n${output}\n${errors}")
endif()
foreach(file results.md results.json digits.png dense_weights.png)
  if(NOT EXISTS "${OUT}/${file}")
    message(FATAL_ERROR "shuffled_pixels did not write ${OUT}/${file}:\n${output}")
  endif()
endforeach()

file(READ "${OUT}/results.json" json)
string(JSON rows LENGTH "${json}" rows)
if(NOT rows EQUAL 12)
  message(FATAL_ERROR "results.json holds ${rows} rows, expected 12 (2 data sets x 2 models x 3 pixel orders)")
endif()
math(EXPR last "${rows} - 1")
foreach(i RANGE ${last})
  string(JSON accuracy GET "${json}" rows ${i} test_accuracy)
  string(JSON train_pixels GET "${json}" rows ${i} train_pixels)
  string(JSON test_pixels GET "${json}" rows ${i} test_pixels)
  string(JSON epochs LENGTH "${json}" rows ${i} accuracy_history)
  if(accuracy LESS 0 OR accuracy GREATER 1)
    message(FATAL_ERROR "row ${i}: test accuracy ${accuracy} is not in [0, 1]")
  endif()
  if(train_pixels STREQUAL test_pixels AND NOT epochs EQUAL 2)
    message(FATAL_ERROR "row ${i}: ${epochs} accuracies in its history, expected 2 (one per epoch)")
  endif()
  # The tiny classes are learnable: a network trained and tested on the same pixel order beats chance.
  if(train_pixels STREQUAL test_pixels AND accuracy LESS 0.3)
    message(FATAL_ERROR "row ${i}: test accuracy ${accuracy} after 2 epochs; the tiny data set is learnable")
  endif()
endforeach()
message(STATUS "shuffled_pixels wrote 12 rows:\n${output}")
