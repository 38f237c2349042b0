// routed_events.cpp — a routed call's entries on io threads: the attempt's events (head, body,
// end, error) and timers, kept and cancelled with the attempt; and the exception safety around
// all of them (routed_call_impl.hpp).
#include <cstdio>

#include "llmfailover/policy/backoff.hpp"
#include "routed_call_impl.hpp"

namespace llmfailover {

void RoutedCallImpl::keep(std::uint64_t epoch, std::shared_ptr<transport::Exchange> ex) {
  {
    std::lock_guard lock(mutex_);
    if (epoch == epoch_ && mode_ != Mode::done) std::swap(current_, ex);  // `ex` now holds the one replaced, if any
  }
  // An exchange or wait the call moved past while it was being started (a cancel, a failure in
  // between) ends now instead of running on, holding the call, until its own limits.
  if (ex) ex->cancel();
}

void RoutedCallImpl::keep_timer(std::uint64_t epoch, TimerSlot slot, std::shared_ptr<transport::Exchange> timer) {
  {
    std::lock_guard lock(mutex_);
    if (epoch == epoch_ && mode_ != Mode::done) std::swap(this->*slot, timer);  // `timer` now holds a stale one, if any
  }
  if (timer) timer->cancel();
}

void RoutedCallImpl::disarm(Deferred& later) {
  for (TimerSlot slot :
       {&RoutedCallImpl::ttft_timer_, &RoutedCallImpl::credential_timer_, &RoutedCallImpl::hedge_timer_})
    if (this->*slot) later.push_back([timer = std::move(this->*slot)] { timer->cancel(); });
}

void RoutedCallImpl::on_event(std::uint64_t epoch, Event&& e) {
  Deferred later;
  {
    std::lock_guard lock(mutex_);
    deliver(epoch, std::move(e), later);
  }
  run(later);
}

void RoutedCallImpl::deliver(std::uint64_t epoch, Event&& e, Deferred& later) {
  if (epoch != epoch_ || mode_ == Mode::done || mode_ == Mode::idle) return;
  try {
    handle(std::move(e), later);
  } catch (const std::exception& x) {  // a wrong-typed field the code below did not expect, ...
    fault(x.what(), later);
  }
}

void RoutedCallImpl::run(Deferred& later) {
  // NOLINTNEXTLINE(modernize-loop-convert): by index, which stays valid if an action appends to later
  for (std::size_t i = 0; i < later.size(); ++i) {
    std::string what;
    try {
      later[i]();
      continue;
    } catch (const std::exception& x) {
      what = x.what();
    } catch (...) {
      what = "unknown exception";
    }
    Deferred more;  // an action that threw (starting an exchange, a timer): the current attempt failed
    {
      std::lock_guard lock(mutex_);
      if (mode_ != Mode::done) fault(what, more);
    }
    run(more);
  }
}

void RoutedCallImpl::fault(const std::string& what, Deferred& later) noexcept {
  try {
    const std::string who = target_ ? std::string(target_->provider->name()) : std::string("llmfailover");
    switch (mode_) {
      case Mode::head:
      case Mode::error_body:
      case Mode::body:
      case Mode::stream_pre:  // before the commit point: this target's fault, fail over
        return fail_answered({ErrorClass::retryable, "bad_response", who + ": cannot handle the answer (" + what + ")"},
                             later);
      case Mode::stream_live: return interrupted("cannot handle the stream (" + what + ")", later);
      case Mode::pass:  // the answer is the caller's already: it ends with the failure below
      case Mode::idle:
      case Mode::done: break;
    }
  } catch (...) {  // the failover itself failed: end the call below
  }
  try {
    cancel_hedge("the call failed", later);
    drop_held();
    disarm(later);
    if (current_) later.push_back([ex = std::move(current_)] { ex->cancel(); });
    const bool live = mode_ == Mode::stream_live;
    mode_ = Mode::done;
    channel_.push(Event::failure(
        {live ? Errc::stream_interrupted : Errc::protocol_error, "llmfailover router: " + scrubbed(what), false}));
  } catch (...) {
    mode_ = Mode::done;
  }
}

std::string RoutedCallImpl::scrubbed(std::string text) {
  if (req_.pass) pass_secrets();  // routed_pass.cpp: gathered on the first need
  return r_->secrets.scrub(secrets_.scrub(std::move(text)));
}

void RoutedCallImpl::handle(Event&& e, Deferred& later) {
  if (req_.pass) return pass_event(std::move(e), later);  // routed_pass.cpp
  switch (e.kind) {
    case Event::Kind::head: return on_head(std::move(e), later);
    case Event::Kind::body:
      if (translator_ && translator_->wants_bytes() && (mode_ == Mode::stream_pre || mode_ == Mode::stream_live))
        return on_stream_piece({}, e.data, true, e.id, later);
      if (mode_ == Mode::error_body) return keep_error_body(e.data);
      body_buf_ += e.data;
      return;
    case Event::Kind::sse: return on_sse(std::move(e), later);
    case Event::Kind::end: return on_end(later);
    case Event::Kind::error:
      if (e.replayed && mode_ == Mode::head) {
        current_rec().replayed = true;
        ++tries_[target_];  // the transport's second send on a fresh connection reached the upstream too
      }
      return on_error(std::move(e.error), later);
  }
}

void RoutedCallImpl::on_head(Event&& e, Deferred& later) {
  status_ = e.status;
  headers_ = std::move(e.headers);
  current_rec().status = status_;
  current_rec().replayed = e.replayed;
  current_rec().first_byte_ms = ms(r_->time->now() - attempt_start_);
  // The provider's rate-limit headers steer the key's share before it answers 429.
  if (auto readings = policy::parse_rate_limit_headers(headers_, policy::WallClock::now()); !readings.empty()) {
    target_->rate->update(readings);
    r_->sync(*target_);
  }
  if (status_ >= 400) mode_ = Mode::error_body;
  else if (req_.stream) mode_ = Mode::stream_pre;
  else mode_ = Mode::body;
  (void)later;
}

void RoutedCallImpl::on_end(Deferred& later) {
  if (mode_ == Mode::error_body) return on_error_answer(later);
  if (mode_ == Mode::body) {
    std::string answer;
    try {
      if (req_.call.path == "/embeddings")
        answer = target_->provider->embeddings_response(target_->endpoint, body_buf_);
      else if (req_.call.path == "/chat/completions")
        answer = target_->provider->chat_response(target_->endpoint, body_buf_);
      else answer = openai_path_answer(std::move(body_buf_));  // routed_responses.cpp
    } catch (const providers::TranslationError& x) {
      // An answer that means an error, or one that does not fit the provider's schema: that
      // provider's fault, named.
      if (x.verdict()) return fail_answered({x.verdict()->cls, x.verdict()->reason, x.verdict()->message}, later);
      return fail_answered({ErrorClass::retryable, "bad_response", x.what()}, later);
    } catch (const std::exception& x) {  // e.g. nlohmann's type_error on a null where a string belongs
      return fail_answered(
          {ErrorClass::retryable, "bad_response",
           std::string(target_->provider->name()) + ": the answer does not fit its schema (" + x.what() + ")"},
          later);
    }
    policy::LatencySample sample;
    sample.ttft = Millis{static_cast<Millis::rep>(std::max(0.0, current_rec().first_byte_ms))};
    sample.total = attempt_duration();
    // Only "usage" is read: a scan finds it and its counts are read from its text (scan_usage), or
    // parsed when a scan is unsure (json_scan.hpp).
    std::optional<Usage> read;
    nlohmann::json u;  // the answer's "usage" member (null when it has none), when parsed
    if (auto scan = scan_answer(answer, max_json_depth())) {
      if (scan->usage.found()) {
        const std::string_view text =
            std::string_view(answer).substr(scan->usage.begin, scan->usage.end - scan->usage.begin);
        if (auto scanned = scan_usage(text)) {
          if (scanned->object) read = scanned->usage;
        } else {
          u = parse_json(text);
        }
      }
    } else if (nlohmann::json doc = parse_json(answer); doc.is_object()) {
      if (auto it = doc.find("usage"); it != doc.end()) u = std::move(*it);
    }
    if (!read && u.is_object()) read = read_usage(u);
    if (read) {
      const Usage& usage = *read;
      answer_usage_ = usage;
      if (usage.completion)
        sample.output_tokens = static_cast<int>(std::clamp<std::int64_t>(*usage.completion, 0, 1 << 30));
      correct_quota(usage.total.value_or(0));
    }
    sample_ = sample;
    succeed(later);
    channel_.push(Event::head(status_, served_headers()));
    channel_.push(Event::body(std::move(answer)));
    return finish_ok(later);
  }
  if (mode_ == Mode::stream_live && !inspect_.finished() && !inspect_.done())
    return interrupted("the stream ended without a finish reason", later);  // never a truncated success
  if (mode_ == Mode::stream_pre && resuming_) return give_up_recovery("the restarted answer ended early", later);
  if (mode_ == Mode::stream_pre) {
    // Ended before any content: an empty answer is an answer only if it says it finished.
    if (!inspect_.finished() && !inspect_.done())
      return fail_answered({ErrorClass::retryable, "empty_stream", "the stream ended before any content"}, later);
    commit(later);
  }
  finish_ok(later);
}

void RoutedCallImpl::keep_error_body(std::string_view data) {
  if (body_buf_.size() < kMaxErrorBody) body_buf_.append(data.substr(0, kMaxErrorBody - body_buf_.size()));
}

void RoutedCallImpl::on_error_answer(Deferred& later) {
  providers::ErrorVerdict v;
  try {
    v = target_->provider->classify(status_, headers_, body_buf_);
  } catch (const std::exception&) {  // an error body with wrong-typed fields: the status still says what happened
    v = {status_class(status_), "status_" + std::to_string(status_), "HTTP " + std::to_string(status_)};
  }
  // A stateful Responses call's 404 is about the id (deleted, expired, stored elsewhere), not the
  // deployment: the caller's error, which must not put the target out of service.
  if (pinned_ && status_ == 404) v.cls = ErrorClass::fatal_request;
  if (status_ == 401 && target_->credentials) target_->credentials->refused();  // refused: fetch a new one next time
  std::optional<Millis> hint = policy::retry_hint(headers_, policy::WallClock::now(), policy().retry.max_retry_after);
  if (!hint) {
    try {
      hint = target_->provider->body_retry_hint(body_buf_);
    } catch (const std::exception&) {  // no hint, then
    }
  }
  Headers headers = headers_;
  secrets_.scrub(headers);
  r_->secrets.scrub(headers);
  last_head_ = Event::head(status_, std::move(headers));
  last_body_ = scrubbed(std::move(body_buf_));
  body_buf_.clear();
  last_error_.reset();
  fail({v.cls, v.reason, v.message, hint}, later);
}

void RoutedCallImpl::on_error(Error error, Deferred& later) {
  if (mode_ == Mode::stream_live) {
    if (inspect_.finished() || inspect_.done()) return finish_ok(later);  // the answer was complete
    return interrupted(std::string(to_string(error.code)) + ": " + error.message, later);
  }
  // The upstream answered with an error status and then its body broke off or exceeded the cap:
  // the status decides (a 5xx still fails over), with whatever of the body arrived.
  if (mode_ == Mode::error_body && !ttft_expired_ && errc_class(error) != ErrorClass::ignored)
    return on_error_answer(later);
  error.message = scrubbed(std::move(error.message));
  Verdict v{errc_class(error), std::string(to_string(error.code)), error.message};
  v.silent = error.code == Errc::first_byte_timeout;
  if (policy::silent_hangup(error.code, mode_ == Mode::head, r_->time->now() - attempt_start_)) {
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f", static_cast<double>(attempt_duration().count()) / 1000.0);
    v.silent = true;
    v.reason = "silent";
    v.message = "no response in " + std::string(secs) + " s, then " + error.message;
  }
  if (ttft_expired_) v = {ErrorClass::retryable, "first_token_timeout", "no first token in time", {}, true};
  if (!ttft_expired_ && error.code == Errc::cancelled) v.cls = ErrorClass::ignored;
  v.error = error;
  last_error_ = error;
  if (ttft_expired_)
    last_error_ = Error{Errc::first_byte_timeout, "no first token from " + target_->id + " in time", true};
  last_head_.reset();
  fail(std::move(v), later);
}

void RoutedCallImpl::on_first_token_timeout(std::uint64_t epoch) {
  Deferred later;
  {
    std::lock_guard lock(mutex_);
    if (epoch != epoch_ || (mode_ != Mode::head && mode_ != Mode::stream_pre)) return;
    ttft_expired_ = true;
    ttft_timer_.reset();                                               // this one fired
    if (current_) later.push_back([ex = current_] { ex->cancel(); });  // its error event brings us on
  }
  run(later);
}

}  // namespace llmfailover
