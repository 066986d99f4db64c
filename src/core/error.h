// core/error.h: the two exceptions that stop a run, and the per-item Result.
#pragma once
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace medpipe {

// Exit codes of the contract.
enum class ExitCode : int { kDone = 0, kFailed = 1, kUsage = 2 };

// The request cannot run (bad option, missing input, labels that do not match): exit 2.
// The message names the file or key, what is wrong and what to do.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The run failed part way (I/O error, numerical failure): exit 1; it can be resumed.
class RunError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An expected per-item outcome: a value, or the reason the item cannot be used.
template <class T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose
  static Result failure(std::string reason) {
    Result r;
    r.error_ = std::move(reason);
    return r;
  }
  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T&& take() { return std::move(*value_); }
  const std::string& error() const { return error_; }

 private:
  Result() = default;
  std::optional<T> value_;
  std::string error_;
};

}  // namespace medpipe
