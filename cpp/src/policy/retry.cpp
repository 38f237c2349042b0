#include "llmfailover/policy/retry.hpp"
#include "llmfailover/saturate.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

namespace llmfailover::policy {

bool openai_should_retry(int status, const Headers& headers) noexcept {
  if (const auto* v = find_header(headers, "x-should-retry")) {
    if (*v == "true") return true;
    if (*v == "false") return false;
  }
  return status == 408 || status == 409 || status == 429 || status >= 500;
}

bool openai_should_retry(const Error& error) noexcept {
  switch (error.code) {
    case Errc::ok:
    case Errc::cancelled:
    case Errc::deadline_exceeded:
    case Errc::bad_url:
    case Errc::bad_request:
    case Errc::body_too_large: return false;
    default: return true;
  }
}

namespace {

std::optional<double> parse_double(std::string_view text) {
  std::string s(text);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace

std::optional<WallClock::time_point> parse_http_date(std::string_view text) {
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  static constexpr std::array<std::string_view, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (text.size() != 29 || text.substr(3, 2) != ", " || text.substr(25) != " GMT") return std::nullopt;
  auto num = [&](std::size_t pos, std::size_t len) -> int {
    int v = -1;
    auto [p, ec] = std::from_chars(text.data() + pos, text.data() + pos + len, v);
    return ec == std::errc{} && p == text.data() + pos + len ? v : -1;
  };
  int day = num(5, 2), year = num(12, 4), hh = num(17, 2), mm = num(20, 2), ss = num(23, 2);
  auto month_it = std::find(months.begin(), months.end(), text.substr(8, 3));
  if (day < 1 || year < 1970 || hh < 0 || mm < 0 || ss < 0 || month_it == months.end()) return std::nullopt;
  using namespace std::chrono;
  auto ymd = year_month_day{std::chrono::year{year}, std::chrono::month{unsigned(month_it - months.begin() + 1)},
                            std::chrono::day{unsigned(day)}};
  if (!ymd.ok()) return std::nullopt;
  return WallClock::time_point{sys_days{ymd}} + hours{hh} + minutes{mm} + seconds{ss};
}

// A server's number of milliseconds as a duration (NaN is no hint; a huge one saturates).
std::optional<Millis> hint_millis(double ms) {
  if (std::isnan(ms)) return std::nullopt;
  return saturate_millis(ms);
}

std::optional<Millis> parse_retry_after(const Headers& headers, WallClock::time_point now) {
  if (const auto* ms = find_header(headers, "retry-after-ms")) {
    if (auto v = parse_double(*ms)) return hint_millis(*v);
  }
  if (const auto* ra = find_header(headers, "retry-after")) {
    if (auto v = parse_double(*ra)) return hint_millis(*v * 1000.0);
    if (auto when = parse_http_date(*ra)) return std::chrono::duration_cast<Millis>(*when - now);
  }
  return std::nullopt;
}

Millis openai_retry_delay(int retries_taken, const Headers* headers, double uniform01, WallClock::time_point now) {
  return openai_backoff(retries_taken, headers ? parse_retry_after(*headers, now) : std::nullopt, uniform01);
}

// openai-python src/openai/_base_client.py, _calculate_retry_timeout.
Millis openai_backoff(int retries_taken, std::optional<Millis> asked, double uniform01) noexcept {
  if (asked && asked->count() > 0 && *asked <= Millis{60'000}) return *asked;
  int n = std::clamp(retries_taken, 0, 1000);
  double seconds = std::min(0.5 * std::pow(2.0, n), 8.0) * (1.0 - 0.25 * uniform01);
  return Millis{static_cast<long long>(seconds * 1000.0)};
}

}  // namespace llmfailover::policy
