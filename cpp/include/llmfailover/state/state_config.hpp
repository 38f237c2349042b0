// state_config.hpp — the `state` object of the config (docs/config.md "state"): where the state
// shared by several processes lives (state/shared_state.hpp). A value; empty url = no sharing.
#pragma once

#include <string>

#include "llmfailover/clock.hpp"
#include "llmfailover/secret.hpp"
#include "llmfailover/state/redis.hpp"

namespace llmfailover::state {

struct StateConfig {
  Secret url;    // redis[s]://[[user]:password@]host[:port][/db] or unix:///path; empty = off (a Secret: AUTH)
  RedisTls tls;  // rediss:// only: ca_file, tls_skip_verify
  std::string prefix = "llmf:";  // isolates apps sharing one Redis
  Millis timeout{50};            // connect and each command
  Millis window{60000};          // the quota window (rpm / tpm are scaled to it)
  Millis poll{250};              // how often breakers are read
  double slice = 0.05;           // the share of a limit leased at a time
  bool enabled() const noexcept { return !url.empty(); }
  bool operator==(const StateConfig&) const = default;
};

}  // namespace llmfailover::state
