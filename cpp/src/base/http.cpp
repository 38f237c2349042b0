#include "llmfailover/http.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace llmfailover {

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

const std::string* find_header(const Headers& headers, std::string_view name) noexcept {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

Event Event::head(int status, Headers headers) {
  Event e;
  e.kind = Kind::head;
  e.status = status;
  e.headers = std::move(headers);
  return e;
}

Event Event::body(std::string bytes) {
  Event e;
  e.kind = Kind::body;
  e.data = std::move(bytes);
  return e;
}

Event Event::sse(std::string event, std::string data, std::string id) {
  Event e;
  e.kind = Kind::sse;
  e.event = std::move(event);
  e.data = std::move(data);
  e.id = std::move(id);
  return e;
}

Event Event::end() { return Event{}; }

Event Event::failure(Error error) {
  Event e;
  e.kind = Kind::error;
  e.error = std::move(error);
  return e;
}

std::string_view to_string(Event::Kind kind) noexcept {
  switch (kind) {
    case Event::Kind::head: return "head";
    case Event::Kind::body: return "body";
    case Event::Kind::sse: return "sse";
    case Event::Kind::end: return "end";
    case Event::Kind::error: return "error";
  }
  return "unknown";
}

Clock::time_point deadline_after(Millis window, Clock::time_point now) noexcept {
  if (window.count() <= 0) return now;
  // Compare in milliseconds, where neither side can overflow.
  auto room = std::chrono::duration_cast<Millis>(Clock::time_point::max() - now);
  if (window >= room) return Clock::time_point::max();
  return now + std::chrono::duration_cast<Clock::duration>(window);
}

std::optional<Millis> millis_from_seconds(double seconds) noexcept {
  if (std::isnan(seconds) || seconds < 0) return std::nullopt;
  double ms = seconds * 1000.0;
  // Millis::max() as a double rounds up to 2^63, itself out of range: compare with >=.
  if (ms >= static_cast<double>(Millis::max().count())) return Millis::max();
  return Millis{static_cast<Millis::rep>(std::llround(ms))};
}

}  // namespace llmfailover
