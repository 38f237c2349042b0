// call.hpp — one request in flight (a Router's RoutedCall, router.hpp: a routed call or a plain
// client's pass-through one), and the record of one of its attempts.
//
// Call order: consume channel() until a terminal event; read attempts() at any time; cancel() (or
// dropping the last copy of the handle the sender returned) stops it if it has not ended.
// Thread safety: every member is safe from any thread.
#pragma once

#include <string>
#include <vector>

#include "llmfailover/channel.hpp"
#include "llmfailover/error.hpp"

namespace llmfailover {

struct AttemptRecord {
  int attempt = 0;  // 1-based
  std::string url;
  int status = 0;  // 0 when no response head arrived
  Error error;     // transport failure, if any
  ErrorClass error_class = ErrorClass::none;
  double started_ms = 0;       // since the call started
  double elapsed_ms = 0;       // until the attempt ended (or the call, while it streams)
  double waited_ms = 0;        // backoff before this attempt
  double retry_after_ms = -1;  // what the upstream asked for, -1 when it did not
  bool operator==(const AttemptRecord&) const = default;
};

class Call {
 public:
  virtual ~Call() = default;
  virtual Channel& channel() = 0;
  virtual std::vector<AttemptRecord> attempts() const = 0;
  virtual int retries_taken() const = 0;
  void cancel() { channel().cancel(); }
};

}  // namespace llmfailover
