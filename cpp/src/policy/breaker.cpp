#include "llmfailover/policy/breaker.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace llmfailover::policy {

namespace {

using S = BreakerState;

std::string pct(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v == std::floor(v) ? "%.0f%%" : "%.1f%%", v);
  return buf;
}

std::string ms(Millis d) { return std::to_string(d.count()) + "ms"; }

std::int64_t epoch_second(Clock::time_point t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

void validate(const BreakerPolicyConfig& c) {
  auto need = [](bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(std::string("circuit breaker: ") + what);
  };
  need(c.window_size >= 1, "window_size must be >= 1");
  need(c.minimum_calls >= 1, "minimum_calls must be >= 1");
  need(c.failure_rate_threshold > 0 && c.failure_rate_threshold <= 100, "failure_rate_threshold must be in (0, 100]");
  need(c.slow_call_rate_threshold > 0 && c.slow_call_rate_threshold <= 100,
       "slow_call_rate_threshold must be in (0, 100]");
  need(c.slow_call_duration >= Millis{0}, "slow_call_duration must be >= 0");
  need(c.consecutive_failures >= 0, "consecutive_failures must be >= 0");
  need(c.open_base >= Millis{1} && c.open_cap >= c.open_base, "need 1ms <= open_base <= open_cap");
  need(c.open_multiplier >= 1.0, "open_multiplier must be >= 1");
  need(c.open_jitter >= 0 && c.open_jitter < 1, "open_jitter must be in [0, 1)");
  need(c.half_open_permits >= 1, "half_open_permits must be >= 1");
  need(c.max_wait_in_half_open >= Millis{0}, "max_wait_in_half_open must be >= 0");
  auto initial = breaker_state_from_string(c.initial_state);
  need(initial && *initial != S::open && *initial != S::half_open,
       "initial_state must be closed, disabled, metrics_only or forced_open");
}

}  // namespace

std::string_view to_string(BreakerState state) noexcept {
  switch (state) {
    case S::closed: return "closed";
    case S::open: return "open";
    case S::half_open: return "half_open";
    case S::disabled: return "disabled";
    case S::forced_open: return "forced_open";
    case S::metrics_only: return "metrics_only";
  }
  return "unknown";
}

std::optional<BreakerState> breaker_state_from_string(std::string_view name) noexcept {
  for (auto s : {S::closed, S::open, S::half_open, S::disabled, S::forced_open, S::metrics_only})
    if (to_string(s) == name) return s;
  return std::nullopt;
}

std::string_view to_string(BreakerEvent::Kind kind) noexcept {
  switch (kind) {
    case BreakerEvent::Kind::state_transition: return "state_transition";
    case BreakerEvent::Kind::failure_rate_exceeded: return "failure_rate_exceeded";
    case BreakerEvent::Kind::slow_call_rate_exceeded: return "slow_call_rate_exceeded";
    case BreakerEvent::Kind::reset: return "reset";
  }
  return "unknown";
}

std::string to_string(const BreakerEvent& e) {
  std::string out(to_string(e.kind));
  if (e.kind == BreakerEvent::Kind::state_transition) {
    out.append(" ").append(to_string(e.from)).append(" -> ").append(to_string(e.to));
  }
  if (!e.reason.empty()) out.append(" (").append(e.reason).append(")");
  return out;
}

// ---- CallWindow ---------------------------------------------------------------------------------

namespace detail {

CallWindow::CallWindow(bool time_based, int size, int minimum_calls)
    : time_based_(time_based),
      // resilience4j clamps a count window's minimum to its size; a time window's is left alone.
      minimum_calls_(time_based ? minimum_calls : std::min(minimum_calls, size)),
      buckets_(static_cast<std::size_t>(size)) {}

void CallWindow::add(Bucket& b, int sign) {
  total_.calls += sign * b.calls;
  total_.failed += sign * b.failed;
  total_.slow += sign * b.slow;
}

void CallWindow::evict(std::int64_t second) {
  auto size = static_cast<std::int64_t>(buckets_.size());
  for (auto& b : buckets_) {
    if (b.calls != 0 && (b.second <= second - size || b.second > second)) {
      add(b, -1);
      b = Bucket{};
    }
  }
}

void CallWindow::record(bool failure, bool slow, Clock::time_point now) {
  Bucket* b = nullptr;
  if (time_based_) {
    auto second = epoch_second(now);
    evict(second);
    auto size = static_cast<std::int64_t>(buckets_.size());
    b = &buckets_[static_cast<std::size_t>(((second % size) + size) % size)];
    if (b->second != second) *b = Bucket{0, 0, 0, second};  // empty after evict()
  } else {
    b = &buckets_[next_];
    add(*b, -1);  // the oldest call leaves the ring
    *b = Bucket{};
    next_ = (next_ + 1) % buckets_.size();
  }
  b->calls += 1;
  b->failed += failure ? 1 : 0;
  b->slow += slow ? 1 : 0;
  total_.calls += 1;
  total_.failed += failure ? 1 : 0;
  total_.slow += slow ? 1 : 0;
}

BreakerMetrics CallWindow::metrics(Clock::time_point now) {
  if (time_based_) evict(epoch_second(now));
  BreakerMetrics m;
  m.buffered = total_.calls;
  m.failed = total_.failed;
  m.slow = total_.slow;
  m.successes = total_.calls - total_.failed;
  if (total_.calls > 0 && total_.calls >= minimum_calls_) {
    m.failure_rate = 100.0 * total_.failed / total_.calls;
    m.slow_rate = 100.0 * total_.slow / total_.calls;
  }
  return m;
}

}  // namespace detail

// ---- CircuitBreaker -----------------------------------------------------------------------------

// Holds the lock for one public call, first applies the transitions due by the clock, and
// delivers the events produced after unlocking (listeners never run under the lock).
class CircuitBreaker::Scope {
 public:
  explicit Scope(CircuitBreaker& b) : b_(b), lock_(b.mutex_), now(b.clock_.now()) { b_.advance_locked(now); }
  ~Scope() {
    std::vector<BreakerEvent> events;
    events.swap(b_.pending_);
    Listener listener = events.empty() ? Listener{} : b_.listener_;
    lock_.unlock();
    if (!listener) return;
    for (const auto& e : events) {
      try {
        listener(e);
      } catch (...) {  // a broken listener must not break the caller's request
      }
    }
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  CircuitBreaker& b_;
  std::unique_lock<std::mutex> lock_;

 public:
  const Clock::time_point now;
};

// The window's verdict against the thresholds (resilience4j checkIfThresholdsExceeded: >=).
struct CircuitBreaker::Outcome {
  BreakerMetrics m;
  bool known = false;
  bool failure_over = false;
  bool slow_over = false;
  double failure_threshold = 0;
  double slow_threshold = 0;
  bool exceeded() const { return failure_over || slow_over; }
  // The rates against their thresholds, as events and transitions name them. Written only when a
  // transition or an event needs it: a closed breaker evaluates on every result, and formatting
  // four percentages per call cost more than the rest of the evaluation.
  std::string reason() const {
    std::string fr = "failure_rate " + pct(m.failure_rate) + (failure_over ? " >= " : " < ") + pct(failure_threshold);
    std::string sr = "slow_call_rate " + pct(m.slow_rate) + (slow_over ? " >= " : " < ") + pct(slow_threshold);
    if (failure_over != slow_over) return failure_over ? fr : sr;  // the one rate over its threshold
    return fr + ", " + sr;                                         // both over, or neither: both
  }
};

CircuitBreaker::CircuitBreaker(const BreakerPolicyConfig& cfg, const TimeSource& clock, Random& random)
    : cfg_(cfg), clock_(clock), random_(random), window_(false, 1, 1) {
  validate(cfg_);
  state_ = *breaker_state_from_string(cfg_.initial_state);
  window_ = fresh_window();
  if (state_ == S::forced_open) attempts_ = 1;  // as if forced from CLOSED (resilience4j: attempts + 1)
}

detail::CallWindow CircuitBreaker::fresh_window() const {
  return detail::CallWindow(cfg_.window == BreakerPolicyConfig::Window::time_based, cfg_.window_size,
                            cfg_.minimum_calls);
}

Millis CircuitBreaker::open_wait(int attempts) {
  // base * multiplier^(attempts-1), jittered by +-open_jitter, never above open_cap (resilience.md 8.5).
  double exponent = std::max(attempts, 1) - 1;
  double cap = static_cast<double>(cfg_.open_cap.count());
  double wait = std::min(cap, static_cast<double>(cfg_.open_base.count()) * std::pow(cfg_.open_multiplier, exponent));
  if (cfg_.open_jitter > 0) wait *= 1.0 + cfg_.open_jitter * (2.0 * random_.uniform() - 1.0);
  return Millis{std::max<Millis::rep>(1, std::llround(std::min(cap, wait)))};
}

bool CircuitBreaker::transition_allowed(BreakerState from, BreakerState to) const noexcept {
  if (from == to || to == S::disabled || to == S::metrics_only || to == S::forced_open) return true;
  if (from == S::closed && to == S::half_open) return false;
  if (from == S::metrics_only && (to == S::open || to == S::half_open)) return false;
  return true;
}

void CircuitBreaker::advance_locked(Clock::time_point now) {
  if (state_ == S::open && now >= open_until_) {
    if (resume_ == S::closed) {
      // The end of a rate-limit cooldown: back to CLOSED with the window it had.
      pending_.push_back({BreakerEvent::Kind::state_transition, S::open, S::closed, -1, "cooldown over"});
      state_ = S::closed;
      cooling_ = false;
    } else {
      enter_locked(S::half_open, attempts_, cooling_ ? "cooldown over" : "open wait elapsed");
    }
  }
  if (state_ == S::half_open && cfg_.max_wait_in_half_open > Millis{0} &&
      now >= half_open_since_ + cfg_.max_wait_in_half_open) {
    enter_open_locked(attempts_ + 1, now + open_wait(attempts_ + 1),
                      "no decision within max_wait_in_half_open " + ms(cfg_.max_wait_in_half_open));
  }
}

void CircuitBreaker::enter_locked(BreakerState to, int attempts, std::string reason) {
  if (to == S::open) {
    enter_open_locked(attempts, clock_.now() + open_wait(attempts), std::move(reason));
    return;
  }
  // HALF_OPEN judges its probes in a count window of `permits` (resilience4j forHalfOpen).
  int permits = cfg_.half_open_permits;
  window_ =
      to == S::half_open ? detail::CallWindow(false, permits, std::min(cfg_.minimum_calls, permits)) : fresh_window();
  not_permitted_ = 0;
  consecutive_ = 0;
  cooling_ = false;
  failure_exceeded_ = slow_exceeded_ = false;
  attempts_ = (to == S::half_open || to == S::forced_open) ? attempts : 0;
  if (to == S::half_open) {
    permits_ = cfg_.half_open_permits;
    half_open_since_ = clock_.now();
  }
  if (state_ != to) pending_.push_back({BreakerEvent::Kind::state_transition, state_, to, -1, std::move(reason)});
  state_ = to;
}

// OPEN keeps the metrics of the state it came from (resilience4j OpenState), so late results of
// calls in flight still land in them.
void CircuitBreaker::enter_open_locked(int attempts, Clock::time_point until, std::string reason) {
  attempts_ = attempts;
  open_until_ = until;
  resume_ = S::half_open;
  cooling_ = false;
  if (state_ != S::open)
    pending_.push_back({BreakerEvent::Kind::state_transition, state_, S::open, -1, std::move(reason)});
  state_ = S::open;
}

bool CircuitBreaker::permitted_locked() const noexcept {
  return state_ == S::closed || state_ == S::disabled || state_ == S::metrics_only ||
         (state_ == S::half_open && permits_ > 0);
}

bool CircuitBreaker::try_acquire() {
  Scope s(*this);
  if (!permitted_locked()) {
    ++not_permitted_;
    return false;
  }
  if (state_ == S::half_open) --permits_;
  return true;
}

bool CircuitBreaker::can_acquire() {
  Scope s(*this);
  return permitted_locked();
}

void CircuitBreaker::release() {
  Scope s(*this);
  if (state_ == S::half_open && permits_ < cfg_.half_open_permits) ++permits_;
}

void CircuitBreaker::on_ignored() { release(); }

void CircuitBreaker::on_success(Millis duration) {
  Scope s(*this);
  record_locked(false, duration);
}

void CircuitBreaker::on_failure(Millis duration) {
  Scope s(*this);
  record_locked(true, duration);
}

void CircuitBreaker::record_locked(bool failure, Millis duration) {
  if (state_ == S::disabled || state_ == S::forced_open) return;  // these states record nothing
  window_.record(failure, duration > cfg_.slow_call_duration, clock_.now());
  consecutive_ = failure ? consecutive_ + 1 : 0;
  if (state_ == S::closed) check_closed_locked();
  else if (state_ == S::half_open) check_half_open_locked();
  else if (state_ == S::metrics_only) check_metrics_only_locked();
}

void CircuitBreaker::check_closed_locked() {
  auto o = evaluate_locked();
  if (o.known && o.exceeded()) {
    emit_exceeded_locked(o);
    enter_open_locked(attempts_ + 1, clock_.now() + open_wait(attempts_ + 1), o.reason());
  } else if (cfg_.consecutive_failures > 0 && consecutive_ >= cfg_.consecutive_failures) {
    // Finagle's consecutiveFailures trip (resilience.md 4.5), independent of the minimum calls.
    enter_open_locked(attempts_ + 1, clock_.now() + open_wait(attempts_ + 1),
                      std::to_string(consecutive_) + " consecutive failures");
  }
}

// HALF_OPEN decides as soon as its window holds min(minimum_calls, permits) calls (resilience.md 7.6).
void CircuitBreaker::check_half_open_locked() {
  auto o = evaluate_locked();
  if (!o.known) return;
  if (o.exceeded())
    enter_open_locked(attempts_ + 1, clock_.now() + open_wait(attempts_ + 1), "half_open: " + o.reason());
  else enter_locked(S::closed, 0, "half_open: " + o.reason());
}

// METRICS_ONLY never opens; it publishes each exceeded event once (resilience4j MetricsOnlyState).
void CircuitBreaker::check_metrics_only_locked() {
  auto o = evaluate_locked();
  if (!o.known) return;
  o.failure_over = o.failure_over && !failure_exceeded_;
  o.slow_over = o.slow_over && !slow_exceeded_;
  failure_exceeded_ = failure_exceeded_ || o.failure_over;
  slow_exceeded_ = slow_exceeded_ || o.slow_over;
  emit_exceeded_locked(o);
}

void CircuitBreaker::emit_exceeded_locked(const Outcome& o) {
  if (!o.exceeded()) return;
  const std::string reason = o.reason();
  if (o.failure_over)
    pending_.push_back({BreakerEvent::Kind::failure_rate_exceeded, state_, state_, o.m.failure_rate, reason});
  if (o.slow_over)
    pending_.push_back({BreakerEvent::Kind::slow_call_rate_exceeded, state_, state_, o.m.slow_rate, reason});
}

CircuitBreaker::Outcome CircuitBreaker::evaluate_locked() {
  const auto& cfg = cfg_;
  Outcome o;
  o.m = window_.metrics(clock_.now());
  o.known = o.m.failure_rate >= 0;
  if (!o.known) return o;
  o.failure_over = o.m.failure_rate >= cfg.failure_rate_threshold;
  o.slow_over = o.m.slow_rate >= cfg.slow_call_rate_threshold;
  o.failure_threshold = cfg.failure_rate_threshold;
  o.slow_threshold = cfg.slow_call_rate_threshold;
  return o;
}

BreakerState CircuitBreaker::state() {
  Scope s(*this);
  return state_;
}

BreakerMetrics CircuitBreaker::metrics() {
  Scope s(*this);
  auto m = window_.metrics(s.now);
  m.not_permitted = not_permitted_;
  return m;
}

int CircuitBreaker::attempts() {
  Scope s(*this);
  return attempts_;
}

int CircuitBreaker::consecutive_failures() {
  Scope s(*this);
  return consecutive_;
}

bool CircuitBreaker::cooling() {
  Scope s(*this);
  return state_ == S::open && cooling_;
}

std::optional<Clock::time_point> CircuitBreaker::next_transition_at() {
  Scope s(*this);
  if (state_ == S::open) return open_until_;
  if (state_ == S::half_open && cfg_.max_wait_in_half_open > Millis{0})
    return half_open_since_ + cfg_.max_wait_in_half_open;
  return std::nullopt;
}

void CircuitBreaker::open_for(Millis wait, std::string reason) { open_until(clock_.now() + wait, std::move(reason)); }

void CircuitBreaker::open_until(Clock::time_point until, std::string reason) {
  Scope s(*this);
  if (!transition_allowed(state_, S::open))
    throw std::logic_error("circuit breaker: illegal transition " + std::string(to_string(state_)) + " -> open");
  enter_open_locked(attempts_ + 1, until, std::move(reason));
}

void CircuitBreaker::trip(int attempts, std::string reason) {
  Scope s(*this);
  if (!transition_allowed(state_, S::open))
    throw std::logic_error("circuit breaker: illegal transition " + std::string(to_string(state_)) + " -> open");
  attempts = std::max(attempts, 1);
  enter_open_locked(attempts, s.now + open_wait(attempts), std::move(reason));
}

bool CircuitBreaker::cool_down(Millis wait, std::string reason) {
  Scope s(*this);
  if (wait <= Millis{0}) return false;
  if (state_ == S::open) {
    open_until_ = std::max(open_until_, s.now + wait);  // only ever extends
    return true;
  }
  if (state_ != S::closed && state_ != S::half_open) return false;
  auto back = state_;
  enter_open_locked(attempts_, s.now + wait, std::move(reason));
  resume_ = back;
  cooling_ = true;
  return true;
}

void CircuitBreaker::force_open(std::string reason) {
  Scope s(*this);
  enter_locked(S::forced_open, attempts_ + 1, std::move(reason));
}

void CircuitBreaker::disable() {
  Scope s(*this);
  enter_locked(S::disabled, 0, "disable");
}

void CircuitBreaker::metrics_only() {
  Scope s(*this);
  enter_locked(S::metrics_only, 0, "metrics_only");
}

void CircuitBreaker::reset() {
  Scope s(*this);
  enter_locked(S::closed, 0, "reset");
  pending_.push_back({BreakerEvent::Kind::reset, S::closed, S::closed, -1, "reset"});
}

void CircuitBreaker::transition_to(BreakerState to, std::string reason) {
  Scope s(*this);
  if (!transition_allowed(state_, to))
    throw std::logic_error("circuit breaker: illegal transition " + std::string(to_string(state_)) + " -> " +
                           std::string(to_string(to)));
  bool grows = to == S::open || to == S::forced_open;  // resilience4j: attempts + 1 on both
  enter_locked(to, grows ? attempts_ + 1 : attempts_, std::move(reason));
}

void CircuitBreaker::set_listener(Listener listener) {
  std::lock_guard lock(mutex_);
  listener_ = std::move(listener);
}

}  // namespace llmfailover::policy
