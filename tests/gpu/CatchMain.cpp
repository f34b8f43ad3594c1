//===- CatchMain.cpp - main() for the runtime tests on a GPU machine ------===//
//
// The main build links Catch2::Catch2WithMain; the standalone project of
// tests/gpu/CMakeLists.txt has only the v2 single header.
//
//===----------------------------------------------------------------------===//

#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
