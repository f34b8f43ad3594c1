//===- Plan.cpp - parsing and evaluating launch plans ---------------------===//

#include "skim/runtime/Plan.h"

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <sstream>

using namespace skim::rt;

const char *skim::rt::dtypeName(DType t) {
  switch (t) {
  case DType::F32: return "f32";
  case DType::BF16: return "bf16";
  case DType::F16: return "f16";
  case DType::I32: return "i32";
  }
  return "?";
}

size_t skim::rt::dtypeSize(DType t) {
  return t == DType::BF16 || t == DType::F16 ? 2 : 4;
}

Expected<DType> skim::rt::parseDType(const std::string &name) {
  if (name == "f32") return DType::F32;
  if (name == "bf16") return DType::BF16;
  if (name == "f16") return DType::F16;
  if (name == "i32") return DType::I32;
  return Error{"unknown element type '" + name + "' (expected f32, bf16, f16 or i32)"};
}

/// A whole-token integer, or nothing (never throws).
static std::optional<int64_t> parseInt(const std::string &text) {
  if (text.empty())
    return std::nullopt;
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno || *end != '\0')
    return std::nullopt;
  return v;
}

std::string Expr::str() const {
  std::string out;
  for (size_t i = 0; i < tokens.size(); ++i)
    out += (i ? "," : "") + tokens[i];
  return out;
}

static int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

Expected<int64_t> Expr::eval(
    const std::function<Expected<int64_t>(bool, int, int)> &leaf) const {
  std::vector<int64_t> stack;
  for (const std::string &t : tokens) {
    if (t.empty())
      return Error{"empty token in expression '" + str() + "'"};
    if ((t[0] == 'd' || t[0] == 's') && t.size() > 1 && std::isdigit(static_cast<unsigned char>(t[1]))) {
      size_t dot = t.find('.');
      if (dot == std::string::npos)
        return Error{"bad leaf '" + t + "' in expression '" + str() + "'"};
      std::optional<int64_t> buffer = parseInt(t.substr(1, dot - 1));
      std::optional<int64_t> dim = parseInt(t.substr(dot + 1));
      if (!buffer || !dim)
        return Error{"bad leaf '" + t + "' in expression '" + str() + "'"};
      Expected<int64_t> v = leaf(t[0] == 's', int(*buffer), int(*dim));
      if (!v)
        return Error{v.message()};
      stack.push_back(*v);
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(t[0])) || (t[0] == '-' && t.size() > 1)) {
      std::optional<int64_t> v = parseInt(t);
      if (!v)
        return Error{"bad number '" + t + "' in expression '" + str() + "'"};
      stack.push_back(*v);
      continue;
    }
    if (stack.size() < 2)
      return Error{"operator '" + t + "' lacks operands in '" + str() + "'"};
    int64_t b = stack.back();
    stack.pop_back();
    int64_t a = stack.back();
    stack.pop_back();
    int64_t r;
    if (t == "+") r = a + b;
    else if (t == "-") r = a - b;
    else if (t == "*") r = a * b;
    else if (t == "max") r = a > b ? a : b;
    else if (t == "min") r = a < b ? a : b;
    else if (t == "/" || t == "cdiv") {
      if (b == 0)
        return Error{"division by zero in '" + str() + "'"};
      r = t == "/" ? floorDiv(a, b) : -floorDiv(-a, b);
    } else
      return Error{"unknown operator '" + t + "' in '" + str() + "'"};
    stack.push_back(r);
  }
  if (stack.size() != 1)
    return Error{"malformed expression '" + str() + "'"};
  return stack.back();
}

int Plan::numInputs() const {
  int n = 0;
  for (const BufferDecl &b : buffers)
    n += b.kind == BufferDecl::Kind::Input;
  return n;
}

int Plan::numOutputs() const {
  int n = 0;
  for (const BufferDecl &b : buffers)
    n += b.kind == BufferDecl::Kind::Output;
  return n;
}

static Expr parseExpr(const std::string &text) {
  Expr e;
  std::stringstream ss(text);
  std::string token;
  while (std::getline(ss, token, ','))
    e.tokens.push_back(token);
  return e;
}

const char *skim::rt::swizzleName(Swizzle s) {
  switch (s) {
  case Swizzle::None: return "none";
  case Swizzle::B32: return "32";
  case Swizzle::B64: return "64";
  case Swizzle::B128: return "128";
  }
  return "?";
}

/// Three positive integers (a block or cluster shape).
static Status parseDims(std::istringstream &ls, std::array<int64_t, 3> &dims) {
  for (int64_t &d : dims) {
    std::string word;
    if (!(ls >> word))
      return Error{"needs three sizes"};
    std::optional<int64_t> v = parseInt(word);
    if (!v || *v < 1 || *v > int64_t(UINT32_MAX))
      return Error{"size '" + word + "' is not a positive 32-bit integer"};
    d = *v;
  }
  return Status::ok();
}

/// One kernel argument: t<buffer>, e<expr> or m<buffer>:<box>:<swizzle>.
static Expected<KernelArg> parseArg(const std::string &a, const Plan &plan) {
  KernelArg arg;
  auto buffer = [&](const std::string &id) -> Expected<int> {
    std::optional<int64_t> v = parseInt(id);
    if (!v || *v < 0 || *v >= int64_t(plan.buffers.size()))
      return Error{"kernel argument names unknown buffer " + a};
    return int(*v);
  };
  if (a[0] == 't') {
    Expected<int> b = buffer(a.substr(1));
    if (!b)
      return Error{b.message()};
    arg.kind = KernelArg::Kind::Tensor;
    arg.buffer = *b;
    return arg;
  }
  if (a[0] == 'e') {
    arg.kind = KernelArg::Kind::Scalar;
    arg.scalar = parseExpr(a.substr(1));
    return arg;
  }
  if (a[0] != 'm')
    return Error{"unknown kernel argument '" + a + "'"};
  // m<buffer>:<box0>x<box1>...:<swizzle>
  size_t first = a.find(':');
  size_t second = first == std::string::npos ? first : a.find(':', first + 1);
  if (second == std::string::npos || a.find(':', second + 1) != std::string::npos)
    return Error{"malformed TMA descriptor argument '" + a +
                 "' (expected m<buffer>:<box>:<swizzle>)"};
  Expected<int> b = buffer(a.substr(1, first - 1));
  if (!b)
    return Error{b.message()};
  arg.kind = KernelArg::Kind::TensorMap;
  arg.buffer = *b;
  std::stringstream boxText(a.substr(first + 1, second - first - 1));
  std::string size;
  while (std::getline(boxText, size, 'x')) {
    std::optional<int64_t> v = parseInt(size);
    if (!v || *v < 1)
      return Error{"TMA descriptor argument '" + a + "' has box size '" + size +
                   "', expected a positive integer"};
    arg.box.push_back(*v);
  }
  size_t rank = plan.buffers[arg.buffer].dims.size();
  if (arg.box.size() != rank)
    return Error{"TMA descriptor argument '" + a + "' has a rank-" +
                 std::to_string(arg.box.size()) + " box over rank-" +
                 std::to_string(rank) + " buffer " + std::to_string(arg.buffer)};
  std::string swizzle = a.substr(second + 1);
  if (swizzle == "none") arg.swizzle = Swizzle::None;
  else if (swizzle == "32") arg.swizzle = Swizzle::B32;
  else if (swizzle == "64") arg.swizzle = Swizzle::B64;
  else if (swizzle == "128") arg.swizzle = Swizzle::B128;
  else
    return Error{"TMA descriptor argument '" + a + "' has swizzle '" + swizzle +
                 "' (expected none, 32, 64 or 128)"};
  return arg;
}

Expected<Plan> Plan::parse(const std::string &text) {
  Plan plan;
  std::istringstream in(text);
  std::string line;
  int lineNo = 0;
  auto bad = [&](const std::string &why) {
    return Error{"launch plan line " + std::to_string(lineNo) + ": " + why};
  };
  if (!std::getline(in, line) || line != "skim-plan 1")
    return Error{"launch plan: expected header 'skim-plan 1'"};
  ++lineNo;
  while (std::getline(in, line)) {
    ++lineNo;
    if (line.empty())
      continue;
    std::istringstream ls(line);
    std::string what;
    ls >> what;
    // A field this runtime does not know is an error, never silently dropped.
    auto trailing = [&]() {
      std::string extra;
      return static_cast<bool>(ls >> extra);
    };
    if (what == "buffer") {
      int id, index, rank;
      std::string kind, dtype;
      if (!(ls >> id >> kind >> index >> dtype >> rank) || id != int(plan.buffers.size()) || rank < 0 || rank > 8)
        return bad("malformed buffer");
      BufferDecl b;
      b.kind = kind == "input" ? BufferDecl::Kind::Input
               : kind == "output" ? BufferDecl::Kind::Output
                                  : BufferDecl::Kind::Workspace;
      if (kind != "input" && kind != "output" && kind != "workspace")
        return bad("unknown buffer kind '" + kind + "'");
      b.index = index;
      Expected<DType> t = parseDType(dtype);
      if (!t)
        return bad(t.message());
      b.dtype = *t;
      for (int d = 0; d < rank; ++d) {
        std::string e;
        if (!(ls >> e))
          return bad("buffer has fewer dims than its rank");
        b.dims.push_back(parseExpr(e));
      }
      std::string flag;
      if (ls >> flag) {
        if (flag != "zero")
          return bad("unexpected text after the buffer's dims ('" + flag + "')");
        if (b.kind != BufferDecl::Kind::Workspace)
          return bad("only workspace can be zeroed before a run");
        b.zeroed = true;
      }
      if (trailing())
        return bad("unexpected text after the buffer's zero flag");
      plan.buffers.push_back(b);
    } else if (what == "validate") {
      IndexCheck c;
      std::string e;
      if (!(ls >> c.buffer >> e) || c.buffer < 0 || c.buffer >= int(plan.buffers.size()))
        return bad("malformed validate entry");
      c.blocks = parseExpr(e);
      if (trailing())
        return bad("unexpected text after a validate entry");
      plan.indexChecks.push_back(c);
    } else if (what == "require") {
      Requirement r;
      std::string lhs, rhs;
      if (!(ls >> lhs >> rhs >> r.what) || trailing())
        return bad("malformed require entry");
      r.lhs = parseExpr(lhs);
      r.rhs = parseExpr(rhs);
      plan.requirements.push_back(r);
    } else if (what == "kernel") {
      KernelDecl k;
      std::string word;
      size_t n;
      if (!(ls >> k.name >> word) || word != "grid")
        return bad("malformed kernel");
      for (Expr &g : k.grid) {
        std::string e;
        if (!(ls >> e))
          return bad("kernel grid needs three expressions");
        g = parseExpr(e);
      }
      if (!(ls >> word >> n) || word != "args")
        return bad("kernel needs 'args <n>'");
      for (size_t i = 0; i < n; ++i) {
        std::string a;
        if (!(ls >> a) || a.size() < 2)
          return bad("kernel has fewer args than it declares");
        Expected<KernelArg> arg = parseArg(a, plan);
        if (!arg)
          return bad(arg.message());
        k.args.push_back(*arg);
      }
      // Optional GPU launch attributes, in this order: block, smem, cluster.
      int stage = 0;
      std::string attr;
      while (ls >> attr) {
        if (attr == "block" && stage < 1) {
          if (Status s = parseDims(ls, k.block); !s)
            return bad("kernel block " + s.message());
          stage = 1;
        } else if (attr == "smem" && stage < 2) {
          std::string e;
          if (!(ls >> e))
            return bad("kernel smem needs an expression");
          k.sharedBytes = parseExpr(e);
          stage = 2;
        } else if (attr == "cluster" && stage < 3) {
          if (Status s = parseDims(ls, k.cluster); !s)
            return bad("kernel cluster " + s.message());
          stage = 3;
        } else if (attr == "block" || attr == "smem" || attr == "cluster") {
          return bad("kernel attribute '" + attr +
                     "' repeated or out of order (block, smem, cluster)");
        } else {
          return bad(stage == 0 ? "kernel has more args than it declares"
                                : "unexpected text '" + attr +
                                      "' after the kernel's launch attributes");
        }
      }
      plan.kernels.push_back(k);
    } else if (what == "binary") {
      std::string section;
      if (!(ls >> section) || trailing())
        return bad("malformed binary entry (expected 'binary <section>')");
      if (!plan.binary.empty())
        return bad("a second binary entry ('" + section + "' after '" +
                   plan.binary + "')");
      plan.binary = section;
    } else {
      return bad("unknown entry '" + what + "'");
    }
  }
  return plan;
}
