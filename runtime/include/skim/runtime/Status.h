//===- Status.h - errors as values for the runtime --------------*- C++ -*-===//
//
// The runtime links no LLVM, so it has its own tiny Expected: a value or a
// one-line message that names what went wrong. Nothing in the runtime aborts
// on bad input.
//
//===----------------------------------------------------------------------===//

#ifndef SKIM_RUNTIME_STATUS_H
#define SKIM_RUNTIME_STATUS_H

#include <optional>
#include <string>
#include <utility>

namespace skim::rt {

struct Error {
  std::string message;
};

template <typename T> class Expected {
public:
  Expected(T value) : value(std::move(value)) {}
  Expected(Error error) : error(std::move(error.message)) {}
  explicit operator bool() const { return value.has_value(); }
  T &operator*() { return *value; }
  const T &operator*() const { return *value; }
  T *operator->() { return &*value; }
  const T *operator->() const { return &*value; }
  const std::string &message() const { return error; }

private:
  std::optional<T> value;
  std::string error;
};

/// Success, or an error message.
class Status {
public:
  Status() = default;
  Status(Error e) : error(std::move(e.message)), failed(true) {}
  static Status ok() { return Status(); }
  explicit operator bool() const { return !failed; }
  const std::string &message() const { return error; }

private:
  std::string error;
  bool failed = false;
};

} // namespace skim::rt

#endif // SKIM_RUNTIME_STATUS_H
