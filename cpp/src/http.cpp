#include "llmfailover/http.hpp"

#include <algorithm>
#include <cctype>

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

}  // namespace llmfailover
