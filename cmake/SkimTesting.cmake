# skim_add_unit_test(name SOURCES ... LIBS ... [MLIR_LIBS ...] [LABELS ...])
#
# Catch2 executables are plain add_executable targets: LLVM's flags turn
# exceptions off, and Catch2 needs them. Each TEST_CASE becomes a ctest entry
# through catch_discover_tests. Cases tagged [slow] get the ctest label
# `slow` (skipped by scripts/test.sh unless SKIM_SLOW=1), cases tagged [gpu]
# the label `gpu` (they skip themselves without a device).
function(skim_add_unit_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;MLIR_LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE -fexceptions)
  target_link_libraries(${name} PRIVATE Catch2::Catch2WithMain ${ARG_LIBS})
  if(ARG_MLIR_LIBS)
    mlir_target_link_libraries(${name} PRIVATE ${ARG_MLIR_LIBS})
  endif()
  # One label per test: Catch's discovery script splits a list-valued
  # property on ';' and would drop the rest of the list.
  set(label unit)
  if(ARG_LABELS)
    list(GET ARG_LABELS 0 label)
  endif()
  catch_discover_tests(${name} TEST_SPEC "~[slow]~[gpu]" PROPERTIES LABELS ${label})
  catch_discover_tests(${name} TEST_SPEC "[slow]" TEST_PREFIX "slow: "
                       PROPERTIES LABELS slow)
  catch_discover_tests(${name} TEST_SPEC "[gpu]" TEST_PREFIX "gpu: "
                       PROPERTIES LABELS gpu)
endfunction()
