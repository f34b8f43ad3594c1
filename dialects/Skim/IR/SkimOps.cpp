//===- SkimOps.cpp - skim operations: verifiers and shape inference -------===//
//
// Every rule of ARCHITECTURE.md §2 that can be checked statically is checked
// here, and every diagnostic names the operand, the dimension and the value.
// Dynamic sizes pass; the runtime checks them at launch.
//
//===----------------------------------------------------------------------===//

#include "Skim/IR/SkimOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <functional>

using namespace mlir;
using namespace mlir::skim;

namespace {

constexpr int64_t kDynamic = ShapedType::kDynamic;

bool isStatic(int64_t size) { return !ShapedType::isDynamic(size); }

int64_t ceilDiv(int64_t a, int64_t b) { return a / b + (a % b != 0); }

/// a * b, or nullopt when it overflows (then no static check is possible).
std::optional<int64_t> checkedMul(int64_t a, int64_t b) {
  int64_t result;
  if (llvm::MulOverflow(a, b, result))
    return std::nullopt;
  return result;
}

/// Reports diagnostics at an optional location, so the same checks serve
/// verifiers and type inference (which may run without a location).
struct Checker {
  std::function<InFlightDiagnostic()> emitError;

  LogicalResult rank(StringRef name, Type type, int64_t rank,
                     StringRef layout) const {
    auto shaped = dyn_cast<RankedTensorType>(type);
    if (!shaped)
      return emitError() << name << " must be a ranked tensor " << layout
                         << ", got " << type;
    if (shaped.getRank() != rank)
      return emitError() << name << " must have rank " << rank << " "
                         << layout << ", got rank " << shaped.getRank();
    return success();
  }

  /// `name` dim `dim` (`dimName`) must equal `expected` (taken from `from`).
  LogicalResult dim(StringRef name, Type type, unsigned dim, StringRef dimName,
                    int64_t expected, const Twine &from) const {
    auto shaped = dyn_cast<RankedTensorType>(type);
    if (!shaped || shaped.getRank() <= static_cast<int64_t>(dim))
      return emitError() << name << " has no dim " << dim << " (" << dimName
                         << "), type " << type;
    int64_t actual = shaped.getDimSize(dim);
    if (!isStatic(actual) || !isStatic(expected) || actual == expected)
      return success();
    return emitError() << name << " dim " << dim << " (" << dimName << ") is "
                       << actual << ", expected " << expected << " (" << from
                       << ")";
  }

  LogicalResult positive(StringRef name, int64_t value) const {
    if (value > 0)
      return success();
    return emitError() << name << " must be > 0, got " << value;
  }

  LogicalResult nonNegative(StringRef name, int64_t value) const {
    if (value >= 0)
      return success();
    return emitError() << name << " must be >= 0, got " << value;
  }

  LogicalResult finitePositive(StringRef name, std::optional<APFloat> value) const {
    if (!value)
      return success();
    double v = value->convertToDouble();
    if (std::isfinite(v) && v > 0.0)
      return success();
    return emitError() << name << " must be finite and > 0, got " << v;
  }

  LogicalResult sameElementType(StringRef name, Type type, StringRef refName,
                                Type ref) const {
    Type a = getElementTypeOrSelf(type), b = getElementTypeOrSelf(ref);
    if (a == b)
      return success();
    return emitError() << name << " element type " << a << " differs from "
                       << refName << " element type " << b;
  }
};

int64_t dimOf(Value v, unsigned d) {
  return cast<RankedTensorType>(v.getType()).getDimSize(d);
}
int64_t dimOf(Type t, unsigned d) {
  return cast<RankedTensorType>(t).getDimSize(d);
}

/// Q [B, T, Hq, D], K [B, S, Hkv, D], V [B, S, Hkv, Dv]: ranks, shared dims,
/// GQA divisibility and one element type.
LogicalResult verifyQueryKeyValue(const Checker &c, Type q, Type k, Type v,
                                  StringRef kName = "key",
                                  StringRef vName = "value") {
  if (failed(c.rank("query", q, 4, "[B, T, Hq, D]")) ||
      failed(c.rank(kName, k, 4, "[B, S, Hkv, D]")) ||
      failed(c.rank(vName, v, 4, "[B, S, Hkv, Dv]")))
    return failure();
  if (failed(c.sameElementType(kName, k, "query", q)) ||
      failed(c.sameElementType(vName, v, "query", q)))
    return failure();
  if (failed(c.dim(kName, k, 0, "B", dimOf(q, 0), "B of query")) ||
      failed(c.dim(vName, v, 0, "B", dimOf(q, 0), "B of query")) ||
      failed(c.dim(kName, k, 3, "D", dimOf(q, 3), "D of query")) ||
      failed(c.dim(vName, v, 1, "S", dimOf(k, 1), Twine("S of ") + kName)) ||
      failed(c.dim(vName, v, 2, "Hkv", dimOf(k, 2), Twine("Hkv of ") + kName)))
    return failure();
  int64_t hq = dimOf(q, 2), hkv = dimOf(k, 2);
  if (isStatic(hkv) && hkv <= 0)
    return c.emitError() << kName << " dim 2 (Hkv) must be > 0, got " << hkv;
  if (isStatic(hq) && isStatic(hkv) && hq % hkv != 0)
    return c.emitError() << "query heads Hq = " << hq
                         << " must be a multiple of " << kName
                         << " heads Hkv = " << hkv;
  return success();
}

/// Output and LSE types of an attention over Q and V.
void inferAttentionResults(Type q, Type v, SmallVectorImpl<Type> &results) {
  auto qt = cast<RankedTensorType>(q);
  int64_t b = qt.getDimSize(0), t = qt.getDimSize(1), hq = qt.getDimSize(2);
  results.push_back(RankedTensorType::get({b, t, hq, dimOf(v, 3)},
                                          qt.getElementType()));
  results.push_back(
      RankedTensorType::get({b, hq, t}, Float32Type::get(q.getContext())));
}

/// Type inference runs before the verifier (and without a location when
/// called from builders), so its diagnostics carry the op name themselves.
Checker checkerAt(std::optional<Location> loc, StringRef opName) {
  std::string name = opName.str();
  return Checker{[loc, name]() -> InFlightDiagnostic {
    if (!loc)
      return InFlightDiagnostic();
    InFlightDiagnostic diag = mlir::emitError(*loc);
    diag << "'" << name << "' op ";
    return diag;
  }};
}

/// The constant value of an index operand, if it is one.
std::optional<int64_t> constantIndex(Value v) {
  APInt value;
  if (v && matchPattern(v, m_ConstantInt(&value)))
    return value.getSExtValue();
  return std::nullopt;
}

/// An inherent integer attribute seen from type inference. The generated
/// parser infers result types before it moves the attr-dict into the op's
/// properties, so the attribute may still sit in the plain dictionary.
template <typename AdaptorT>
IntegerAttr inherentInt(AdaptorT &adaptor, IntegerAttr fromProperties,
                        StringRef name) {
  if (fromProperties)
    return fromProperties;
  if (DictionaryAttr attrs = adaptor.getAttributes())
    return dyn_cast_or_null<IntegerAttr>(attrs.get(name));
  return {};
}

LogicalResult verifyStageSchedules(const Checker &c, DictionaryAttr schedules,
                                   ArrayRef<StringLiteral> stages) {
  if (!schedules)
    return success();
  for (NamedAttribute entry : schedules) {
    if (!llvm::is_contained(stages, entry.getName().getValue()))
      return c.emitError() << "schedules has unknown stage '"
                           << entry.getName().getValue() << "' (stages: "
                           << llvm::join(stages, ", ") << ")";
    if (!isa<ScheduleAttr>(entry.getValue()))
      return c.emitError() << "schedules entry '" << entry.getName().getValue()
                           << "' must be a #skim.schedule, got "
                           << entry.getValue();
  }
  return success();
}

std::optional<APFloat> optionalFloat(FloatAttr attr) {
  if (!attr)
    return std::nullopt;
  return attr.getValue();
}

} // namespace

#define GET_OP_CLASSES
#include "Skim/IR/SkimOps.cpp.inc"

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  Checker c = checkerAt(loc, "skim.attention");
  if (failed(c.rank("query", adaptor.getQuery().getType(), 4, "[B, T, Hq, D]")) ||
      failed(c.rank("value", adaptor.getValue().getType(), 4, "[B, S, Hkv, Dv]")))
    return failure();
  inferAttentionResults(adaptor.getQuery().getType(),
                        adaptor.getValue().getType(), results);
  return success();
}

double AttentionOp::getScaleOrDefault() {
  if (std::optional<APFloat> scale = getScale())
    return scale->convertToDouble();
  return 1.0 / std::sqrt(static_cast<double>(dimOf(getQuery(), 3)));
}

LogicalResult AttentionOp::verify() {
  Checker c{[this]() { return emitOpError(); }};
  Type q = getQuery().getType(), k = getKey().getType(), v = getValue().getType();
  if (failed(verifyQueryKeyValue(c, q, k, v)))
    return failure();
  if (failed(c.finitePositive("scale", getScale())) ||
      failed(c.finitePositive("softcap", getSoftcap())) ||
      failed(c.positive("key_stride", getKeyStride())) ||
      failed(c.nonNegative("key_offset", getKeyOffset())) ||
      failed(c.positive("q_block", getQBlock())))
    return failure();
  if (std::optional<int64_t> tokens = constantIndex(getKvTokens()))
    if (*tokens < 0)
      return emitOpError() << "kv_tokens must be >= 0, got " << *tokens;

  if (!getIndices()) {
    if (getCounts())
      return emitOpError("counts given without indices");
    if (getKvBlock())
      return emitOpError("kv_block given without a selection (indices)");
    return success();
  }
  if (!getKvBlock())
    return emitOpError("a selection (indices) needs kv_block");
  if (failed(c.positive("kv_block", *getKvBlock())))
    return failure();

  Type idx = getIndices().getType();
  if (failed(c.rank("indices", idx, 4, "[B, ceil(T / q_block), H', N]")) ||
      failed(c.dim("indices", idx, 0, "B", dimOf(q, 0), "B of query")))
    return failure();
  int64_t t = dimOf(q, 1);
  int64_t tq = isStatic(t) ? ceilDiv(t, getQBlock()) : kDynamic;
  if (failed(c.dim("indices", idx, 1, "ceil(T / q_block)", tq,
                   "T of query over q_block = " + std::to_string(getQBlock()))))
    return failure();
  int64_t hq = dimOf(q, 2), hkv = dimOf(k, 2), hsel = dimOf(idx, 2);
  if (isStatic(hsel) && isStatic(hq) && isStatic(hkv) && hsel != hq &&
      hsel != hkv)
    return emitOpError() << "indices dim 2 (H') is " << hsel
                         << ", expected Hkv = " << hkv
                         << " (shared by the GQA group) or Hq = " << hq
                         << " (per query head)";
  if (isStatic(dimOf(idx, 3)) && dimOf(idx, 3) <= 0)
    return emitOpError() << "indices dim 3 (N) must be > 0, got "
                         << dimOf(idx, 3);
  if (Value counts = getCounts()) {
    Type ct = counts.getType();
    if (failed(c.rank("counts", ct, 3, "[B, ceil(T / q_block), H']")))
      return failure();
    for (unsigned d = 0; d < 3; ++d)
      if (failed(c.dim("counts", ct, d, d == 0 ? "B" : d == 1 ? "T'" : "H'",
                       dimOf(idx, d), "indices dim " + std::to_string(d))))
        return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// PoolOp
//===----------------------------------------------------------------------===//

LogicalResult PoolOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &results) {
  Checker c = checkerAt(loc, "skim.pool");
  Type in = adaptor.getInput().getType();
  if (failed(c.rank("input", in, 4, "[B, S, H, D]")))
    return failure();
  IntegerAttr blockAttr = inherentInt(adaptor, adaptor.getBlockAttr(), "block");
  IntegerAttr strideAttr = inherentInt(adaptor, adaptor.getStrideAttr(), "stride");
  if (!blockAttr || !strideAttr)
    return c.emitError() << "pool needs 'block' and 'stride'";
  int64_t block = blockAttr.getInt(), stride = strideAttr.getInt();
  if (failed(c.positive("block", block)) || failed(c.positive("stride", stride)))
    return failure();
  int64_t s = dimOf(in, 1);
  int64_t nb = !isStatic(s) ? kDynamic : s < block ? 0 : (s - block) / stride + 1;
  int64_t dout = dimOf(in, 3);
  if (Value w = adaptor.getWeights()) {
    if (failed(c.rank("weights", w.getType(), 2, "[block * D, Dout]")))
      return failure();
    dout = dimOf(w, 1);
  }
  results.push_back(RankedTensorType::get(
      {dimOf(in, 0), nb, dimOf(in, 2), dout}, getElementTypeOrSelf(in)));
  return success();
}

LogicalResult PoolOp::verify() {
  Checker c{[this]() { return emitOpError(); }};
  Type in = getInput().getType();
  if (failed(c.rank("input", in, 4, "[B, S, H, D]")) ||
      failed(c.positive("block", getBlock())) ||
      failed(c.positive("stride", getStride())))
    return failure();
  if (getKind() == PoolKind::mean) {
    if (getWeights() || getPosEmb())
      return emitOpError("mean pooling takes no weights or pos_emb");
    return success();
  }
  Value w = getWeights();
  if (!w)
    return emitOpError("linear pooling needs weights [block * D, Dout]");
  int64_t d = dimOf(in, 3);
  int64_t rows = kDynamic;
  if (isStatic(d))
    rows = checkedMul(getBlock(), d).value_or(kDynamic);
  if (failed(c.rank("weights", w.getType(), 2, "[block * D, Dout]")) ||
      failed(c.sameElementType("weights", w.getType(), "input", in)) ||
      failed(c.dim("weights", w.getType(), 0, "block * D", rows,
                   "block = " + std::to_string(getBlock()) + " times D of input")))
    return failure();
  if (Value pe = getPosEmb()) {
    if (failed(c.rank("pos_emb", pe.getType(), 2, "[block, D]")) ||
        failed(c.sameElementType("pos_emb", pe.getType(), "input", in)) ||
        failed(c.dim("pos_emb", pe.getType(), 0, "block",
                     static_cast<int64_t>(getBlock()), "block attribute")) ||
        failed(c.dim("pos_emb", pe.getType(), 1, "D", d, "D of input")))
      return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// BlockScoresOp
//===----------------------------------------------------------------------===//

LogicalResult BlockScoresOp::verify() {
  Checker c{[this]() { return emitOpError(); }};
  Type q = getQuery().getType(), keys = getKeys().getType();
  if (failed(c.rank("query", q, 4, "[B, T, Hq, D]")) ||
      failed(c.rank("keys", keys, 4, "[B, blocks, Hkv, D]")) ||
      failed(c.sameElementType("keys", keys, "query", q)) ||
      failed(c.dim("keys", keys, 0, "B", dimOf(q, 0), "B of query")) ||
      failed(c.dim("keys", keys, 3, "D", dimOf(q, 3), "D of query")))
    return failure();
  int64_t hq = dimOf(q, 2), hkv = dimOf(keys, 2);
  if (isStatic(hq) && isStatic(hkv) && (hkv <= 0 || hq % hkv != 0))
    return emitOpError() << "query heads Hq = " << hq
                         << " must be a multiple of keys heads Hkv = " << hkv;
  if (failed(c.positive("block", getBlock())) ||
      failed(c.finitePositive("scale", getScale())) ||
      failed(c.finitePositive("softcap", getSoftcap())))
    return failure();

  bool nsa = getKind() == ScoreKind::nsa;
  if (nsa) {
    if (!getLse())
      return emitOpError("nsa scores need the compressed branch's lse [B, Hq, T]");
    if (!getCmpBlock() || !getCmpStride())
      return emitOpError("nsa scores need cmp_block and cmp_stride");
    int64_t l = *getCmpBlock(), d = *getCmpStride(), lsel = getBlock();
    if (failed(c.positive("cmp_block", l)) || failed(c.positive("cmp_stride", d)))
      return failure();
    if (l > lsel)
      return emitOpError() << "cmp_block l = " << l
                           << " must be <= selection block l' = " << lsel;
    if (l % d != 0 || lsel % d != 0)
      return emitOpError() << "cmp_stride d = " << d
                           << " must divide cmp_block l = " << l
                           << " and selection block l' = " << lsel;
    Type lse = getLse().getType();
    if (failed(c.rank("lse", lse, 3, "[B, Hq, T]")) ||
        failed(c.dim("lse", lse, 0, "B", dimOf(q, 0), "B of query")) ||
        failed(c.dim("lse", lse, 1, "Hq", hq, "Hq of query")) ||
        failed(c.dim("lse", lse, 2, "T", dimOf(q, 1), "T of query")))
      return failure();
  } else {
    if (getLse())
      return emitOpError("moba scores take no lse");
    if (getCmpBlock() || getCmpStride() || getSoftcap())
      return emitOpError("moba scores take no cmp_block, cmp_stride or softcap");
  }

  Type scores = getScores().getType();
  int64_t heads = nsa ? hkv : hq;
  int64_t blocks = kDynamic;
  if (std::optional<int64_t> tokens = constantIndex(getKvTokens())) {
    if (*tokens < 0)
      return emitOpError() << "kv_tokens must be >= 0, got " << *tokens;
    int64_t t = dimOf(q, 1);
    if (isStatic(t) && *tokens < t)
      return emitOpError() << "kv_tokens = " << *tokens
                           << " is smaller than the T = " << t
                           << " queries it must contain";
    blocks = ceilDiv(*tokens, getBlock());
    // The keys are the pooled blocks of those tokens.
    int64_t expected =
        nsa ? (*tokens < *getCmpBlock()
                   ? 0
                   : (*tokens - *getCmpBlock()) / *getCmpStride() + 1)
            : *tokens / getBlock();
    if (failed(c.dim("keys", keys, 1, "blocks", expected,
                     nsa ? "complete compressed blocks of kv_tokens"
                         : "complete blocks of kv_tokens")))
      return failure();
  }
  if (failed(c.rank("scores", scores, 4, "[B, T, H', ceil(L / block)]")) ||
      failed(c.dim("scores", scores, 0, "B", dimOf(q, 0), "B of query")) ||
      failed(c.dim("scores", scores, 1, "T", dimOf(q, 1), "T of query")) ||
      failed(c.dim("scores", scores, 2, "H'", heads,
                   nsa ? "Hkv: nsa scores are summed over the GQA group"
                       : "Hq: moba scores are per query head")) ||
      failed(c.dim("scores", scores, 3, "blocks", blocks,
                   "ceil(kv_tokens / block)")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// TopkOp
//===----------------------------------------------------------------------===//

LogicalResult TopkOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &results) {
  Checker c = checkerAt(loc, "skim.topk");
  Type scores = adaptor.getScores().getType();
  if (failed(c.rank("scores", scores, 4, "[B, T, H, blocks]")))
    return failure();
  IntegerAttr nAttr = inherentInt(adaptor, adaptor.getNAttr(), "n");
  if (!nAttr)
    return c.emitError() << "topk needs 'n'";
  if (failed(c.positive("n", nAttr.getInt())))
    return failure();
  auto i32 = IntegerType::get(ctx, 32);
  int64_t b = dimOf(scores, 0), t = dimOf(scores, 1), h = dimOf(scores, 2);
  results.push_back(RankedTensorType::get({b, t, h, nAttr.getInt()}, i32));
  results.push_back(RankedTensorType::get({b, t, h}, i32));
  return success();
}

LogicalResult TopkOp::verify() {
  Checker c{[this]() { return emitOpError(); }};
  int64_t n = getN(), ff = getForceFirst(), fl = getForceLast();
  if (failed(c.rank("scores", getScores().getType(), 4, "[B, T, H, blocks]")) ||
      failed(c.positive("n", n)) || failed(c.positive("block", getBlock())) ||
      failed(c.nonNegative("force_first", ff)) ||
      failed(c.nonNegative("force_last", fl)))
    return failure();
  if (ff + fl > n)
    return emitOpError() << "n = " << n << " is smaller than the forced blocks "
                         << "force_first + force_last = " << ff + fl;
  if (std::optional<int64_t> tokens = constantIndex(getKvTokens())) {
    if (*tokens < 0)
      return emitOpError() << "kv_tokens must be >= 0, got " << *tokens;
    int64_t t = dimOf(getScores(), 1);
    if (isStatic(t) && *tokens < t)
      return emitOpError() << "kv_tokens = " << *tokens
                           << " is smaller than the T = " << t
                           << " query rows it must contain";
    if (failed(c.dim("scores", getScores().getType(), 3, "blocks",
                     ceilDiv(*tokens, getBlock()), "ceil(kv_tokens / block)")))
      return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// CombineOp and MergeOp
//===----------------------------------------------------------------------===//

LogicalResult CombineOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  if (adaptor.getOutputs().empty())
    return checkerAt(loc, "skim.combine").emitError() << "combine needs at least one output";
  results.push_back(adaptor.getOutputs().front().getType());
  return success();
}

/// All partial outputs of combine/merge share one type, rank 4.
static LogicalResult verifyBranchOutputs(const Checker &c, ValueRange outputs,
                                         ValueRange partners,
                                         StringRef partnerName) {
  if (outputs.empty())
    return c.emitError() << "needs at least one output";
  if (partners.size() != outputs.size())
    return c.emitError() << "has " << outputs.size() << " outputs but "
                         << partners.size() << " " << partnerName
                         << ": one per output";
  Type first = outputs.front().getType();
  if (failed(c.rank("outputs #0", first, 4, "[B, T, Hq, Dv]")))
    return failure();
  for (auto [i, out] : llvm::enumerate(outputs))
    if (out.getType() != first)
      return c.emitError() << "outputs #" << i << " has type " << out.getType()
                           << ", expected " << first << " like outputs #0";
  return success();
}

LogicalResult CombineOp::verify() {
  Checker c{[this]() { return emitOpError(); }};
  if (failed(verifyBranchOutputs(c, getOutputs(), getGates(), "gates")))
    return failure();
  Type out = getOutputs().front().getType();
  for (auto [i, gate] : llvm::enumerate(getGates())) {
    std::string name = "gates #" + std::to_string(i);
    if (failed(c.rank(name, gate.getType(), 3, "[B, T, Hq]")))
      return failure();
    for (unsigned d = 0; d < 3; ++d)
      if (failed(c.dim(name, gate.getType(), d, d == 0 ? "B" : d == 1 ? "T" : "Hq",
                       dimOf(out, d), "outputs #0 dim " + std::to_string(d))))
        return failure();
  }
  return success();
}

LogicalResult MergeOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  if (adaptor.getOutputs().empty() || adaptor.getLses().empty())
    return checkerAt(loc, "skim.merge").emitError() << "merge needs at least one partial";
  results.push_back(adaptor.getOutputs().front().getType());
  results.push_back(adaptor.getLses().front().getType());
  return success();
}

LogicalResult MergeOp::verify() {
  Checker c{[this]() { return emitOpError(); }};
  if (failed(verifyBranchOutputs(c, getOutputs(), getLses(), "lse")))
    return failure();
  Type out = getOutputs().front().getType();
  for (auto [i, lse] : llvm::enumerate(getLses())) {
    std::string name = "lse #" + std::to_string(i);
    if (failed(c.rank(name, lse.getType(), 3, "[B, Hq, T]")) ||
        failed(c.dim(name, lse.getType(), 0, "B", dimOf(out, 0), "B of outputs")) ||
        failed(c.dim(name, lse.getType(), 1, "Hq", dimOf(out, 2), "Hq of outputs")) ||
        failed(c.dim(name, lse.getType(), 2, "T", dimOf(out, 1), "T of outputs")))
      return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// NsaOp
//===----------------------------------------------------------------------===//

ArrayRef<StringLiteral> NsaOp::getStageNames() {
  static constexpr StringLiteral names[] = {"pool", "compressed", "selected",
                                            "window"};
  return names;
}

LogicalResult NsaOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &results) {
  Checker c = checkerAt(loc, "skim.nsa");
  if (adaptor.getValues().empty())
    return c.emitError() << "nsa needs values";
  if (failed(c.rank("query", adaptor.getQuery().getType(), 4, "[B, T, Hq, D]")) ||
      failed(c.rank("values #0", adaptor.getValues().front().getType(), 4,
                    "[B, S, Hkv, Dv]")))
    return failure();
  SmallVector<Type> attentionTypes;
  inferAttentionResults(adaptor.getQuery().getType(),
                        adaptor.getValues().front().getType(), attentionTypes);
  results.push_back(attentionTypes.front());
  return success();
}

LogicalResult NsaOp::verify() {
  Checker c{[this]() { return emitOpError(); }};
  size_t branches = getKeys().size();
  if (branches != 1 && branches != 3)
    return emitOpError() << "keys must hold 1 tensor (shared by all branches) "
                            "or 3 (compressed, selected, window), got "
                         << branches;
  if (getValues().size() != branches)
    return emitOpError() << "values must hold as many tensors as keys ("
                         << branches << "), got " << getValues().size();
  Type q = getQuery().getType();
  for (size_t i = 0; i < branches; ++i) {
    std::string k = "keys #" + std::to_string(i), v = "values #" + std::to_string(i);
    if (failed(verifyQueryKeyValue(c, q, getKeys()[i].getType(),
                                   getValues()[i].getType(), k, v)))
      return failure();
    if (failed(c.dim(v, getValues()[i].getType(), 3, "Dv",
                     dimOf(getValues().front(), 3), "Dv of values #0")) ||
        failed(c.dim(k, getKeys()[i].getType(), 1, "S",
                     dimOf(getKeys().front(), 1),
                     "S of keys #0: every branch sees the same tokens")) ||
        failed(c.dim(k, getKeys()[i].getType(), 2, "Hkv",
                     dimOf(getKeys().front(), 2),
                     "Hkv of keys #0: the selection is shared per KV head")))
      return failure();
  }
  if (static_cast<bool>(getKeyWeights()) != static_cast<bool>(getValueWeights()))
    return emitOpError("pool_weights needs both key and value weights");
  for (auto [name, gate] : {std::pair<StringRef, Value>{"gate_cmp", getGateCmp()},
                            {"gate_slc", getGateSlc()},
                            {"gate_win", getGateWin()}}) {
    if (failed(c.rank(name, gate.getType(), 3, "[B, T, Hq]")))
      return failure();
    for (unsigned d = 0; d < 3; ++d)
      if (failed(c.dim(name, gate.getType(), d, d == 0 ? "B" : d == 1 ? "T" : "Hq",
                       dimOf(q, d), "query dim " + std::to_string(d))))
        return failure();
  }

  int64_t l = getCmpBlock(), d = getCmpStride(), lsel = getSelBlock();
  if (failed(c.positive("cmp_block", l)) || failed(c.positive("cmp_stride", d)) ||
      failed(c.positive("sel_block", lsel)) ||
      failed(c.positive("num_selected", getNumSelected())) ||
      failed(c.nonNegative("force_first", getForceFirst())) ||
      failed(c.nonNegative("force_last", getForceLast())) ||
      failed(c.positive("window", getWindow())) ||
      failed(c.finitePositive("scale", getScale())) ||
      failed(c.finitePositive("softcap", getSoftcap())))
    return failure();
  if (l > lsel)
    return emitOpError() << "cmp_block l = " << l
                         << " must be <= sel_block l' = " << lsel;
  if (l % d != 0 || lsel % d != 0)
    return emitOpError() << "cmp_stride d = " << d
                         << " must divide cmp_block l = " << l
                         << " and sel_block l' = " << lsel;
  if (getForceFirst() + getForceLast() > getNumSelected())
    return emitOpError() << "num_selected = " << getNumSelected()
                         << " is smaller than the forced blocks force_first + "
                            "force_last = "
                         << getForceFirst() + getForceLast();

  if (Value kw = getKeyWeights()) {
    Value vw = getValueWeights();
    int64_t dk = dimOf(q, 3), dv = dimOf(getValues().front(), 3);
    auto rows = [&](int64_t dim) {
      return isStatic(dim) ? checkedMul(l, dim).value_or(kDynamic) : kDynamic;
    };
    if (failed(c.rank("key pool_weights", kw.getType(), 2, "[cmp_block * D, D]")) ||
        failed(c.rank("value pool_weights", vw.getType(), 2,
                      "[cmp_block * Dv, Dv]")) ||
        failed(c.sameElementType("key pool_weights", kw.getType(), "query", q)) ||
        failed(c.sameElementType("value pool_weights", vw.getType(), "query", q)) ||
        failed(c.dim("key pool_weights", kw.getType(), 0, "cmp_block * D",
                     rows(dk), "cmp_block times D")) ||
        failed(c.dim("key pool_weights", kw.getType(), 1, "D", dk, "D of query")) ||
        failed(c.dim("value pool_weights", vw.getType(), 0, "cmp_block * Dv",
                     rows(dv), "cmp_block times Dv")) ||
        failed(c.dim("value pool_weights", vw.getType(), 1, "Dv", dv,
                     "Dv of values")))
      return failure();
  }
  return verifyStageSchedules(c, getSchedulesAttr(), getStageNames());
}

//===----------------------------------------------------------------------===//
// MobaOp
//===----------------------------------------------------------------------===//

ArrayRef<StringLiteral> MobaOp::getStageNames() {
  static constexpr StringLiteral names[] = {"pool", "scores", "selected"};
  return names;
}

LogicalResult MobaOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &results) {
  Checker c = checkerAt(loc, "skim.moba");
  if (failed(c.rank("query", adaptor.getQuery().getType(), 4, "[B, T, Hq, D]")) ||
      failed(c.rank("value", adaptor.getValue().getType(), 4, "[B, S, Hkv, Dv]")))
    return failure();
  inferAttentionResults(adaptor.getQuery().getType(),
                        adaptor.getValue().getType(), results);
  return success();
}

LogicalResult MobaOp::verify() {
  Checker c{[this]() { return emitOpError(); }};
  if (failed(verifyQueryKeyValue(c, getQuery().getType(), getKey().getType(),
                                 getValue().getType())) ||
      failed(c.positive("block", getBlock())) ||
      failed(c.positive("top_k", getTopK())) ||
      failed(c.finitePositive("scale", getScale())))
    return failure();
  return verifyStageSchedules(c, getSchedulesAttr(), getStageNames());
}
