// secret.cpp — the process environment as an EnvLookup (secret.hpp).
#include "llmfailover/secret.hpp"

#include <cstdlib>

namespace llmfailover {

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
}

}  // namespace llmfailover
