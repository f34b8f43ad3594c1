//===- Plan.cpp - launch plan expressions and text form -------------------===//

#include "Conversion/SkimToTile/Plan.h"

#include <sstream>

using namespace mlir::skim;

SizeExpr SizeExpr::constant(int64_t value) {
  SizeExpr e;
  e.tokens.push_back(std::to_string(value));
  return e;
}

SizeExpr SizeExpr::dim(int buffer, int dim) {
  SizeExpr e;
  e.tokens.push_back("d" + std::to_string(buffer) + "." + std::to_string(dim));
  return e;
}

SizeExpr SizeExpr::stride(int buffer, int dim) {
  SizeExpr e;
  e.tokens.push_back("s" + std::to_string(buffer) + "." + std::to_string(dim));
  return e;
}

bool SizeExpr::isConstant(int64_t *value) const {
  if (tokens.size() != 1)
    return false;
  const std::string &t = tokens.front();
  if (t.empty() || !(std::isdigit(static_cast<unsigned char>(t[0])) || t[0] == '-'))
    return false;
  *value = std::stoll(t);
  return true;
}

SizeExpr SizeExpr::binary(const SizeExpr &rhs, const char *op) const {
  int64_t a, b;
  std::string name(op);
  // Fold constants so plans stay readable and static sizes stay visible.
  if (isConstant(&a) && rhs.isConstant(&b)) {
    if (name == "+") return constant(a + b);
    if (name == "-") return constant(a - b);
    if (name == "*") return constant(a * b);
    if (name == "max") return constant(a > b ? a : b);
    if (name == "min") return constant(a < b ? a : b);
    if (b > 0 && name == "/") return constant(a >= 0 ? a / b : -((-a + b - 1) / b));
    if (b > 0 && name == "cdiv") return constant(a >= 0 ? (a + b - 1) / b : -(-a / b));
  }
  if (rhs.isConstant(&b) && ((b == 1 && (name == "*" || name == "/" || name == "cdiv")) ||
                             (b == 0 && (name == "+" || name == "-"))))
    return *this;
  SizeExpr e = *this;
  e.tokens.insert(e.tokens.end(), rhs.tokens.begin(), rhs.tokens.end());
  e.tokens.push_back(name);
  return e;
}

std::string SizeExpr::str() const {
  std::string out;
  for (size_t i = 0; i < tokens.size(); ++i)
    out += (i ? "," : "") + tokens[i];
  return out;
}

std::string Plan::serialize() const {
  std::ostringstream os;
  os << "skim-plan 1\n";
  for (size_t i = 0; i < buffers.size(); ++i) {
    const PlanBuffer &b = buffers[i];
    const char *kind = b.kind == PlanBuffer::Kind::Input    ? "input"
                       : b.kind == PlanBuffer::Kind::Output ? "output"
                                                            : "workspace";
    os << "buffer " << i << " " << kind << " " << b.index << " " << b.dtype
       << " " << b.dims.size();
    for (const SizeExpr &d : b.dims)
      os << " " << d.str();
    if (b.zeroed)
      os << " zero";
    os << "\n";
  }
  for (const PlanRequirement &r : requirements)
    os << "require " << r.lhs.str() << " " << r.rhs.str() << " " << r.what << "\n";
  for (const PlanIndexCheck &c : indexChecks)
    os << "validate " << c.buffer << " " << c.blocks.str() << "\n";
  for (const PlanKernel &k : kernels) {
    os << "kernel " << k.name << " grid";
    for (const SizeExpr &g : k.grid)
      os << " " << g.str();
    os << " args " << k.args.size();
    for (const PlanArg &a : k.args) {
      if (!a.tmaBox.empty()) {
        os << " m" << a.buffer << ":";
        for (size_t i = 0; i < a.tmaBox.size(); ++i)
          os << (i ? "x" : "") << a.tmaBox[i];
        os << ":" << a.tmaSwizzle;
      } else if (a.buffer >= 0) {
        os << " t" << a.buffer;
      } else {
        os << " e" << a.scalar.str();
      }
    }
    int64_t shared = 0;
    bool noShared = k.sharedBytes.empty() ||
                    (k.sharedBytes.isConstant(&shared) && shared == 0);
    const std::array<int64_t, 3> one = {1, 1, 1};
    if (k.block != one || !noShared || k.cluster != one) {
      os << " block " << k.block[0] << " " << k.block[1] << " " << k.block[2];
      os << " smem " << (k.sharedBytes.empty() ? "0" : k.sharedBytes.str());
      os << " cluster " << k.cluster[0] << " " << k.cluster[1] << " "
         << k.cluster[2];
    }
    os << "\n";
  }
  if (!binary.empty())
    os << "binary " << binary << "\n";
  return os.str();
}
