# Install rules: headers, the exported ctnn::ctnn target (and the optional components built here), ctnnConfig.cmake and its version file.
include(CMakePackageConfigHelpers)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/ctnn" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS ctnn EXPORT ctnnTargets)
if(CTNN_HAVE_SAFETENSORS)
  install(TARGETS ctnn_safetensors EXPORT ctnnTargets)
endif()
if(CTNN_HAVE_ONNX)
  install(TARGETS ctnn_onnx EXPORT ctnnTargets)
endif()
if(TARGET ctnn_embed)
  install(TARGETS ctnn_embed EXPORT ctnnTargets)  # imported as ctnn::embed, for ctnn_embed_model()
endif()
install(EXPORT ctnnTargets NAMESPACE ctnn:: DESTINATION "${CMAKE_INSTALL_DATADIR}/cmake/ctnn")

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/ctnnConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/ctnnConfig.cmake"
  INSTALL_DESTINATION "${CMAKE_INSTALL_DATADIR}/cmake/ctnn")
# A header-only library fits any architecture: ARCH_INDEPENDENT drops the pointer-size check.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/ctnnConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES "${PROJECT_BINARY_DIR}/ctnnConfig.cmake" "${PROJECT_BINARY_DIR}/ctnnConfigVersion.cmake"
  "${PROJECT_SOURCE_DIR}/cmake/ctnnEmbed.cmake" DESTINATION "${CMAKE_INSTALL_DATADIR}/cmake/ctnn")
