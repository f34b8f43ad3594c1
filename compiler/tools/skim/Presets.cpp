//===- Presets.cpp - variants by name -------------------------------------===//

#include "Presets.h"

#include <sstream>

using namespace skim::tool;

std::vector<std::pair<std::string, std::vector<int64_t>>> Preset::inputs() const {
  std::vector<std::pair<std::string, std::vector<int64_t>>> in = {
      {"q", {batch, seq, hq, dim}},
      {"k", {batch, kvTokens(), hkv, dim}},
      {"v", {batch, kvTokens(), hkv, valueDim()}}};
  if (variant == "nsa")
    for (const char *g : {"g_cmp", "g_slc", "g_win"})
      in.push_back({g, {batch, seq, hq}});
  return in;
}

std::vector<std::string> Preset::outputs() const {
  if (variant == "nsa")
    return {"o"};
  return {"o", "lse"};
}

bool Preset::toMlir(std::string &out, std::string &error) const {
  if (variant != "nsa" && variant != "moba" && variant != "window" &&
      variant != "causal") {
    error = "unknown variant '" + variant + "' (expected nsa, moba, window or causal)";
    return false;
  }
  if (dtype != "f32" && dtype != "bf16" && dtype != "f16") {
    error = "unknown --dtype '" + dtype + "' (expected f32, bf16 or f16)";
    return false;
  }
  if (hq <= 0 || hkv <= 0 || hq % hkv != 0) {
    error = "--heads must be Hq/Hkv with Hq a positive multiple of Hkv";
    return false;
  }
  if (dim <= 0 || valueDim() <= 0 || batch <= 0 || seq < 0 || kvTokens() < seq) {
    error = "--dim, --batch must be > 0 and --kv-seq must be >= --seq";
    return false;
  }
  auto t4 = [&](int64_t h, int64_t d) {
    return "tensor<?x?x" + std::to_string(h) + "x" + std::to_string(d) + "x" + dtype + ">";
  };
  std::string q = t4(hq, dim), k = t4(hkv, dim), v = t4(hkv, valueDim());
  std::string o = t4(hq, valueDim());
  std::string lse = "tensor<?x" + std::to_string(hq) + "x?xf32>";
  std::string g = "tensor<?x?x" + std::to_string(hq) + "x" + dtype + ">";
  std::ostringstream s;
  if (variant == "nsa") {
    s << "func.func @nsa(%q: " << q << ", %k: " << k << ", %v: " << v
      << ", %gc: " << g << ", %gs: " << g << ", %gw: " << g << ") -> " << o << " {\n"
      << "  %o = skim.nsa %q, keys(%k), values(%v), gates(%gc, %gs, %gw) {cmp_block = "
      << cmpBlock << ", cmp_stride = " << cmpStride << ", sel_block = " << selBlock
      << ", num_selected = " << selected << ", window = " << window << "} : " << q
      << ", keys(" << k << "), values(" << v << "), gates " << g << "\n"
      << "  return %o : " << o << "\n}\n";
  } else if (variant == "moba") {
    s << "func.func @moba(%q: " << q << ", %k: " << k << ", %v: " << v << ") -> ("
      << o << ", " << lse << ") {\n"
      << "  %o, %lse = skim.moba %q, %k, %v {block = " << block << ", top_k = " << topK
      << "} : " << q << ", " << k << ", " << v << "\n"
      << "  return %o, %lse : " << o << ", " << lse << "\n}\n";
  } else {
    std::string mask = "#skim.mask<causal";
    if (variant == "window")
      mask += ", window = " + std::to_string(window);
    if (sink)
      mask += ", sink = " + std::to_string(sink);
    mask += ">";
    s << "func.func @" << variant << "(%q: " << q << ", %k: " << k << ", %v: " << v
      << ") -> (" << o << ", " << lse << ") {\n"
      << "  %o, %lse = skim.attention %q, %k, %v {mask = " << mask << "} : " << q
      << ", " << k << ", " << v << "\n"
      << "  return %o, %lse : " << o << ", " << lse << "\n}\n";
  }
  out = s.str();
  return true;
}
