#include "llmfailover/policy/quota.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>

#include "llmfailover/policy/backoff.hpp"

namespace llmfailover::policy {

namespace {

using std::chrono::duration_cast;
using Kind = RateLimitReading::Kind;

std::optional<std::int64_t> parse_int(const std::string* text) {
  if (!text) return std::nullopt;
  std::string_view s(*text);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> parse_double(const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

template <class ParseReset>
void read_limit(const Headers& h, Kind kind, const std::string& limit, const std::string& remaining,
                const std::string& reset, ParseReset parse_reset, std::vector<RateLimitReading>& out) {
  auto left = parse_int(find_header(h, remaining));
  if (!left) return;
  RateLimitReading r;
  r.kind = kind;
  r.remaining = *left;
  r.limit = parse_int(find_header(h, limit));
  if (const auto* v = find_header(h, reset)) r.reset = parse_reset(*v);
  if (r.reset && *r.reset < Millis{0}) r.reset = Millis{0};
  out.push_back(r);
}

}  // namespace

TokenEstimate estimate_tokens(std::size_t message_chars, std::optional<int> max_tokens,
                              int default_output_tokens) noexcept {
  TokenEstimate e;
  e.input = static_cast<std::int64_t>((message_chars + 3) / 4);
  e.output = max_tokens && *max_tokens > 0 ? *max_tokens : std::max(0, default_output_tokens);
  return e;
}

// ---- RateWindow ----

RateWindow::RateWindow(QuotaLimits limits, const TimeSource& clock, Millis window)
    : limits_(limits), clock_(clock), window_(std::max(window, Millis{1})) {}

void RateWindow::expire_locked(Clock::time_point now) {
  while (!entries_.empty() && entries_.front().at + window_ <= now) {
    requests_ -= entries_.front().requests;
    tokens_ -= entries_.front().tokens;
    entries_.pop_front();
    ++front_seq_;
  }
}

bool RateWindow::admits_locked(int requests, std::int64_t tokens, std::int64_t more) const {
  if (limits_.rpm > 0 && requests + 1 > limits_.rpm) return false;
  // An empty window always admits one request (a request above the whole tpm is not starved).
  if (limits_.tpm > 0 && tokens > 0 && tokens + more > limits_.tpm) return false;
  return true;
}

RateWindow::Entry* RateWindow::find_locked(Ticket t) {
  if (t.seq < front_seq_ || t.seq - front_seq_ >= entries_.size()) return nullptr;
  return &entries_[t.seq - front_seq_];
}

std::optional<RateWindow::Ticket> RateWindow::try_acquire(std::int64_t tokens) {
  tokens = std::max<std::int64_t>(0, tokens);
  std::lock_guard lock(mutex_);
  auto now = clock_.now();
  expire_locked(now);
  if (!admits_locked(requests_, tokens_, tokens)) return std::nullopt;
  entries_.push_back({now, tokens, 1});
  ++requests_;
  tokens_ += tokens;
  return Ticket{front_seq_ + entries_.size() - 1};
}

void RateWindow::correct(Ticket ticket, std::int64_t actual_tokens) {
  std::lock_guard lock(mutex_);
  expire_locked(clock_.now());
  if (Entry* e = find_locked(ticket); e && e->requests > 0) {
    actual_tokens = std::max<std::int64_t>(0, actual_tokens);
    tokens_ += actual_tokens - e->tokens;
    e->tokens = actual_tokens;
  }
}

void RateWindow::cancel(Ticket ticket) {
  std::lock_guard lock(mutex_);
  expire_locked(clock_.now());
  if (Entry* e = find_locked(ticket)) {
    requests_ -= e->requests;
    tokens_ -= e->tokens;
    e->requests = 0;
    e->tokens = 0;
  }
}

Clock::time_point RateWindow::admissible_at(std::int64_t tokens) {
  tokens = std::max<std::int64_t>(0, tokens);
  std::lock_guard lock(mutex_);
  auto now = clock_.now();
  expire_locked(now);
  int requests = requests_;
  std::int64_t used = tokens_;
  if (admits_locked(requests, used, tokens)) return now;
  for (const Entry& e : entries_) {  // oldest first: each leaves the window at e.at + window
    requests -= e.requests;
    used -= e.tokens;
    if (admits_locked(requests, used, tokens)) return e.at + window_;
  }
  return now + window_;  // not reached: an empty window admits
}

RateWindow::Usage RateWindow::usage() {
  std::lock_guard lock(mutex_);
  expire_locked(clock_.now());
  return {requests_, tokens_, limits_};
}

std::optional<std::vector<RateWindow::Ticket>> try_acquire_all(std::span<RateWindow* const> windows,
                                                               std::int64_t tokens) {
  std::vector<RateWindow::Ticket> tickets;
  tickets.reserve(windows.size());
  for (std::size_t i = 0; i < windows.size(); ++i) {
    auto t = windows[i]->try_acquire(tokens);
    if (!t) {
      for (std::size_t j = 0; j < tickets.size(); ++j) windows[j]->cancel(tickets[j]);
      return std::nullopt;
    }
    tickets.push_back(*t);
  }
  return tickets;
}

// ---- provider headers ----

std::vector<RateLimitReading> parse_rate_limit_headers(const Headers& h, WallClock::time_point wall_now) {
  std::vector<RateLimitReading> out;
  // Every header read below starts with one of these: an answer with none (most upstreams behind
  // a gateway, every test server) costs one pass over its names, not twenty look-ups.
  auto limit_name = [](const Header& x) {
    constexpr std::string_view openai = "x-ratelimit-", anthropic = "anthropic-ratelimit-";
    const std::string_view n = x.name;
    return (n.size() > openai.size() && iequals(n.substr(0, openai.size()), openai)) ||
           (n.size() > anthropic.size() && iequals(n.substr(0, anthropic.size()), anthropic));
  };
  if (std::none_of(h.begin(), h.end(), limit_name)) return out;
  auto go = [](const std::string& v) { return parse_go_duration(v); };
  read_limit(h, Kind::requests, "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests",
             "x-ratelimit-reset-requests", go, out);
  read_limit(h, Kind::tokens, "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens",
             go, out);
  auto rfc3339 = [wall_now](const std::string& v) -> std::optional<Millis> {
    auto when = parse_rfc3339(v);
    if (!when) return std::nullopt;
    return duration_cast<Millis>(*when - wall_now);
  };
  static constexpr std::pair<Kind, std::string_view> anthropic[] = {{Kind::requests, "requests"},
                                                                    {Kind::tokens, "tokens"},
                                                                    {Kind::input_tokens, "input-tokens"},
                                                                    {Kind::output_tokens, "output-tokens"}};
  for (const auto& [kind, name] : anthropic) {
    std::string base = "anthropic-ratelimit-" + std::string(name);
    read_limit(h, kind, base + "-limit", base + "-remaining", base + "-reset", rfc3339, out);
  }
  if (out.empty()) {
    auto unix_or_delta = [wall_now](const std::string& v) -> std::optional<Millis> {
      auto secs = parse_double(v);
      if (!secs) return std::nullopt;
      if (*secs < 1e9) return Millis{static_cast<Millis::rep>(std::ceil(*secs * 1000.0))};
      auto when = WallClock::time_point{duration_cast<WallClock::duration>(std::chrono::duration<double>(*secs))};
      return duration_cast<Millis>(when - wall_now);
    };
    read_limit(h, Kind::requests, "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", unix_or_delta,
               out);
  }
  return out;
}

// ---- RateLimitState ----

RateLimitState::RateLimitState(const TimeSource& clock, RateLimitConfig cfg) : clock_(clock), cfg_(cfg) {}

void RateLimitState::expire_locked(Clock::time_point now) {
  std::erase_if(limits_,
                [&](const Limit& l) { return l.reset_at ? *l.reset_at <= now : now - l.seen_at >= cfg_.max_age; });
}

void RateLimitState::update(const std::vector<RateLimitReading>& readings) {
  std::lock_guard lock(mutex_);
  auto now = clock_.now();
  for (const auto& r : readings) {
    Limit l{r.kind, r.limit, static_cast<double>(r.remaining), std::nullopt, now};
    if (r.reset) l.reset_at = now + *r.reset;
    else if (l.remaining <= 0) l.reset_at = now + cfg_.missing_reset;
    auto it = std::find_if(limits_.begin(), limits_.end(), [&](const Limit& x) { return x.kind == r.kind; });
    if (it == limits_.end()) limits_.push_back(l);
    else *it = l;
  }
  expire_locked(now);
}

void RateLimitState::on_send(const TokenEstimate& e) {
  std::lock_guard lock(mutex_);
  auto now = clock_.now();
  for (Limit& l : limits_) {
    switch (l.kind) {
      case Kind::requests: l.remaining -= 1; break;
      case Kind::tokens: l.remaining -= static_cast<double>(e.total()); break;
      case Kind::input_tokens: l.remaining -= static_cast<double>(e.input); break;
      case Kind::output_tokens: l.remaining -= static_cast<double>(e.output); break;
    }
    if (l.remaining <= 0 && !l.reset_at) l.reset_at = now + cfg_.missing_reset;
  }
}

double RateLimitState::share() {
  std::lock_guard lock(mutex_);
  expire_locked(clock_.now());
  double share = 1.0;
  for (const Limit& l : limits_) {
    if (l.remaining <= 0) return 0.0;
    if (l.limit && *l.limit > 0 && cfg_.low_fraction > 0)
      share = std::min(share, (l.remaining / static_cast<double>(*l.limit)) / cfg_.low_fraction);
  }
  return std::clamp(share, 0.0, 1.0);
}

std::optional<Clock::time_point> RateLimitState::blocked_until() {
  std::lock_guard lock(mutex_);
  auto now = clock_.now();
  expire_locked(now);
  std::optional<Clock::time_point> until;
  for (const Limit& l : limits_) {
    if (l.remaining > 0 || !l.reset_at) continue;  // exhausted limits always have a reset
    until = until ? std::max(*until, *l.reset_at) : *l.reset_at;
  }
  return until;
}

std::vector<RateLimitState::Limit> RateLimitState::limits() {
  std::lock_guard lock(mutex_);
  expire_locked(clock_.now());
  return limits_;
}

// ---- ConcurrencyLimiter ----

bool ConcurrencyLimiter::try_enter() noexcept {
  if (limit_ <= 0) {
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  int n = in_flight_.load(std::memory_order_relaxed);
  while (n < limit_) {
    if (in_flight_.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel)) return true;
  }
  rejected_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void ConcurrencyLimiter::leave() noexcept {
  int n = in_flight_.load(std::memory_order_relaxed);
  while (n > 0 && !in_flight_.compare_exchange_weak(n, n - 1, std::memory_order_acq_rel)) {}
}

}  // namespace llmfailover::policy
