# --- install -----------------------------------------------------------------
# cmake --install build --prefix <prefix> gives
#   bin/skim bin/skim-opt                  tools (RUNPATH $ORIGIN/../lib + LLVM's lib)
#   lib/libskim.so                         the C API (RUNPATH LLVM's lib)
#   lib/libskim_runtime.so                 the C API without the compiler (no LLVM)
#   lib/libSkimRuntime.a                   the runtime (no LLVM)
#   include/skim/skim.h include/skim/runtime/*.h
#   lib/cmake/skim/                        find_package(skim): skim::skim, skim::SkimRuntime
#   ${SKIM_INSTALL_PYTHONDIR}/skim         the Python module over libskim.so
# libMLIR/libLLVM and dlpack/dlpack.h come from the system.
include(CMakePackageConfigHelpers)
set(SKIM_INSTALL_PYTHONDIR "lib/python3/dist-packages" CACHE STRING
    "Where the Python package goes, relative to the install prefix")
if(IS_ABSOLUTE "${SKIM_INSTALL_PYTHONDIR}")
  message(FATAL_ERROR "SKIM_INSTALL_PYTHONDIR must be relative to the install prefix")
endif()
set(SKIM_INSTALL_CMAKEDIR "lib/cmake/skim")

# add_llvm_executable puts LLVM's library folder only in the build RUNPATH;
# the installed tools need it too, for libMLIR.so.
set_target_properties(skim skim-opt PROPERTIES
  INSTALL_RPATH "\$ORIGIN/../lib;${LLVM_LIBRARY_DIR}")
install(TARGETS skim skim-opt RUNTIME DESTINATION bin)

# skim_capi links the compiler statically and exports only the C API, so the
# shared library is all it installs. CMake drops the build RUNPATH on install;
# keep LLVM's library folder, where libMLIR.so and libLLVM.so live.
set_target_properties(skim_capi PROPERTIES EXPORT_NAME skim
  INSTALL_RPATH "${LLVM_LIBRARY_DIR}")
install(TARGETS skim_capi EXPORT skimTargets LIBRARY DESTINATION lib)
install(FILES ${PROJECT_SOURCE_DIR}/compiler/CAPI/include/skim/skim.h DESTINATION include/skim)
install(TARGETS skim_runtime LIBRARY DESTINATION lib)

install(TARGETS SkimRuntime EXPORT skimTargets ARCHIVE DESTINATION lib
        INCLUDES DESTINATION include)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/runtime/include/skim/runtime DESTINATION include/skim
        FILES_MATCHING PATTERN "*.h")

install(EXPORT skimTargets NAMESPACE skim:: FILE skimTargets.cmake
        DESTINATION ${SKIM_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/skimConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/skimConfig.cmake
  INSTALL_DESTINATION ${SKIM_INSTALL_CMAKEDIR}
  PATH_VARS SKIM_INSTALL_PYTHONDIR)
# 0.x: a new minor version may break the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/skimConfigVersion.cmake
  VERSION ${SKIM_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/skimConfig.cmake
              ${PROJECT_BINARY_DIR}/cmake/skimConfigVersion.cmake
        DESTINATION ${SKIM_INSTALL_CMAKEDIR})

# The Python package, and where it finds libskim.so from there (relative, so
# the tree can move).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/python/skim DESTINATION ${SKIM_INSTALL_PYTHONDIR}
        FILES_MATCHING PATTERN "*.py" PATTERN "__pycache__" EXCLUDE)
file(RELATIVE_PATH SKIM_PYTHON_TO_LIBDIR "/prefix/${SKIM_INSTALL_PYTHONDIR}/skim" "/prefix/lib")
string(REGEX REPLACE "/$" "" SKIM_PYTHON_TO_LIBDIR "${SKIM_PYTHON_TO_LIBDIR}")
file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/python/skim/_install.py CONTENT
"# Written by cmake --install: libskim.so relative to this package.
LIBRARY = \"${SKIM_PYTHON_TO_LIBDIR}/$<TARGET_FILE_NAME:skim_capi>\"
")
install(FILES ${PROJECT_BINARY_DIR}/python/skim/_install.py
        DESTINATION ${SKIM_INSTALL_PYTHONDIR}/skim)
