# skim_add_unit_test(name SOURCES ... LIBS ...)
#
# Catch2 executables are plain add_executable targets: LLVM's flags turn
# exceptions off, and Catch2 needs them. Tests are registered with ctest
# through catch_discover_tests, one ctest entry per TEST_CASE.
function(skim_add_unit_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;MLIR_LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE -fexceptions)
  target_link_libraries(${name} PRIVATE Catch2::Catch2WithMain ${ARG_LIBS})
  if(ARG_MLIR_LIBS)
    mlir_target_link_libraries(${name} PRIVATE ${ARG_MLIR_LIBS})
  endif()
  set(labels unit ${ARG_LABELS})
  catch_discover_tests(${name} PROPERTIES LABELS "${labels}")
endfunction()
