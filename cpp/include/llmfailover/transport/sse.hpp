// sse.hpp — incremental parser for text/event-stream (WHATWG HTML "Server-sent events" 9.2.6).
//
// Feed bytes as they arrive, split anywhere (even inside a CRLF); each complete event is handed
// to the callback. Handles LF, CRLF and CR line ends, ':' comments, multi-line data (joined with
// '\n'), event/id/retry fields, a leading UTF-8 BOM, and a final event without a blank line
// (flushed by finish(), as streams cut before the terminator need). "[DONE]" is an ordinary data
// value here; the layers above decide what it means.
//
// Limits: a line longer than SseLimits::line_bytes, or an event whose data grows past
// SseLimits::event_bytes, puts the parser in a failed state: feed() returns false, error() says
// which limit was crossed, and nothing more is dispatched (memory stays bounded by the limits,
// whatever the peer sends).
//
// Cost: amortised O(bytes fed); one small allocation per event.
// Thread safety: none; one parser per stream.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace llmfailover::transport {

struct SseEvent {
  std::string event;  // "" when the stream gave none ("message" per the spec)
  std::string data;
  std::string id;
  bool operator==(const SseEvent&) const = default;
};

struct SseLimits {
  std::size_t line_bytes = 8 << 20;    // one line (field name + value), without its line end
  std::size_t event_bytes = 16 << 20;  // one event's data, all its data lines joined
};

class SseParser {
 public:
  using Callback = std::function<void(SseEvent&&)>;
  explicit SseParser(Callback on_event, SseLimits limits = {}) : on_event_(std::move(on_event)), limits_(limits) {}

  // False once a limit was crossed (now or before); the bytes are then ignored.
  bool feed(std::string_view bytes);
  // End of stream: dispatches a pending event that lacked its blank line. Returns true when
  // something was flushed that way.
  bool finish();

  std::size_t events_dispatched() const noexcept { return dispatched_; }
  long retry_ms() const noexcept { return retry_ms_; }  // last "retry:" field, -1 if none
  // Which limit was crossed ("" while none was); names the limit, never echoes the stream.
  const std::string& error() const noexcept { return error_; }

 private:
  void line(std::string_view line);
  void dispatch();
  bool fail(std::string why);

  Callback on_event_;
  SseLimits limits_;
  std::string error_;
  std::string partial_;   // bytes of an unfinished line
  bool skip_lf_ = false;  // the previous chunk ended in CR: a leading LF belongs to it
  bool bom_checked_ = false;
  SseEvent current_;
  bool has_data_ = false;
  std::size_t dispatched_ = 0;
  long retry_ms_ = -1;
};

}  // namespace llmfailover::transport
