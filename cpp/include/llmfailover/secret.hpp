// secret.hpp — a credential that never prints, and the environment as an injected lookup.
//
// Below every layer that handles keys (providers sign with them, config resolves them, the router
// redacts them), so none of those needs the others' headers to hold one.
//
// Thread safety: Secret is a plain value; process_env()'s lookup reads std::getenv.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>

namespace llmfailover {

// A credential. Compares and copies like a string but never prints its value.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  const std::string& reveal() const noexcept { return value_; }
  bool empty() const noexcept { return value_.empty(); }
  std::string redacted() const { return value_.empty() ? "" : "***"; }
  bool operator==(const Secret&) const = default;

 private:
  std::string value_;
};

// Looks up an environment variable; nullopt when unset. Default: std::getenv.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

}  // namespace llmfailover
