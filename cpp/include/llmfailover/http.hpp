// http.hpp — the values that cross layers: headers, requests, timeouts and response events.
//
// A response travels as a sequence of Events:  head, then body* | sse*, then exactly one of
// end | error. A non-streaming response is delivered whole (one body event) unless the request
// asked for stream_body (then one body event per read); a response whose Content-Type is
// text/event-stream is parsed incrementally into sse events as bytes arrive.
//
// Thread safety: plain values.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmfailover/clock.hpp"
#include "llmfailover/error.hpp"

namespace llmfailover {

struct Header {
  std::string name;
  std::string value;
  bool operator==(const Header&) const = default;
};
using Headers = std::vector<Header>;

// Case-insensitive lookup; nullptr when absent.
const std::string* find_header(const Headers& headers, std::string_view name) noexcept;
bool iequals(std::string_view a, std::string_view b) noexcept;

// Per-attempt time limits. Zero means "no limit" for first_byte, idle and total.
struct Timeouts {
  Millis connect{5000};  // DNS + TCP + TLS handshake
  Millis first_byte{0};  // request written -> response headers
  Millis idle{0};        // between two reads of the body (stream chunks)
  Millis total{0};       // the whole exchange
  bool operator==(const Timeouts&) const = default;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute http:// or https:// URL including the query
  Headers headers;  // Host, Content-Length and Connection are set by the client
  std::string body;
  Timeouts timeouts;
  std::optional<Clock::time_point> deadline;  // overall deadline for the caller; tighter of this and timeouts.total
  bool stream_body = false;                   // deliver a non-SSE body in pieces as it arrives (binary event streams)
  // The HTTP proxy for this request: nullopt = the client's ClientOptions::proxy (with its
  // NO_PROXY list); "" = direct; else an http:// proxy URL (transport/proxy.hpp).
  std::optional<std::string> proxy;
  bool operator==(const HttpRequest&) const = default;
};

struct Event {
  enum class Kind : std::uint8_t { head, body, sse, end, error };
  Kind kind = Kind::end;
  int status = 0;     // head
  Headers headers;    // head
  std::string event;  // sse: the event field ("" when absent)
  std::string data;   // body bytes, or sse data (multi-line data joined with '\n')
  std::string id;     // sse: the id field
  Error error;        // error
  // head / error: the request went out twice — a pooled keep-alive connection closed without
  // answering, so the transport re-sent it once on a fresh connection (the upstream may have
  // seen both; routers show it in the attempt log).
  bool replayed = false;

  static Event head(int status, Headers headers);
  static Event body(std::string bytes);
  static Event sse(std::string event, std::string data, std::string id = {});
  static Event end();
  static Event failure(Error error);
  bool terminal() const noexcept { return kind == Kind::end || kind == Kind::error; }
};

std::string_view to_string(Event::Kind kind) noexcept;

// Backpressure between the io thread that produces a stream's events and its consumer. After
// delivering the events of one read, the producer calls pause_if_behind(); when it returns true
// the producer stops reading until `resume` runs. Paused time counts against no timer: only
// upstream silence is a timeout, a slow consumer is not.
//
// Wake-ups (issue 14): the producer brackets the events of one read with hold_wakeups() and
// release_wakeups() (never across a wait: both in the same synchronous stretch), so a consumer is
// woken once per read instead of once per event; a terminal event still wakes it at once. Once
// per response, after the first read that delivered events of a streamed body (SSE events or body
// pieces, never a whole body), the producer calls first_events_delivered(): a consumer waiting
// for them on the producer's vCPU then runs before the producer parses the rest of a burst, so
// the first chunk does not wait for the last. All three default to nothing.
// Thread safety: every member on the producer's thread; `resume` may run on any thread, at most
// once, and must be cheap (it only posts to the producer).
class FlowControl {
 public:
  virtual ~FlowControl() = default;
  virtual bool pause_if_behind(std::function<void()> resume) = 0;
  virtual void hold_wakeups() {}
  virtual void release_wakeups() {}
  virtual void first_events_delivered() {}
};

// Saturating deadline arithmetic: `now + window`, or time_point::max() when that would overflow
// (a "no limit" timeout such as 1e17 s). A negative window counts as zero.
Clock::time_point deadline_after(Millis window, Clock::time_point now = Clock::now()) noexcept;
// Seconds (a caller's float) to Millis without undefined behaviour: +inf and values past the
// range saturate to Millis::max() (no limit); NaN and negative values give nullopt (refuse them).
std::optional<Millis> millis_from_seconds(double seconds) noexcept;

}  // namespace llmfailover
