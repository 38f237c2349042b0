#include "llmfailover/policy/backoff.hpp"
#include "llmfailover/saturate.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

namespace llmfailover::policy {

namespace {

using std::chrono::duration_cast;

Millis floor_ms(double ms) { return saturate_millis(std::floor(std::max(0.0, ms))); }

std::optional<double> parse_number(std::string_view text) {
  std::string s(text);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// Nanoseconds per Go duration unit; the longer spelling is tried first ("ms" before "m").
std::optional<double> go_unit(std::string_view& rest) {
  static constexpr std::pair<std::string_view, double> units[] = {{"ns", 1.0},        {"us", 1e3},  {"\xC2\xB5s", 1e3},
                                                                  {"\xCE\xBCs", 1e3}, {"ms", 1e6},  {"s", 1e9},
                                                                  {"m", 60e9},        {"h", 3600e9}};
  for (const auto& [name, ns] : units) {
    if (rest.substr(0, name.size()) == name) {
      rest.remove_prefix(name.size());
      return ns;
    }
  }
  return std::nullopt;
}

// One "<digits>[.<digits>]" of a Go duration; Go also accepts ".5" and "1.".
std::optional<double> go_number(std::string_view& rest) {
  std::size_t n = 0;
  bool digits = false;
  while (n < rest.size() && (std::isdigit(static_cast<unsigned char>(rest[n])) || rest[n] == '.')) {
    digits = digits || rest[n] != '.';
    ++n;
  }
  if (!digits || std::count(rest.begin(), rest.begin() + n, '.') > 1) return std::nullopt;
  auto v = parse_number(rest.substr(0, n));
  rest.remove_prefix(n);
  return v;
}

int two_digits(std::string_view s, std::size_t pos) {
  int v = -1;
  auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + 2, v);
  return ec == std::errc{} && p == s.data() + pos + 2 ? v : -1;
}

// The "Z" or "+hh:mm" / "-hh:mm" suffix as an offset east of UTC; nullopt when malformed.
std::optional<std::chrono::minutes> rfc3339_offset(std::string_view zone) {
  if (zone == "Z" || zone == "z") return std::chrono::minutes{0};
  if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':') return std::nullopt;
  int hh = two_digits(zone, 1), mm = two_digits(zone, 4);
  if (hh < 0 || hh > 23 || mm < 0 || mm > 59) return std::nullopt;
  auto off = std::chrono::minutes{hh * 60 + mm};
  return zone[0] == '-' ? -off : off;
}

// A reset header and the header saying how much of that limit is left.
struct ResetHeader {
  std::string_view reset;
  std::string_view remaining;
};

// The hint of one provider family: the longest exhausted reset, else the earliest reset.
template <class Parse>
std::optional<Millis> family_hint(const Headers& headers, std::initializer_list<ResetHeader> names, Parse parse) {
  std::optional<Millis> earliest, exhausted;
  for (const auto& h : names) {
    const auto* value = find_header(headers, h.reset);
    if (!value) continue;
    auto wait = parse(*value);
    if (!wait) continue;
    earliest = earliest ? std::min(*earliest, *wait) : *wait;
    const auto* left = find_header(headers, h.remaining);
    if (left && *left == "0") exhausted = exhausted ? std::max(*exhausted, *wait) : *wait;
  }
  return exhausted ? exhausted : earliest;
}

std::optional<Millis> raw_hint(const Headers& headers, WallClock::time_point now) {
  if (auto v = parse_retry_after(headers, now)) return v;
  if (auto v = family_hint(headers,
                           {{"x-ratelimit-reset-requests", "x-ratelimit-remaining-requests"},
                            {"x-ratelimit-reset-tokens", "x-ratelimit-remaining-tokens"}},
                           parse_go_duration))
    return v;
  auto until = [now](std::string_view text) -> std::optional<Millis> {
    auto when = parse_rfc3339(text);
    if (!when) return std::nullopt;
    return duration_cast<Millis>(*when - now);
  };
  if (auto v = family_hint(headers,
                           {{"anthropic-ratelimit-requests-reset", "anthropic-ratelimit-requests-remaining"},
                            {"anthropic-ratelimit-tokens-reset", "anthropic-ratelimit-tokens-remaining"},
                            {"anthropic-ratelimit-input-tokens-reset", "anthropic-ratelimit-input-tokens-remaining"},
                            {"anthropic-ratelimit-output-tokens-reset", "anthropic-ratelimit-output-tokens-remaining"}},
                           until))
    return v;
  if (const auto* reset = find_header(headers, "x-ratelimit-reset")) {
    if (auto secs = parse_number(*reset)) {
      if (*secs < 1e9) return floor_ms(*secs * 1000.0);  // a delta, not an epoch time
      auto when = WallClock::time_point{duration_cast<WallClock::duration>(std::chrono::duration<double>(*secs))};
      return duration_cast<Millis>(when - now);
    }
  }
  return std::nullopt;
}

}  // namespace

Millis full_jitter(const RetryPolicyConfig& cfg, int retry, double u) {
  int n = std::clamp(retry, 1, 64);
  double expo = std::min(static_cast<double>(cfg.backoff_cap.count()),
                         static_cast<double>(cfg.backoff_base.count()) * std::ldexp(1.0, n - 1));
  return floor_ms(u * expo);
}

Millis pushback_wait(Millis hint, double u) {
  double i = static_cast<double>(std::max(hint, Millis{0}).count());
  return floor_ms(i + u * 0.5 * i);
}

std::optional<Millis> retry_hint(const Headers& headers, WallClock::time_point now, Millis max_retry_after) {
  auto hint = raw_hint(headers, now);
  if (!hint) return std::nullopt;
  if (*hint < Millis{0}) hint = Millis{0};  // a reset time already past: go now
  if (*hint > max_retry_after) return std::nullopt;
  return hint;
}

std::optional<Millis> parse_go_duration(std::string_view text) {
  if (text == "0") return Millis{0};
  if (text.empty()) return std::nullopt;
  double ns = 0;
  while (!text.empty()) {
    auto v = go_number(text);
    if (!v) return std::nullopt;
    auto unit = go_unit(text);
    if (!unit) return std::nullopt;
    ns += *v * *unit;
  }
  if (!std::isfinite(ns)) return std::nullopt;
  // Round up, with a little slack so "0.001s" (1e6 ns, inexact in binary) stays 1 ms.
  return saturate_millis(std::ceil(ns / 1e6 - 1e-9));
}

std::optional<WallClock::time_point> parse_rfc3339(std::string_view text) {
  // 2024-05-01T12:00:30[.frac](Z|+hh:mm)
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[13] != ':' || text[16] != ':') return std::nullopt;
  if (text[10] != 'T' && text[10] != 't' && text[10] != ' ') return std::nullopt;
  int year = -1;
  auto [p, ec] = std::from_chars(text.data(), text.data() + 4, year);
  if (ec != std::errc{} || p != text.data() + 4) return std::nullopt;
  int month = two_digits(text, 5), day = two_digits(text, 8);
  int hh = two_digits(text, 11), mm = two_digits(text, 14), ss = two_digits(text, 17);
  if (month < 1 || day < 1 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60) return std::nullopt;
  using namespace std::chrono;
  year_month_day ymd{std::chrono::year{year}, std::chrono::month{unsigned(month)}, std::chrono::day{unsigned(day)}};
  if (!ymd.ok()) return std::nullopt;
  std::size_t pos = 19;
  double frac = 0;
  if (text[pos] == '.') {
    std::size_t end = pos + 1;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    if (end == pos + 1) return std::nullopt;
    frac = *parse_number("0" + std::string(text.substr(pos, end - pos)));
    pos = end;
  }
  auto offset = rfc3339_offset(text.substr(pos));
  if (!offset) return std::nullopt;
  auto t = WallClock::time_point{sys_days{ymd}} + hours{hh} + minutes{mm} + seconds{ss} - *offset;
  return t + duration_cast<WallClock::duration>(duration<double>(frac));
}

}  // namespace llmfailover::policy
