//===- Npy.cpp - NumPy .npy files -----------------------------------------===//

#include "skim/runtime/Npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

using namespace skim::rt;

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  return n;
}

static std::string field(const std::string &header, const std::string &key) {
  size_t at = header.find("'" + key + "'");
  if (at == std::string::npos)
    return "";
  size_t colon = header.find(':', at);
  size_t start = header.find_first_not_of(" ", colon + 1);
  if (header[start] == '(') {
    size_t end = header.find(')', start);
    return header.substr(start, end - start + 1);
  }
  size_t end = header.find_first_of(",}", start);
  return header.substr(start, end - start);
}

Expected<NpyArray> NpyArray::read(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Error{"cannot open '" + path + "'"};
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    return Error{path + ": not a .npy file"};
  uint32_t headerLen = 0;
  if (magic[6] == 1) {
    uint16_t len16;
    in.read(reinterpret_cast<char *>(&len16), 2);
    headerLen = len16;
  } else {
    in.read(reinterpret_cast<char *>(&headerLen), 4);
  }
  std::string header(headerLen, '\0');
  if (!in.read(header.data(), headerLen))
    return Error{path + ": truncated .npy header"};
  NpyArray a;
  std::string descr = field(header, "descr");
  if (descr.size() >= 2)
    descr = descr.substr(1, descr.size() - 2);
  if (field(header, "fortran_order") != "False")
    return Error{path + ": Fortran-ordered arrays are not supported"};
  std::string shape = field(header, "shape");
  for (size_t i = 1; i < shape.size();) {
    size_t end = shape.find_first_of(",)", i);
    std::string num = shape.substr(i, end - i);
    if (num.find_first_not_of(" ") != std::string::npos)
      a.shape.push_back(std::stoll(num));
    i = end + 1;
  }
  size_t elt = descr == "<f4" || descr == "<i4" ? 4 : descr == "<f8" ? 8 : 0;
  if (!elt)
    return Error{path + ": element type '" + descr +
                 "' is not supported (use float32, float64 or int32)"};
  a.bytes.resize(size_t(a.numel()) * elt);
  if (!in.read(a.bytes.data(), static_cast<std::streamsize>(a.bytes.size())))
    return Error{path + ": file is shorter than its shape says"};
  if (descr == "<f8") { // narrow to f32
    std::vector<char> f32(size_t(a.numel()) * 4);
    for (int64_t i = 0; i < a.numel(); ++i) {
      double d;
      std::memcpy(&d, a.bytes.data() + i * 8, 8);
      float f = static_cast<float>(d);
      std::memcpy(f32.data() + i * 4, &f, 4);
    }
    a.bytes.swap(f32);
    descr = "<f4";
  }
  a.descr = descr;
  return a;
}

Status NpyArray::write(const std::string &path) const {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i)
    header += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? "," : "");
  header += "), }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    return Error{"cannot open '" + path + "' for writing"};
  out.write("\x93NUMPY\x01\x00", 8);
  uint16_t len = static_cast<uint16_t>(header.size());
  out.write(reinterpret_cast<const char *>(&len), 2);
  out << header;
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out)
    return Error{"cannot write '" + path + "'"};
  return Status::ok();
}

NpyArray NpyArray::fromFloats(const std::vector<int64_t> &shape, const float *data) {
  NpyArray a;
  a.shape = shape;
  a.descr = "<f4";
  a.bytes.resize(size_t(a.numel()) * 4);
  std::memcpy(a.bytes.data(), data, a.bytes.size());
  return a;
}

NpyArray NpyArray::fromInts(const std::vector<int64_t> &shape, const int32_t *data) {
  NpyArray a = fromFloats(shape, reinterpret_cast<const float *>(data));
  a.descr = "<i4";
  return a;
}
