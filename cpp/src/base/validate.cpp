// validate.cpp — one check per kind of argument (validate.hpp).
#include "llmfailover/validate.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

namespace llmfailover {

namespace {

[[noreturn]] void refuse(std::string_view field, std::string_view what) {
  throw InvalidArgument(std::string(field) + std::string(what));
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

bool is_tchar(unsigned char c) {
  if (std::isalnum(c)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// "scheme://user:pass@host/..." without "user:pass@" (passwords never appear in messages).
std::string without_userinfo(std::string_view url) {
  auto start = url.find("://");
  if (start == std::string_view::npos) return std::string(url);
  start += 3;
  auto end = url.find_first_of("/?#", start);
  auto at = url.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  return std::string(url.substr(0, start)) + std::string(url.substr(at + 1));
}

}  // namespace

std::optional<std::chrono::milliseconds> checked_seconds(double seconds, std::string_view field, bool allow_zero) {
  if (std::isnan(seconds) || seconds < 0 || (!allow_zero && seconds == 0))
    refuse(field, std::string(allow_zero ? " must be >= 0 seconds" : " must be > 0 seconds") +
                      " (or None for no limit), got " + number(seconds));
  if (seconds >= kNoLimitSeconds) return std::nullopt;
  auto ms = std::chrono::milliseconds{std::llround(seconds * 1000.0)};
  return allow_zero ? ms : std::max(std::chrono::milliseconds{1}, ms);
}

std::chrono::milliseconds checked_seconds_or_no_limit(double seconds, std::string_view field, bool allow_zero) {
  return checked_seconds(seconds, field, allow_zero).value_or(kNoLimit);
}

unsigned checked_io_threads(long long n) {
  if (n < 1 || n > 64) refuse("io_threads", " must be between 1 and 64, got " + std::to_string(n));
  return static_cast<unsigned>(n);
}

std::size_t checked_max_connections(long long n) {
  if (n < 1) refuse("max_connections_per_origin", " must be at least 1, got " + std::to_string(n));
  return static_cast<std::size_t>(n);
}

int checked_max_retries(long long n) {
  if (n < 0 || n > kMaxRetries) refuse("max_retries", " must be between 0 and 1000000, got " + std::to_string(n));
  return static_cast<int>(n);
}

int checked_max_attempts(long long n) {
  if (n < 1 || n > 5) refuse("max_attempts", " must be between 1 and 5, got " + std::to_string(n));
  return static_cast<int>(n);
}

// A control character as Python's repr() shows it ('\r', '\x00'), as httpx's message does.
static std::string char_repr(unsigned char c) {
  switch (c) {
    case '\t': return "'\\t'";
    case '\n': return "'\\n'";
    case '\r': return "'\\r'";
    default: {
      char code[8];
      std::snprintf(code, sizeof code, "'\\x%02x'", c);
      return code;
    }
  }
}

void check_url_characters(std::string_view field, std::string_view url) {
  for (std::size_t i = 0; i < url.size(); ++i) {
    auto c = static_cast<unsigned char>(url[i]);
    if (c < 0x20 || c == 0x7f)  // httpx: "Invalid non-printable ASCII character in URL, '\r' at position 5."
      throw InvalidArgument("Invalid non-printable ASCII character in " + std::string(field) + ", " + char_repr(c) +
                            " at position " + std::to_string(i) + ".");
  }
}

void check_base_url(std::string_view field, std::string_view url) {
  check_url_characters(field, url);
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    refuse(field, " must start with http:// or https://, got '" + without_userinfo(url) + "'");
}

std::optional<std::string> header_problem(std::string_view name, std::string_view value) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return is_tchar(c); }))
    return "a header name is not an HTTP token (RFC 9110 §5.6.2)";
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
    return "the value of header '" + std::string(name) + "' contains CR, LF or NUL (RFC 9110 §5.5)";
  return std::nullopt;
}

void check_header(std::string_view field, std::string_view name, std::string_view value) {
  if (auto problem = header_problem(name, value)) refuse(field, ": " + *problem);
}

}  // namespace llmfailover
