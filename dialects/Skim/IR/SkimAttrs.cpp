//===- SkimAttrs.cpp - skim attributes ------------------------------------===//

#include "Skim/IR/SkimAttrs.h"
#include "Skim/IR/SkimDialect.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::skim;

#include "Skim/IR/SkimEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "Skim/IR/SkimAttrs.cpp.inc"

void SkimDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "Skim/IR/SkimAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// MaskAttr
//===----------------------------------------------------------------------===//

// `#skim.mask<causal, window = 512, sink = 4>`: the bare `causal` keyword
// reads better than `causal = true` in the attention ops users write by hand.
Attribute MaskAttr::parse(AsmParser &parser, Type) {
  bool causal = false;
  int64_t window = 0, sink = 0;
  if (parser.parseLess())
    return {};
  if (succeeded(parser.parseOptionalGreater()))
    return MaskAttr::getChecked([&] { return parser.emitError(parser.getNameLoc()); },
                                parser.getContext(), causal, window, sink);
  llvm::SmallDenseSet<StringRef> seen;
  do {
    StringRef key;
    SMLoc keyLoc = parser.getCurrentLocation();
    if (parser.parseKeyword(&key))
      return {};
    if (!seen.insert(key).second) {
      parser.emitError(keyLoc) << "'" << key << "' appears twice in #skim.mask";
      return {};
    }
    if (key == "causal") {
      if (succeeded(parser.parseOptionalEqual())) {
        parser.emitError(keyLoc)
            << "'causal' is a flag: write #skim.mask<causal>, or leave it out";
        return {};
      }
      causal = true;
      continue;
    }
    int64_t *field = key == "window" ? &window : key == "sink" ? &sink : nullptr;
    if (!field) {
      parser.emitError(keyLoc)
          << "unknown #skim.mask field '" << key
          << "' (expected 'causal', 'window' or 'sink')";
      return {};
    }
    if (parser.parseEqual() || parser.parseInteger(*field))
      return {};
  } while (succeeded(parser.parseOptionalComma()));
  if (parser.parseGreater())
    return {};
  return MaskAttr::getChecked([&] { return parser.emitError(parser.getNameLoc()); },
                              parser.getContext(), causal, window, sink);
}

void MaskAttr::print(AsmPrinter &printer) const {
  SmallVector<std::string> fields;
  if (getCausal())
    fields.push_back("causal");
  if (getWindow() != 0)
    fields.push_back("window = " + std::to_string(getWindow()));
  if (getSink() != 0)
    fields.push_back("sink = " + std::to_string(getSink()));
  printer << "<";
  llvm::interleaveComma(fields, printer);
  printer << ">";
}

LogicalResult MaskAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               bool causal, int64_t window, int64_t sink) {
  if (window < 0)
    return emitError() << "#skim.mask window must be >= 0 (0 = no window), got "
                       << window;
  if (sink < 0)
    return emitError() << "#skim.mask sink must be >= 0 (0 = no sink), got "
                       << sink;
  return success();
}

//===----------------------------------------------------------------------===//
// Schedules
//===----------------------------------------------------------------------===//

static LogicalResult checkPositive(function_ref<InFlightDiagnostic()> emitError,
                                   StringRef attr, StringRef field,
                                   int64_t value) {
  if (value > 0)
    return success();
  return emitError() << attr << " " << field << " must be > 0, got " << value;
}

LogicalResult
ScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                     int64_t blockM, int64_t blockN, int64_t warps,
                     int64_t stages, LoopOrder order, bool packGqa,
                     int64_t tokensPerTile, int64_t splitKv, bool prefetch,
                     bool overlap, Attribute target) {
  const StringRef name = "#skim.schedule";
  if (failed(checkPositive(emitError, name, "block_m", blockM)) ||
      failed(checkPositive(emitError, name, "block_n", blockN)) ||
      failed(checkPositive(emitError, name, "warps", warps)) ||
      failed(checkPositive(emitError, name, "stages", stages)) ||
      failed(checkPositive(emitError, name, "tokens_per_tile", tokensPerTile)) ||
      failed(checkPositive(emitError, name, "split_kv", splitKv)))
    return failure();
  if (target && !isa<Sm90ScheduleAttr, AmdScheduleAttr>(target))
    return emitError() << name
                       << " target must be #skim.sm90<...> or #skim.amd<...>, got "
                       << target;
  return success();
}

LogicalResult
Sm90ScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                         int64_t consumerWarpgroups, int64_t producerRegs,
                         int64_t consumerRegs, int64_t cluster) {
  const StringRef name = "#skim.sm90";
  if (failed(checkPositive(emitError, name, "consumer_warpgroups",
                           consumerWarpgroups)) ||
      failed(checkPositive(emitError, name, "cluster", cluster)))
    return failure();
  // setmaxnreg takes a multiple of 8 in [24, 256].
  for (auto [field, regs] : {std::pair<StringRef, int64_t>{"producer_regs", producerRegs},
                             {"consumer_regs", consumerRegs}}) {
    if (regs < 24 || regs > 256 || regs % 8 != 0)
      return emitError() << name << " " << field
                         << " must be a multiple of 8 in [24, 256] "
                            "(setmaxnreg), got "
                         << regs;
  }
  return success();
}

LogicalResult
AmdScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        int64_t mmaM, int64_t mmaN, int64_t mmaK,
                        int64_t wavesPerEu, int64_t waveSize) {
  const StringRef name = "#skim.amd";
  bool known = (mmaM == 32 && mmaN == 32 && mmaK == 8) ||
               (mmaM == 16 && mmaN == 16 && mmaK == 16);
  if (!known)
    return emitError() << name << " mma shape " << mmaM << "x" << mmaN << "x"
                       << mmaK
                       << " is not a bf16/f16 MFMA/WMMA shape "
                          "(32x32x8 or 16x16x16)";
  if (failed(checkPositive(emitError, name, "waves_per_eu", wavesPerEu)))
    return failure();
  if (waveSize != 32 && waveSize != 64)
    return emitError() << name << " wave_size must be 32 or 64, got "
                       << waveSize;
  return success();
}
