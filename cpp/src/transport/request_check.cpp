#include "request_check.hpp"

#include <string>

#include "llmfailover/transport/url.hpp"

namespace llmfailover::transport::detail {

namespace {

// RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_"
// / "`" / "|" / "~" / DIGIT / ALPHA
bool is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

// RFC 9110 5.5: VCHAR, SP, HTAB and obs-text (0x80-0xFF); every other control is refused.
bool is_field_value(std::string_view s) {
  for (unsigned char c : s)
    if ((c < 0x20 && c != '\t') || c == 0x7F) return false;
  return true;
}

// A request target or host: printable ASCII or obs-text, no space (RFC 9112 3.2).
bool is_wire_safe(std::string_view s) {
  for (unsigned char c : s)
    if (c <= 0x20 || c == 0x7F) return false;
  return true;
}

Error refuse(std::string what) { return {Errc::bad_request, "invalid request: " + std::move(what), false}; }

Error check_timeouts(const Timeouts& t) {
  const std::pair<const char*, Millis> all[] = {
      {"connect", t.connect}, {"first_byte", t.first_byte}, {"idle", t.idle}, {"total", t.total}};
  for (auto& [name, value] : all)
    if (value.count() < 0) return refuse(std::string("timeouts.") + name + " is negative");
  return {};
}

}  // namespace

Error check_request(const HttpRequest& request, const ClientOptions& options) {
  if (!is_token(request.method)) return refuse("the method is not an HTTP token (RFC 9110 section 9.1)");
  // The raw text first: parse_url strips a fragment, and a control byte anywhere is a bug.
  if (!is_wire_safe(request.url)) return refuse("the URL contains a space or a control character (CR, LF, NUL, ...)");
  auto url = parse_url(request.url);
  if (!url) return {Errc::bad_url, "not an absolute http(s) URL", false};
  if (!is_wire_safe(url->host) || url->host.find_first_of("/\\?#@") != std::string::npos)
    return refuse("the URL's host contains a forbidden character");
  if (!is_field_value(options.user_agent)) return refuse("the client's user agent contains a control character");
  std::size_t head =
      request.method.size() + url->target.size() + url->host_header().size() + options.user_agent.size() + 64;
  for (const auto& h : request.headers) {
    if (!is_token(h.name)) return refuse("a header name is not an HTTP token (RFC 9110 section 5.1)");
    if (!is_field_value(h.value))
      return refuse("the value of header '" + h.name + "' contains CR, LF, NUL or another control character");
    if (h.value.size() > kMaxFieldValueBytes)
      return refuse("the value of header '" + h.name + "' is " + std::to_string(h.value.size()) +
                    " bytes, over the limit of " + std::to_string(kMaxFieldValueBytes));
    head += h.name.size() + h.value.size() + 4;
  }
  if (head > options.max_header_bytes)
    return refuse("the request head is about " + std::to_string(head) + " bytes, over max_header_bytes (" +
                  std::to_string(options.max_header_bytes) + ")");
  return check_timeouts(request.timeouts);
}

}  // namespace llmfailover::transport::detail
