//===- Manifest.cpp - a search space compiled for another machine ---------===//

#include "autotune/Manifest.h"

#include <sstream>

namespace skim::tune {

using skim::rt::DType;
using skim::rt::Error;

namespace {

const char *fillName(InputSpec::Fill f) {
  switch (f) {
  case InputSpec::Fill::Signed:
    return "signed";
  case InputSpec::Fill::Unit:
    return "unit";
  case InputSpec::Fill::Selection:
    return "selection";
  case InputSpec::Fill::Counts:
    return "counts";
  }
  return "signed";
}

bool parseFill(const std::string &s, InputSpec::Fill &f) {
  for (InputSpec::Fill x :
       {InputSpec::Fill::Signed, InputSpec::Fill::Unit,
        InputSpec::Fill::Selection, InputSpec::Fill::Counts})
    if (s == fillName(x)) {
      f = x;
      return true;
    }
  return false;
}

/// The rest of a line after `words` words, without leading spaces.
std::string restAfter(const std::string &line, int words) {
  size_t pos = 0;
  for (int i = 0; i < words; ++i) {
    pos = line.find_first_not_of(' ', pos);
    pos = line.find(' ', pos);
    if (pos == std::string::npos)
      return "";
  }
  size_t start = line.find_first_not_of(' ', pos);
  return start == std::string::npos ? "" : line.substr(start);
}

} // namespace

std::string Manifest::serialize() const {
  std::ostringstream os;
  os.precision(9);
  os << "skim-tune-manifest 1\n"
     << "variant " << variant << "\n"
     << "target " << target << "\n"
     << "bucket " << bucket << "\n"
     << "signature " << signature << "\n"
     << "skim_version " << skimVersion << "\n";
  for (const InputSpec &in : inputs) {
    os << "input " << in.name << " " << skim::rt::dtypeName(in.dtype) << " "
       << fillName(in.fill) << " " << in.kvBlock << " " << in.qBlock << " "
       << in.tokens << " " << in.keys;
    for (int64_t d : in.shape)
      os << " " << d;
    os << "\n";
  }
  for (const ManifestCandidate &c : candidates) {
    if (!c.error.empty()) {
      std::string message = c.error;
      for (char &ch : message)
        if (ch == '\n')
          ch = ' ';
      os << "error " << c.stage << " " << c.index << " " << message << "\n";
    }
    os << "candidate " << c.stage << " " << c.index << " " << c.predictedMs
       << " " << (c.artifact.empty() ? "-" : c.artifact) << " "
       << (c.schedule.empty() ? "default" : c.schedule) << "\n";
  }
  return os.str();
}

skim::rt::Expected<Manifest> Manifest::parse(const std::string &text) {
  Manifest m;
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  std::map<std::string, std::string> errors; // "stage index" -> message
  auto bad = [&](const std::string &why) {
    return Error{"manifest line " + std::to_string(number) + ": " + why};
  };
  while (std::getline(lines, line)) {
    ++number;
    if (line.empty())
      continue;
    std::istringstream words(line);
    std::string kind;
    words >> kind;
    if (number == 1) {
      std::string version;
      words >> version;
      if (kind != "skim-tune-manifest" || version != "1")
        return bad("not a skim-tune-manifest 1 file");
      continue;
    }
    if (kind == "variant" || kind == "target" || kind == "bucket" ||
        kind == "signature" || kind == "skim_version") {
      std::string value = restAfter(line, 1);
      (kind == "variant"     ? m.variant
       : kind == "target"    ? m.target
       : kind == "bucket"    ? m.bucket
       : kind == "signature" ? m.signature
                             : m.skimVersion) = value;
    } else if (kind == "input") {
      InputSpec in;
      std::string dtype, fill;
      if (!(words >> in.name >> dtype >> fill >> in.kvBlock >> in.qBlock >>
            in.tokens >> in.keys))
        return bad("an input needs name, dtype, fill, kv_block, q_block, "
                   "tokens and keys");
      auto d = skim::rt::parseDType(dtype);
      if (!d)
        return bad(d.message());
      in.dtype = *d;
      if (!parseFill(fill, in.fill))
        return bad("unknown fill '" + fill + "'");
      for (int64_t dim; words >> dim;)
        in.shape.push_back(dim);
      if (in.shape.empty())
        return bad("input '" + in.name + "' has no dimensions");
      m.inputs.push_back(std::move(in));
    } else if (kind == "error") {
      std::string stage, index;
      words >> stage >> index;
      errors[stage + " " + index] = restAfter(line, 3);
    } else if (kind == "candidate") {
      ManifestCandidate c;
      if (!(words >> c.stage >> c.index >> c.predictedMs >> c.artifact))
        return bad("a candidate needs stage, index, predicted ms and artifact");
      if (c.artifact == "-")
        c.artifact.clear();
      c.schedule = restAfter(line, 5);
      if (c.schedule == "default")
        c.schedule.clear();
      auto e = errors.find(c.stage + " " + std::to_string(c.index));
      if (e != errors.end())
        c.error = e->second;
      m.candidates.push_back(std::move(c));
    } else {
      return bad("unknown line kind '" + kind + "'");
    }
  }
  if (number == 0)
    return Error{"the manifest is empty"};
  if (m.candidates.empty())
    return Error{"the manifest lists no candidates"};
  return m;
}

std::vector<StageCandidates> Manifest::stages() const {
  std::vector<StageCandidates> result;
  for (const ManifestCandidate &c : candidates) {
    if (result.empty() || result.back().stage != c.stage)
      result.push_back({c.stage, {}, {}});
    result.back().schedules.push_back(c.schedule);
    result.back().predictedMs.push_back(c.predictedMs);
  }
  return result;
}

} // namespace skim::tune
