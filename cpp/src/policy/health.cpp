#include "llmfailover/policy/health.hpp"

#include <cstdio>

namespace llmfailover::policy {

namespace {

using S = BreakerState;

std::string ms(Millis d) { return std::to_string(d.count()) + "ms"; }

}  // namespace

std::string to_string(const TargetSnapshot& s) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                " share=%g failure_rate=%g slow_rate=%g attempts=%d ramp_step=%d consecutive=%d not_permitted=%lld",
                s.share, s.failure_rate, s.slow_rate, s.attempts, s.ramp_step, s.consecutive_failures,
                static_cast<long long>(s.not_permitted));
  return s.state + (s.cooling ? " (cooling)" : "") + buf + (s.probe.empty() ? "" : " probe=" + s.probe);
}

// Holds the lock for one public call after applying what is due by the clock; forwards the
// breaker's transitions and the ramp's steps to the listener after unlocking.
class TargetHealth::Scope {
 public:
  explicit Scope(TargetHealth& h) : h_(h), lock_(h.mutex_), now(h.clock_.now()) { h_.sync_locked(now); }
  ~Scope() {
    h_.absorb_locked();
    std::vector<Note> notes;
    notes.swap(h_.notes_);
    Listener listener = notes.empty() ? Listener{} : h_.listener_;
    lock_.unlock();
    if (!listener) return;
    for (const auto& n : notes) {
      try {
        listener(to_string(n.from), to_string(n.to), n.reason);
      } catch (...) {  // a broken listener must not break the caller's request
      }
    }
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  TargetHealth& h_;
  std::unique_lock<std::mutex> lock_;

 public:
  const Clock::time_point now;
};

TargetHealth::TargetHealth(const BreakerPolicyConfig& breaker, const RampPolicyConfig& ramp, const TimeSource& clock,
                           Random& random)
    : cfg_(breaker), clock_(clock), random_(random), breaker_(breaker, clock, random), ramp_(ramp, clock) {
  // The breaker calls this on the thread of the breaker call, i.e. inside one of our calls.
  breaker_.set_listener([this](const BreakerEvent& e) {
    std::lock_guard lock(events_mutex_);
    breaker_events_.push_back(e);
  });
}

// Moves the breaker's transitions into the listener's queue and returns them for inspection.
std::vector<BreakerEvent> TargetHealth::absorb_locked() {
  std::vector<BreakerEvent> events;
  {
    std::lock_guard lock(events_mutex_);
    events.swap(breaker_events_);
  }
  for (const auto& e : events)
    if (e.kind == BreakerEvent::Kind::state_transition) notes_.push_back({e.from, e.to, e.reason});
  return events;
}

void TargetHealth::sync_locked(Clock::time_point now) {
  if (forced_until_ && now >= *forced_until_) {
    forced_until_.reset();
    if (breaker_.state() == S::forced_open)
      breaker_.transition_to(S::half_open, "fatal_target_open " + ms(cfg_.fatal_target_open) + " elapsed");
  }
  auto state = breaker_.state();  // applies the breaker's own due transitions
  absorb_locked();
  if (state != S::open) shared_open_ = false;
  if (state == S::closed && ramp_.ramping()) handle_verdict_locked(ramp_.tick());
}

void TargetHealth::handle_verdict_locked(Ramp::Verdict verdict) {
  switch (verdict) {
    case Ramp::Verdict::hold: return;
    case Ramp::Verdict::advanced: notes_.push_back({S::closed, S::closed, ramp_.reason()}); return;
    case Ramp::Verdict::finished:
      notes_.push_back({S::closed, S::closed, ramp_.reason()});
      ramp_attempts_ = 0;
      return;
    case Ramp::Verdict::breach:
      // resilience.md 8.9: rollback = OPEN with attempts + 1, so the wait is longer than the last one.
      breaker_.trip(ramp_attempts_ + 1, ramp_.reason());
      absorb_locked();
      return;
  }
}

void TargetHealth::record_locked(bool failure, Millis duration) {
  bool was_ramping = ramp_.ramping() && breaker_.state() == S::closed;
  int attempts_before = breaker_.attempts();
  if (failure) breaker_.on_failure(duration);
  else breaker_.on_success(duration);
  bool tripped = false;
  for (const auto& e : absorb_locked()) {
    if (e.kind != BreakerEvent::Kind::state_transition) continue;
    if (e.from == S::half_open && e.to == S::closed) start_ramp_locked(attempts_before);  // come back gradually
    tripped = tripped || (e.from == S::closed && e.to == S::open);
  }
  if (was_ramping && tripped) {
    // The breaker's own trip during a ramp is a breach too: re-open with the longer wait.
    ramp_.stop();
    breaker_.trip(ramp_attempts_ + 1, "tripped during ramp");
    absorb_locked();
  } else if (was_ramping) {
    handle_verdict_locked(ramp_.on_result(failure, duration, cfg_.slow_call_duration));
  }
}

// Recovered: back at the ramp's first step; a breach re-opens with `attempts` + 1.
void TargetHealth::start_ramp_locked(int attempts) {
  ramp_.start();
  ramp_attempts_ = attempts;
  if (ramp_.ramping()) notes_.push_back({S::closed, S::closed, ramp_.reason()});
}

// What routing sees: OPEN while the probes hold the target out (unless the breaker says more).
BreakerState TargetHealth::effective_locked(BreakerState state) const {
  return held_ && state != S::open && state != S::forced_open ? S::open : state;
}

void TargetHealth::cool_down_locked(std::optional<Millis> retry_after) {
  Millis wait = retry_after ? *retry_after : breaker_.open_wait(breaker_.attempts() + 1);
  if (!breaker_.cool_down(wait, "rate_limited: cooling down for " + ms(wait))) breaker_.on_ignored();
}

void TargetHealth::force_open_locked(Clock::time_point now) {
  auto state = breaker_.state();
  if (state == S::disabled || state == S::metrics_only) return;  // the breaker is not in charge
  ramp_.stop();
  bool timed = cfg_.fatal_target_open > Millis{0};
  breaker_.force_open("fatal_target: key forced open" + (timed ? " for " + ms(cfg_.fatal_target_open) : ""));
  forced_until_ = timed ? std::optional(now + cfg_.fatal_target_open) : std::nullopt;
}

bool TargetHealth::adopt_shared_open(Millis wait) {
  Scope s(*this);
  if (breaker_.state() != S::closed || wait <= Millis{0}) return false;
  ramp_.stop();
  shared_open_ = breaker_.cool_down(wait, "shared: open in another process for " + ms(wait));
  return shared_open_;
}

void TargetHealth::end_shared_open() {
  Scope s(*this);
  if (shared_open_ && breaker_.cooling()) breaker_.transition_to(S::closed, "shared: closed in another process");
  shared_open_ = false;
}

bool TargetHealth::try_acquire() {
  Scope s(*this);
  if (held_) return false;
  return breaker_.try_acquire();
}

void TargetHealth::release() {
  Scope s(*this);
  breaker_.release();
}

void TargetHealth::on_result(ErrorClass cls, Millis duration, std::optional<Millis> retry_after) {
  Scope s(*this);
  switch (cls) {
    case ErrorClass::none: record_locked(false, duration); return;
    case ErrorClass::retryable: record_locked(true, duration); return;
    case ErrorClass::rate_limited: cool_down_locked(retry_after); return;
    case ErrorClass::fatal_target: force_open_locked(s.now); return;
    case ErrorClass::fatal_request:
    case ErrorClass::ignored:
    case ErrorClass::transparent: breaker_.on_ignored(); return;
  }
}

double TargetHealth::share_locked(BreakerState state) {
  if (held_) return 0.0;
  switch (state) {
    case S::closed: return ramp_.factor();  // 1.0 when not ramping
    case S::half_open: return breaker_.can_acquire() ? 1.0 : 0.0;
    case S::disabled:
    case S::metrics_only: return 1.0;
    case S::open:
    case S::forced_open: return 0.0;
  }
  return 0.0;
}

std::optional<Clock::time_point> TargetHealth::available_at_locked(BreakerState state, Clock::time_point now) {
  if (held_) return std::nullopt;  // until the probes pass again
  switch (state) {
    case S::open: return breaker_.next_transition_at();
    case S::forced_open: return forced_until_;
    case S::half_open: return breaker_.can_acquire() ? std::optional(now) : std::nullopt;
    default: return now;
  }
}

double TargetHealth::share() {
  Scope s(*this);
  return share_locked(breaker_.state());
}

std::optional<Clock::time_point> TargetHealth::available_at() {
  Scope s(*this);
  return available_at_locked(breaker_.state(), s.now);
}

BreakerState TargetHealth::state() {
  Scope s(*this);
  return breaker_.state();
}

TargetSnapshot TargetHealth::snapshot() {
  Scope s(*this);
  Snapshot out;
  auto state = breaker_.state();
  out.state = to_string(effective_locked(state));
  out.share = share_locked(state);
  auto m = breaker_.metrics();
  out.failure_rate = m.failure_rate;
  out.slow_rate = m.slow_rate;
  out.not_permitted = m.not_permitted;
  out.attempts = breaker_.attempts();
  out.available_at = available_at_locked(state, s.now);
  out.ramp_step = state == S::closed ? ramp_.step() : -1;
  out.consecutive_failures = breaker_.consecutive_failures();
  out.cooling = breaker_.cooling();
  if (probe_) out.probe = to_string(probe_->status());
  return out;
}

void TargetHealth::reset() {
  Scope s(*this);
  ramp_.stop();
  ramp_attempts_ = 0;
  forced_until_.reset();
  held_ = false;
  if (probe_) probe_->reset();
  breaker_.reset();
}

void TargetHealth::set_listener(Listener listener) {
  std::lock_guard lock(mutex_);
  listener_ = std::move(listener);
}

// ---- active probes ----------------------------------------------------------------------------

void TargetHealth::set_probes(const HealthCheckConfig& cfg) {
  std::lock_guard lock(mutex_);
  held_ = false;
  probe_ = cfg.enabled ? std::make_unique<HealthProbe>(cfg, clock_, random_) : nullptr;
}

std::optional<Clock::time_point> TargetHealth::next_probe_at() {
  std::lock_guard lock(mutex_);
  return probe_ ? std::optional(probe_->next_at()) : std::nullopt;
}

ProbeReport TargetHealth::on_probe_result(ErrorClass cls, std::string_view detail) {
  Scope s(*this);
  if (!probe_) return {};
  const auto before = effective_locked(breaker_.state());
  auto report = probe_->on_result(cls, detail);
  if (report.changed() && report.to == ProbeStatus::unhealthy) {
    held_ = true;
    ramp_.stop();  // the next recovery starts the ramp again at its first step
    notes_.push_back({before, effective_locked(breaker_.state()), "active probe: " + report.reason});
  } else if (report.outcome == ProbeOutcome::pass) {
    probe_pass_locked(report, before);
  }
  return report;
}

// A passing probe: ends the hold at the threshold; a data-plane probe also unejects (header comment).
void TargetHealth::probe_pass_locked(const ProbeReport& report, BreakerState before) {
  const bool recovered = held_ && report.changed() && report.to == ProbeStatus::healthy;
  if (recovered) held_ = false;
  if (held_) return;  // passes below healthy_threshold
  const auto state = breaker_.state();
  const std::string why = "active probe: " + (recovered ? report.reason : std::string("pass"));
  const bool ejected = (state == S::open && !breaker_.cooling()) || state == S::half_open;
  if (ejected && probe_->data_plane()) {
    int attempts = breaker_.attempts();
    breaker_.transition_to(S::closed, why + "; unejected by a data-plane probe");
    absorb_locked();
    start_ramp_locked(attempts);
  } else if (recovered && state == S::closed) {
    notes_.push_back({before, S::closed, why});
    start_ramp_locked(breaker_.attempts());
  } else if (recovered) {
    notes_.push_back({before, state, why + "; the breaker's own recovery brings it back"});
  }
}

}  // namespace llmfailover::policy
