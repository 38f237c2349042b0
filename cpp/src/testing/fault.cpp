// fault.cpp — Fault factories and printable forms.
#include <cmath>
#include <cstdio>
#include <ostream>
#include <sstream>

#include "llmfailover/testing/fake_provider.hpp"

namespace llmfailover::testing {

namespace {

std::string format_seconds(double seconds) {
  char buf[32];
  if (std::floor(seconds) == seconds && seconds >= 0 && seconds < 1e9) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(seconds));
  } else {
    std::snprintf(buf, sizeof buf, "%g", seconds);
  }
  return buf;
}

Fault with_status(int status, std::string code = {}) {
  Fault f;
  f.status = status;
  f.error_code = std::move(code);
  return f;
}

}  // namespace

Fault Fault::ok() { return Fault{}; }

Fault Fault::http_status(int status, Headers headers, std::string body) {
  Fault f;
  f.status = status;
  f.headers = std::move(headers);
  f.body = std::move(body);
  return f;
}

Fault Fault::rate_limited(std::optional<double> retry_after_s, std::optional<Millis> retry_after_ms) {
  Fault f = with_status(429, "rate_limit_exceeded");
  if (retry_after_s) f.headers.push_back({"Retry-After", format_seconds(*retry_after_s)});
  if (retry_after_ms) f.headers.push_back({"retry-after-ms", std::to_string(retry_after_ms->count())});
  return f;
}

Fault Fault::server_error(int status) { return with_status(status); }
Fault Fault::unavailable() { return with_status(503); }
Fault Fault::overloaded() { return with_status(529, "overloaded_error"); }
Fault Fault::unauthorized() { return with_status(401, "invalid_api_key"); }
Fault Fault::context_length_exceeded() { return with_status(400, "context_length_exceeded"); }
Fault Fault::content_policy() { return with_status(400, "content_policy_violation"); }

Fault Fault::reset_connection() {
  Fault f;
  f.action = Action::reset;
  return f;
}

Fault Fault::close_connection() {
  Fault f;
  f.action = Action::close;
  return f;
}

Fault Fault::no_response() {
  Fault f;
  f.action = Action::no_response;
  return f;
}

Fault Fault::slow_headers(Millis delay) {
  Fault f;
  f.delay_before_headers = delay;
  return f;
}

Fault Fault::slow_first_token(Millis delay) {
  Fault f;
  f.first_token_delay = delay;
  return f;
}

Fault Fault::cut(int after_chunks) {
  Fault f;
  f.cut_after = after_chunks;
  return f;
}

Fault Fault::stall(int after_chunks) {
  Fault f;
  f.stall_after = after_chunks;
  return f;
}

Fault Fault::malformed(int at_chunk) {
  Fault f;
  f.malformed_at = at_chunk;
  return f;
}

Fault Fault::error_event(int at_chunk) {
  Fault f;
  f.error_event_at = at_chunk;
  return f;
}

Fault Fault::no_done() {
  Fault f;
  f.omit_done = true;
  return f;
}

bool Fault::healthy() const {
  Fault plain;
  plain.content = content;
  return *this == plain;
}

std::string_view to_string(Fault::Action action) noexcept {
  switch (action) {
    case Fault::Action::none: return "none";
    case Fault::Action::no_response: return "no_response";
    case Fault::Action::reset: return "reset";
    case Fault::Action::close: return "close";
  }
  return "?";
}

// Prints only the fields that differ from the healthy default, so scripts read well in test logs.
std::string to_string(const Fault& f) {
  std::ostringstream os;
  const char* sep = "";
  auto field = [&](const char* name, const auto& value) {
    os << sep << name << '=' << value;
    sep = ", ";
  };
  os << "Fault{";
  if (f.status != 200) field("status", f.status);
  if (!f.headers.empty()) {
    std::string hs;
    for (const auto& h : f.headers) hs += (hs.empty() ? "" : ", ") + h.name + ": " + h.value;
    field("headers", "[" + hs + "]");
  }
  if (!f.body.empty()) field("body", "<" + std::to_string(f.body.size()) + " bytes>");
  if (!f.error_code.empty()) field("error_code", f.error_code);
  if (!f.error_message.empty()) field("error_message", f.error_message);
  if (f.delay_before_headers.count()) field("delay_before_headers_ms", f.delay_before_headers.count());
  if (f.action != Fault::Action::none) field("action", to_string(f.action));
  if (f.first_token_delay.count()) field("first_token_delay_ms", f.first_token_delay.count());
  if (f.chunk_delay.count()) field("chunk_delay_ms", f.chunk_delay.count());
  if (f.stall_after >= 0) field("stall_after", f.stall_after);
  if (f.cut_after >= 0) field("cut_after", f.cut_after);
  if (f.malformed_at >= 0) field("malformed_at", f.malformed_at);
  if (f.error_event_at >= 0) field("error_event_at", f.error_event_at);
  if (f.omit_done) field("omit_done", "true");
  if (!f.chunked) field("chunked", "false");
  if (f.content) field("content", '"' + *f.content + '"');
  os << '}';
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Fault& fault) { return os << to_string(fault); }

std::ostream& operator<<(std::ostream& os, const AttemptRecord& r) {
  return os << "AttemptRecord{t=" << r.time << ", model=" << r.model << ", attempt=" << r.attempt << ", " << r.method
            << ' ' << r.target << ", status=" << r.status << ", outcome=" << r.outcome << '}';
}

}  // namespace llmfailover::testing
