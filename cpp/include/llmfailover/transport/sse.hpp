// sse.hpp — incremental parser for text/event-stream (WHATWG HTML "Server-sent events" 9.2.6).
//
// Feed bytes as they arrive, split anywhere (even inside a CRLF); each complete event is handed
// to the callback. Handles LF, CRLF and CR line ends, ':' comments, multi-line data (joined with
// '\n'), event/id/retry fields, a leading UTF-8 BOM, and a final event without a blank line
// (flushed by finish(), as streams cut before the terminator need). "[DONE]" is an ordinary data
// value here; the layers above decide what it means.
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

class SseParser {
 public:
  using Callback = std::function<void(SseEvent&&)>;
  explicit SseParser(Callback on_event) : on_event_(std::move(on_event)) {}

  void feed(std::string_view bytes);
  // End of stream: dispatches a pending event that lacked its blank line. Returns true when
  // something was flushed that way.
  bool finish();

  std::size_t events_dispatched() const noexcept { return dispatched_; }
  long retry_ms() const noexcept { return retry_ms_; }  // last "retry:" field, -1 if none

 private:
  void line(std::string_view line);
  void dispatch();

  Callback on_event_;
  std::string partial_;      // bytes of an unfinished line
  bool skip_lf_ = false;     // the previous chunk ended in CR: a leading LF belongs to it
  bool bom_checked_ = false;
  SseEvent current_;
  bool has_data_ = false;
  bool has_fields_ = false;
  std::size_t dispatched_ = 0;
  long retry_ms_ = -1;
};

}  // namespace llmfailover::transport
