// routed_stream.cpp — a routed call's stream: the provider's events translated into OpenAI
// chunks, the commit point (nothing reaches the caller before the first content token, so
// earlier failures fail over invisibly), interruption after it (never a truncated success), and
// opt-in recovery by prefill or by a restart that streams only the undelivered rest.
#include "routed_call_impl.hpp"

namespace llmfailover {

void RoutedCallImpl::on_sse(Event&& e, Deferred& later) {
  if (mode_ == Mode::error_body) return keep_error_body(e.data);
  on_stream_piece(e.event, e.data, false, e.id, later);
}

void RoutedCallImpl::on_stream_piece(std::string_view event, std::string_view data, bool bytes, const std::string& id,
                                     Deferred& later) {
  std::vector<std::string> chunks;
  std::optional<providers::ErrorVerdict> err;
  bool malformed = false;
  std::string why;
  try {
    if (bytes) translator_->on_bytes(data, chunks, err);
    else if (translator_) translator_->on_sse(event, data, chunks, err);
    else chunks.emplace_back(data);
  } catch (const providers::TranslationError& x) {
    if (x.verdict()) err = *x.verdict();
    else why = x.what();
    malformed = !x.verdict();
  } catch (const std::exception& x) {  // an event of the wrong shape (a null where a string belongs)
    malformed = true;
    why = std::string(target_->provider->name()) + ": " + x.what();
  }
  if (malformed && bytes) {
    // A binary event stream that fails its framing or CRC cannot be resynchronised: whatever
    // follows is lost, so the stream is broken here, not merely one event.
    std::string cause = "the event stream is corrupt (" + why + ")";
    if (mode_ == Mode::stream_pre) return fail_answered({ErrorClass::retryable, "malformed_stream", cause}, later);
    return interrupted(cause, later);
  }
  for (auto& c : chunks) {
    if (mode_ != Mode::stream_pre && mode_ != Mode::stream_live) return;
    on_chunk(Event::sse("", std::move(c), id), later);
  }
  if (mode_ != Mode::stream_pre && mode_ != Mode::stream_live) return;
  if (malformed) on_chunk(Event::sse("", "{malformed", id), later);  // counted as the inspector counts them
  else if (err) on_stream_error(*err, later);
}

void RoutedCallImpl::on_stream_error(const providers::ErrorVerdict& v, Deferred& later) {
  if (mode_ == Mode::stream_pre) return fail_answered({v.cls, v.reason, v.message}, later);
  interrupted("the provider sent an error event: " + v.message, later);
}

void RoutedCallImpl::on_chunk(Event&& e, Deferred& later) {
  ChunkKind kind = inspect_.inspect(e.data);
  if (!inspect_.event_type().empty()) e.event = inspect_.event_type();  // Responses events are named
  learn_response_id();
  if (mode_ == Mode::stream_pre && resuming_ &&
      (kind == ChunkKind::content || kind == ChunkKind::meta || kind == ChunkKind::done))
    return resume_chunk(std::move(e), kind, later);
  if (mode_ == Mode::stream_pre) {
    if (kind == ChunkKind::malformed)
      return fail_answered({ErrorClass::retryable, "malformed_chunk", "the stream's first events were not valid JSON"},
                           later);
    if (kind == ChunkKind::error) return on_stream_error(inspect_.error_verdict(e.data), later);
    pending_.push_back(std::move(e));
    if (kind == ChunkKind::content) commit(later);
    return;
  }
  // Committed: the caller has text already.
  // A chunk that cannot be read after the commit point is text the caller would never get: the
  // stream is interrupted (then recovery applies), never finished as a truncated success.
  if (kind == ChunkKind::malformed) return interrupted("a chunk after the first token was not valid JSON", later);
  if (kind == ChunkKind::error) return on_stream_error(inspect_.error_verdict(e.data), later);
  if (resume_events_ && resuming_) {  // a recovered Responses stream: numbered as the delivered one
    for (auto& d : resume_events_->forward(e.data, 0)) channel_.push(Event::sse(e.event, std::move(d), e.id));
    return;
  }
  if (resume_events_)  // parsed once, by the inspector (a malformed event never gets here)
    if (const auto* ev = inspect_.last_event()) resume_events_->delivered_parsed(*ev);
  channel_.push(std::move(e));
}

void RoutedCallImpl::commit(Deferred& later) {
  succeed(later);  // time to first token is what the breaker's slow-call rule measures
  disarm(later);   // the first-token limit is met
  mode_ = Mode::stream_live;
  if (current_) later.push_back([ex = current_, idle = idle_] { ex->set_idle_timeout(idle); });
  channel_.push(Event::head(status_, served_headers()));
  if (req_.call.path == "/responses" && req_.stream && !resuming_) resume_events_.emplace();
  for (auto& e : pending_) {
    if (resume_events_) resume_events_->delivered(e.data);
    channel_.push(std::move(e));
  }
  pending_.clear();
}

void RoutedCallImpl::interrupted(const std::string& why, Deferred& later) {
  std::string cause = scrubbed(why);  // an error event's text is the upstream's
  // A Responses stream continues only from an open output text (responses_resume.hpp).
  const std::string blocker = resume_events_ && !resuming_ ? resume_events_->blocker() : std::string();
  if (!blocker.empty() && r_->config.stream_recovery == "continue") cause += "; " + blocker;
  release_slot();
  disarm(later);
  if (live_outcome_) end_load(policy::Outcome::failure(attempt_duration()));  // it broke: penalised
  if (current_) later.push_back([ex = std::move(current_)] { ex->cancel(); });
  target_->health->on_result(ErrorClass::retryable, attempt_duration(), std::nullopt);  // it broke: a failure
  current_rec().reason = "stream_interrupted";
  current_rec().message = cause;
  Error original{Errc::stream_interrupted,
                 "the stream from " + target_->id + " was interrupted after " + std::to_string(inspect_.text().size()) +
                     " characters (" + cause + ")",
                 true};
  // policy::decide(): continue on another target or the next group, unless opted out
  // (stream_recovery: error), already a recovery, or nowhere is left.
  policy::FailoverFacts f = facts(policy::FailoverEvent::stream_cut);
  Target* next = nullptr;
  policy::FailoverDecision d = policy::decide(f);
  if (d.action == policy::FailoverAction::pick) {
    next = offer(f, d.exclude_failed);
    d = policy::decide(f);
  }
  if (d.action != policy::FailoverAction::recover) {
    give_back(next);
    current_rec().decision = std::string(d.log);  // "interrupted"
    mode_ = Mode::done;
    return channel_.push(Event::failure(original));
  }
  // Recovery (the default; `stream_recovery: error` opts out): finish the answer on another
  // target, streaming only the part not yet delivered. A target that accepts an assistant
  // prefill (Provider::supports_prefill: Anthropic, Mistral) continues from the delivered text;
  // any other gets a clean restart whose delivered prefix must come back identically. Whatever
  // fails, the original error surfaces.
  current_rec().decision = std::string(d.log);
  original_error_ = original;
  delivered_ = inspect_.text();
  resuming_ = true;
  matched_ = 0;
  mode_ = Mode::idle;
  if (next) return begin_attempt(next, 0, later);
  enter_group(chain_pos_ + 1, later);
}

void RoutedCallImpl::resume_chunk(Event&& e, ChunkKind kind, Deferred& later) {
  if (kind != ChunkKind::content) {
    if (kind == ChunkKind::done) return give_up_recovery("the restarted answer ended early", later);
    if (resume_events_) resume_events_->swallow(e.data);
    return;  // role and other meta chunks were delivered the first time
  }
  auto differs = [&] {
    policy::FailoverFacts f = facts(policy::FailoverEvent::restart_differs);
    policy::FailoverDecision d = policy::decide(f);  // once more with the continuation prompt
    if (d.action == policy::FailoverAction::continuation_prompt && recover_again(std::string(d.log), later)) return;
    give_up_recovery("the restarted answer differs from what was delivered", later);
  };
  if (resume_events_) {  // Responses: only output text continues the delivered message
    resume_events_->swallow(e.data);
    if (resume_events_->diverged()) return differs();
    if (inspect_.event_type() != "response.output_text.delta") return;  // a reasoning summary: the caller has its own
  }
  const std::string& piece = inspect_.last_text();
  std::size_t left = delivered_.size() - matched_;
  std::size_t same = std::min(left, piece.size());
  if (delivered_.compare(matched_, same, piece, 0, same) != 0) return differs();
  matched_ += same;
  if (matched_ < delivered_.size()) return;
  succeed(later);
  disarm(later);
  current_rec().decision = "served_recovered";
  mode_ = Mode::stream_live;
  if (current_) later.push_back([ex = current_, idle = idle_] { ex->set_idle_timeout(idle); });
  if (resume_events_) {
    for (auto& d : resume_events_->forward(e.data, same)) channel_.push(Event::sse(e.event, std::move(d), e.id));
    return;
  }
  if (same < piece.size()) channel_.push(Event::sse(e.event, strip_content_prefix(e.data, same), e.id));
}

bool RoutedCallImpl::recover_again(const std::string& decision, Deferred& later) {
  Target* t = target_;
  if (decision == "continuation_prompt") {
    current_rec().message = "the restarted answer differs from what was delivered";
    end_attempt(ErrorClass::ignored, std::nullopt);
    disarm(later);
    if (current_) later.push_back([ex = std::move(current_)] { ex->cancel(); });
    continuation_ = true;
  } else {
    no_prefill_.insert(t);
  }
  current_rec().decision = decision;
  mode_ = Mode::idle;
  if (!readmit(t)) return false;
  --tries_[t];  // the same request asked differently, not a retry of a failure
  begin_attempt(t, 0, later);
  return true;
}

void RoutedCallImpl::give_up_recovery(const std::string& why, Deferred& later) {
  current_rec().message = why;
  current_rec().decision = "recovery_failed";
  end_attempt(ErrorClass::ignored, std::nullopt);
  disarm(later);
  if (current_) later.push_back([ex = std::move(current_)] { ex->cancel(); });
  mode_ = Mode::done;
  channel_.push(Event::failure(*original_error_));
}

}  // namespace llmfailover
