// fuzz_config.cpp — the config loaders (config.hpp parse_config: llmfailover's JSON schema and
// LiteLLM configs, detected by `model_list`) on arbitrary text, then dump_config on what parsed
// and parse_config again on the dump. YAML is read by the Python layer (PyYAML), not here.
//
// Input: the document. Environment references (`os.environ/NAME`) resolve to a fixed value, or
// to nothing for names starting with "UNSET". Checks: no crash/UB/leak/stack overflow; a bad
// document is a ConfigError (any other exception is reported, as the Python edge maps only
// ConfigError to a clear error naming the path).
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <typeinfo>

#include <nlohmann/json.hpp>

#include "fuzz_input.hpp"
#include "llmfailover/config.hpp"

namespace {

std::optional<std::string> env(const std::string& name) {
  if (name.rfind("UNSET", 0) == 0) return std::nullopt;
  return "env-value";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto config = llmfailover::parse_config(text, env);
    std::string dumped = llmfailover::dump_config(config);
    try {
      (void)llmfailover::parse_config(dumped, env);
    } catch (const llmfailover::ConfigError&) {
      // A redacted dump may not validate (a "***" key); it must still fail cleanly.
    }
  } catch (const llmfailover::ConfigError&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "parse_config threw %s, not ConfigError: %s\n", typeid(e).name(), e.what());
    llmf_fuzz::fail("parse_config threw something other than ConfigError");
  }
  return 0;
}
