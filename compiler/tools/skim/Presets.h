//===- Presets.h - variants by name -----------------------------*- C++ -*-===//

#ifndef SKIM_TOOLS_SKIM_PRESETS_H
#define SKIM_TOOLS_SKIM_PRESETS_H

#include <cstdint>
#include <string>
#include <vector>

namespace skim::tool {

struct Preset {
  std::string variant;      // nsa | moba | window | causal
  int64_t batch = 1, seq = 1024, kvSeq = 0, hq = 8, hkv = 1, dim = 64, dv = 0;
  std::string dtype = "f32";
  int64_t window = 512, sink = 0;
  int64_t block = 512, topK = 3;                                   // moba
  int64_t cmpBlock = 32, cmpStride = 16, selBlock = 64, selected = 16; // nsa

  int64_t kvTokens() const { return kvSeq ? kvSeq : seq; }
  int64_t valueDim() const { return dv ? dv : dim; }
  /// The variant as MLIR (B, T and S dynamic), or an error message.
  bool toMlir(std::string &out, std::string &error) const;
  /// Input names and shapes in argument order.
  std::vector<std::pair<std::string, std::vector<int64_t>>> inputs() const;
  /// Output names in result order.
  std::vector<std::string> outputs() const;
};

} // namespace skim::tool

#endif // SKIM_TOOLS_SKIM_PRESETS_H
