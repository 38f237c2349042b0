// routed_call_impl.hpp (private) — one call through the router, shared by routed_call.cpp
// (groups, picks, attempts and their requests), routed_events.cpp (events, timers, exception
// safety), routed_outcome.cpp (carrying out the failover decision, and what the caller gets),
// routed_stream.cpp (the stream commit point, interruption and recovery) and routed_responses.cpp
// (the Responses API and the other OpenAI endpoints, and pinning stateful calls) and
// routed_call_hedge.cpp (hedged requests: a second attempt raced against the current one) and
// routed_pass.cpp (pass-through mode, router.hpp's PassThrough: a plain client's request and
// answer verbatim). The call decides
// nothing itself: what follows a failure is policy::decide() (policy/failover.hpp), the limits of
// an attempt policy::attempt_limits().
//
// Every entry point (sink event, timer, cancel) takes the call's lock, updates the state and
// collects what must happen outside the lock (starting an exchange or a timer may run a sink at
// once); events from an attempt the call has moved past are recognised by their epoch and dropped.
//
// Exception safety: every entry point that runs on an io thread (sink event, timer, token
// delivery) and every deferred action catches what escapes it; the exception becomes a classified
// failure of the attempt it happened in (bad_response before the commit point, so the call fails
// over; stream_interrupted after it), never a silent death of the call (fault()).
// Lifetime: timers hold the call weakly and are cancelled when their attempt or the call ends, so
// a finished call is freed as soon as its caller lets go of it, not when its timers would fire.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llmfailover/json_scan.hpp"
#include "llmfailover/policy/failover.hpp"
#include "responses_resume.hpp"
#include "router_impl.hpp"
#include "llmfailover/secret_set.hpp"
#include "stream_inspect.hpp"

namespace llmfailover {

using Deferred = std::vector<std::function<void()>>;

// The first bytes of an error answer kept for classification and for the caller (the transport
// bounds what it reads; this bounds what a call holds when an error body arrives in pieces).
inline constexpr std::size_t kMaxErrorBody = 1 << 20;

struct Verdict {
  ErrorClass cls = ErrorClass::retryable;
  std::string reason, message;
  std::optional<Millis> hint;  // the upstream's retry-after, if it gave one
  bool silent = false;         // no answer before the first-token timeout, or a long silence
                               // that ended in a hang-up: not retried on that target
  Error error;                 // transport failure behind it, if any
};

// A duration the router arms a timer with or adds to a time point: "no limit" (Millis::max(), a
// huge value from timeout=inf) saturates at ten years instead of overflowing the clock's nanoseconds.
inline constexpr Millis kForever{Millis::rep{10} * 365 * 24 * 3600 * 1000};
inline Millis bounded(Millis d) { return std::clamp(d, Millis{0}, kForever); }

// What the balancer learns from an attempt that failed (or was cancelled: nothing).
policy::Outcome failed_outcome(ErrorClass cls, Millis elapsed, std::optional<Millis> hint);

inline double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

class RoutedCallImpl final : public RoutedCall, public std::enable_shared_from_this<RoutedCallImpl> {
 public:
  RoutedCallImpl(std::shared_ptr<Router::Impl> router, RouteRequest request);
  ~RoutedCallImpl() override;
  void start();
  Channel& channel() override { return channel_; }
  std::vector<AttemptRecord> attempts() const override;
  int retries_taken() const override;
  std::optional<RouteAttempt> served() const override;
  std::vector<RouteAttempt> route_log() const override;
  bool degraded() const override;
  metrics::CallCost cost() const override;
  std::shared_ptr<const RouteCapture> capture() const override;  // routed_metrics.cpp

 private:
  // `pass`: a pass-through call forwards its answer as it comes (routed_pass.cpp).
  enum class Mode { idle, head, error_body, body, stream_pre, stream_live, pass, done };

  // ---- moving through groups and targets --------------------------------------------------

  const GroupPolicy& policy() const { return *group_->policy; }
  // Which of its target's learnt normals an attempt of this call reads and feeds (policy::ttft_kind).
  std::size_t ttft_kind() const { return policy::ttft_kind(req_.stream, est_.output); }
  int max_attempts() const {
    const bool openai = policy().retry.style == RetryStyle::openai;
    return std::clamp(req_.overrides.max_attempts.value_or(policy().retry.max_attempts), 1,
                      openai ? kMaxOpenAiAttempts : kMaxRouterAttempts);
  }

  void enter_group(std::size_t pos, Deferred& later);
  std::set<const Target*> exhausted() const;
  bool is_exhausted(const Target* t) const;  // t is in exhausted(), without building the set
  // A target of this group the call has not tried, or a later group of the chain, is left.
  bool fallback_left() const;

  // The group's balancer picks the next target; what it took (concurrency slot, quota ticket) is
  // held by the call until the attempt ends.
  Target* pick_next(const std::set<const Target*>& exclude);

  // Admission for a target chosen without a pick (a transparent retry, the retry-after wait).
  bool admit(Target* t);
  void hold(Target* t, QuotaTickets tickets);
  void release_slot();

  // Quota tickets for a request that was never sent go back to their windows.
  void unsend();

  // The tokens the served answer used replace the estimate in the quota windows: the reported
  // usage, or for a stream without usage the prompt estimate + the streamed characters / 4.
  void correct_quota(std::int64_t total);
  void drop_held();
  void begin_attempt(Target* t, double waited_ms, Deferred& later);
  // What every new attempt starts from (begin_attempt, and a hedge taken over by take_hedge):
  // waiting for a head, nothing read, inspected or sampled yet.
  void reset_attempt_state();
  // The route log's entry of an attempt on `t` starting at `start`.
  RouteAttempt new_record(const Target& t, double waited_ms, Clock::time_point start);
  // An attempt's limits on `t` (policy::attempt_limits): the transport's timeouts and the idle limit.
  std::pair<Timeouts, Millis> attempt_timeouts(Target& t, Clock::time_point start);
  // The stream's first-token limit for the attempt `epoch`, `first_token` from now.
  void arm_first_token(std::uint64_t epoch, Millis first_token, Deferred& later);
  // The log entry of the current attempt (a hedge's entry may follow it in log_).
  RouteAttempt& current_rec() { return log_.at(cur_); }
  const RouteAttempt& current_rec() const { return log_.at(cur_); }

  // ---- hedged requests (routed_call_hedge.cpp; policy::hedge()) ----------------------------

  // A hedge in flight: its exchange, and its events held aside until it wins (replayed then).
  struct HedgeAttempt {
    std::uint64_t id = 0;
    Target* target = nullptr;
    std::size_t rec = 0;  // its entry in log_
    Clock::time_point start;
    Timeouts timeouts;
    Millis idle{0};
    QuotaTickets tickets;
    bool trial = false;
    int status = 0;
    std::unique_ptr<providers::StreamTranslator> translator;
    std::shared_ptr<transport::Exchange> ex;
    std::vector<Event> events;
  };
  policy::HedgeFacts hedge_facts(policy::HedgeStage stage) const;
  // Asks policy::hedge() when an attempt starts; arms the hedge timer.
  void arm_hedge(std::uint64_t epoch, Millis first_token, Deferred& later);
  void on_hedge_timer(std::uint64_t epoch);
  void send_hedge(Picked p, Deferred& later);
  void keep_hedge(std::uint64_t id, std::shared_ptr<transport::Exchange> ex);
  void on_hedge_event(std::uint64_t id, Event&& e);
  void hedge_event(Event&& e, Deferred& later);
  // The hedge answered first: the current attempt ends "hedge_cancelled" and the hedge is taken.
  void hedge_won(Deferred& later);
  // The hedge becomes the call's attempt; its held events are replayed through handle().
  void take_hedge(Deferred& later);
  // The hedge ends (failed, or cancelled because the other attempt won or the call ended).
  void end_hedge(ErrorClass cls, const std::string& reason, const std::string& message, const std::string& decision,
                 Deferred& later);
  // `why` is read only when a hedge runs (a view: the calls without one build no string).
  void cancel_hedge(std::string_view why, Deferred& later);
  // A pick the call does not use: its permit, slot and tickets back.
  void give_back_pick(const Picked& p);

  // The attempt's request, translated and started.
  void send(Target* t, const Timeouts& timeouts, std::uint64_t epoch, Deferred& later);

  // A target whose provider needs a credential fetched (Target::credentials)
  // gets one first: ready, or fetched once for every call waiting (providers/credentials.hpp). The
  // attempt goes on when it arrives; a failure ends the attempt like an error answer, so the
  // router fails over and the log names it.
  void send_with_credential(Target* t, const Timeouts& timeouts, std::uint64_t epoch, Deferred& later);
  // The call's deadline passed before the credential arrived.
  void on_credential_deadline(std::uint64_t epoch);

  // The request in the target's dialect, with the caller's extra headers and query on top.
  HttpRequest translate(const Target& t, const Timeouts& timeouts);

  // ---- the Responses API and the other OpenAI endpoints (routed_responses.cpp) -------------

  // A call that depends on a response's server-side state (previous_response_id, conversation,
  // /responses/{id}...) is pinned to the target that holds it, with no failover; false when the
  // call already ended because no target is known to hold it.
  bool pin_stateful();
  // Only the pinned target is left (after the chain is set).
  void restrict_to_pinned();
  // /responses (natively, or bridged to the target's chat dialect) and the OpenAI-family-only
  // endpoints (/completions, /moderations, /images/..., /audio/...).
  providers::TranslatedRequest translate_openai_path(const Target& t, const providers::Endpoint& ep,
                                                     nlohmann::json& body, const Timeouts& timeouts);
  // The answer of such a call as the caller gets it (a bridged chat answer as a Response).
  std::string openai_path_answer(std::string body);
  // A native response's id (and conversation) -> this target, for the calls that follow.
  void learn_response_id();

  // The target's provider cannot express this request (an unsupported parameter, a missing
  // setting): not the target's fault. Try the others; if none can, answer 400 naming it.
  void cannot_take(const providers::TranslationError& e, Deferred& later);
  void keep(std::uint64_t epoch, std::shared_ptr<transport::Exchange> ex);

  // ---- pass-through (routed_pass.cpp; router.hpp's PassThrough) ----------------------------

  // The caller's request for `t`: providers::build_request() over the call's upstream (or the
  // target's deployment), with the caller's per-attempt limits.
  HttpRequest pass_request(const Target& t, const Timeouts& timeouts);
  // An event of a pass-through attempt: before the head, failures go to the failover decision;
  // an error status the policy retries is read to its end and decided; any other head is the
  // answer, forwarded with everything after it as it comes.
  void pass_event(Event&& e, Deferred& later);
  void pass_head(Event&& e, Deferred& later);
  // The forwarded answer's terminal event (its end, or a failure after the head: never retried).
  void pass_end(Event&& e, Deferred& later);
  // The attempt's secrets (secrets_), gathered from its request on the first error that needs
  // them rather than on every send.
  void pass_secrets();

  // ---- events of the current attempt ------------------------------------------------------

  void on_event(std::uint64_t epoch, Event&& e);
  void deliver(std::uint64_t epoch, Event&& e, Deferred& later);  // on_event with the lock held
  // Runs deferred actions outside the lock; one that throws becomes a fault of the call.
  void run(Deferred& later);
  // An exception escaped the handling of an event, a timer or a deferred action (lock held):
  // the attempt fails classified (see the header comment); if even that throws, the call ends
  // with the error.
  void fault(const std::string& what, Deferred& later) noexcept;
  // Timers of the current attempt: kept so the call's end can cancel them.
  using TimerSlot = std::shared_ptr<transport::Exchange> RoutedCallImpl::*;
  void keep_timer(std::uint64_t epoch, TimerSlot slot, std::shared_ptr<transport::Exchange> timer);
  void disarm(Deferred& later);
  void handle(Event&& e, Deferred& later);
  void on_head(Event&& e, Deferred& later);
  void on_sse(Event&& e, Deferred& later);

  // One SSE event or a piece of a byte stream, through the provider's translator into OpenAI
  // chunks; each chunk then meets the commit point.
  void on_stream_piece(std::string_view event, std::string_view data, bool bytes, const std::string& id,
                       Deferred& later);
  void on_stream_error(const providers::ErrorVerdict& v, Deferred& later);
  void on_chunk(Event&& e, Deferred& later);
  void on_end(Deferred& later);
  // The error status's body, up to kMaxErrorBody.
  void keep_error_body(std::string_view data);
  // The error answer (status, headers, the body so far) classified by the provider, recorded
  // scrubbed as the answer the caller gets if nothing else is left, and failed.
  void on_error_answer(Deferred& later);
  // `text` without the attempt's or the router's secrets (secret_set.hpp).
  std::string scrubbed(std::string text);
  void on_error(Error error, Deferred& later);
  void on_first_token_timeout(std::uint64_t epoch);

  // ---- metrics (routed_metrics.cpp) -------------------------------------------------------
  void meter_attempt(ErrorClass cls, const Target* t, const RouteAttempt& rec);  // from end_attempt (lock held)
  // Counts the call, once: from the channel's push of its terminal event (every push is made
  // with the lock held) or from the caller's cancel (lock held).
  void meter_end();
  metrics::CallCost cost_locked() const;

  // ---- outcomes -----------------------------------------------------------------------------

  Millis attempt_duration() const { return std::chrono::duration_cast<Millis>(r_->time->now() - attempt_start_); }

  void end_attempt(ErrorClass cls, std::optional<Millis> hint);
  // The attempt leaves the balancer's and the target's in-flight count with what it measured.
  void end_load(policy::Outcome outcome);
  // A live stream's end: `complete` adds the total time and output tokens to its sample.
  void end_stream_load(bool complete);
  void succeed(Deferred& later);  // also ends a hedge in flight: this attempt won
  Headers served_headers() const;
  void commit(Deferred& later);
  void finish_ok(Deferred& later);
  void interrupted(const std::string& cause, Deferred& later);

  // A chunk of the restarted stream: swallow what the caller already has, then stream the rest.
  void resume_chunk(Event&& e, ChunkKind kind, Deferred& later);
  void give_up_recovery(const std::string& why, Deferred& later);
  // The recovery attempt ends (`decision` in its log) and the same target is asked again, as a
  // restart (no prefill) or with the continuation prompt; false when it cannot take it now.
  bool recover_again(const std::string& decision, Deferred& later);
  void fail(Verdict v, Deferred& later);
  // An error without an error status (an answer or event that means one, an answer that does not
  // fit the schema, a refused token): remembered as the answer the caller gets if nothing else is
  // left (verdict_answer), so it surfaces classified and naming the provider.
  void fail_answered(Verdict v, Deferred& later);
  // Carries out policy::decide() for the failed attempt (failover.hpp's call order).
  void decide(const Verdict& v, Deferred& later);
  // Carries out policy::decide() for an attempt that cannot be made (unsupported, wait_refused).
  void move_on(policy::FailoverEvent event, Deferred& later);
  // What the policy reads about the current attempt; `v` for a failed attempt.
  policy::FailoverFacts facts(policy::FailoverEvent event, const Verdict* v = nullptr) const;
  // FailoverAction::pick: the balancer's offer (held until used or given back), written into `f`.
  Target* offer(policy::FailoverFacts& f, bool exclude_failed);
  void give_back(Target* offered);
  // The failed target's permit and slot again, at once; false when refused (nothing held then).
  bool readmit(Target* t);
  // FailoverAction::switch_chain: the fatal request's own chain, once.
  void switch_chain(policy::RequestChain kind, Deferred& later);

  // `acquire`: take the target's permit when the wait is over (it was cooling down meanwhile).
  void schedule_attempt(Target* t, Millis wait, Deferred& later, bool acquire = false);
  void note_skip(const std::string& why);

  // Nothing left: the last error as the upstream gave it, or the degraded answer.
  void surface(Deferred&);
  // "all 2 targets failed: primary silent for 10.0 s, backup 503" ("" with fewer than 2 targets).
  std::string route_summary() const;
  // An OpenAI-shaped error body whose message opens with `summary`; any other body unchanged.
  static std::string with_summary(const std::string& body, const std::string& summary);

  // The last-resort answer stands in for unavailable targets, not for a request the upstream
  // rejected nor for the caller's own deadline or cancel; and it is a chat answer.
  bool degradable() const;
  void push_failure(Error e);
  void cancel_from_caller();

  std::shared_ptr<Router::Impl> r_;
  RouteRequest req_;
  // The caller's request: scanned (json_scan.hpp) for a chat or embeddings call, parsed into body_
  // only when an attempt needs the parsed value (parsed_body()).
  std::optional<RequestScan> scan_;
  std::shared_ptr<const providers::Upstream> pass_upstream_;  // pass-through: where it goes (routed_pass.cpp)
  std::string pass_url_;                                      // pass-through: the URL of its attempts
  bool pass_secrets_ = false;                                 // pass-through: secrets_ gathered
  nlohmann::json body_;
  bool parsed_ = false;
  const nlohmann::json& parsed_body();
  Clock::time_point t0_, deadline_, attempt_start_;
  std::vector<std::string> chain_;
  std::size_t chain_pos_ = 0;
  bool switched_chain_ = false;
  Group* group_ = nullptr;
  std::set<const Target*> tried_, transparent_used_;
  // Not tried again in this call: a target that was silent (policy::kSilentAfter), or whose half-open
  // trial failed (a trial is one attempt; the call fails over at once).
  std::set<const Target*> spent_;
  bool trial_ = false;  // the current attempt is its target's half-open trial
  std::map<const Target*, int> tries_;
  Target* target_ = nullptr;
  bool permit_ = false, ttft_expired_ = false, degraded_ = false, resuming_ = false, prefill_ = false;
  std::string delivered_;  // recovery: the content the caller already has
  // Recovery on a target whose restart cannot match what was delivered (another model words it
  // differently): the delivered text goes back as the assistant's turn with a user turn asking to
  // continue, and whatever comes is the rest. Targets that refused a prefill get a restart.
  bool continuation_ = false;
  std::set<const Target*> no_prefill_;
  std::size_t matched_ = 0;
  // A Responses stream: the events the caller was given, so that a recovery continues them
  // (responses_resume.hpp); set at the commit point.
  std::optional<ResponsesResume> resume_events_;
  std::optional<Error> original_error_;
  std::uint64_t epoch_ = 0;
  Mode mode_ = Mode::idle;
  Millis idle_{0};
  int status_ = 0;
  Headers headers_;
  std::string body_buf_, skips_;
  std::vector<Event> pending_;
  StreamInspector inspect_;
  std::unique_ptr<providers::StreamTranslator> translator_;
  Target* pinned_ = nullptr;          // a stateful Responses call: the target holding the state
  bool learned_ = false;              // the attempt's response id is remembered
  std::set<const Target*> unusable_;  // their provider cannot express this request
  std::optional<Event> last_head_;
  std::string last_body_;
  std::optional<Error> last_error_;
  std::shared_ptr<transport::Exchange> current_;
  std::shared_ptr<transport::Exchange> ttft_timer_,
      credential_timer_;                              // the attempt's first-token and credential-wait limits
  std::shared_ptr<transport::Exchange> hedge_timer_;  // the attempt's hedge delay
  std::size_t cur_ = 0;                               // the current attempt's entry in log_
  std::optional<HedgeAttempt> hedge_;
  int hedges_sent_ = 0;
  std::uint64_t hedge_seq_ = 0;
  std::optional<std::pair<std::uint64_t, std::uint64_t>> adopted_;  // the hedge taken: its id, its epoch
  SecretSet secrets_;                 // what the attempt sent that an upstream could echo (secret_set.hpp)
  std::optional<Secret> credential_;  // the fetched credential of the attempt's target, if it needs one
  bool awaiting_credential_ = false;  // the attempt waits for its target's credential fetch
  std::vector<RouteAttempt> log_;
  std::optional<RouteAttempt> served_;
  // Balancing and quotas
  policy::TokenEstimate est_;
  Target* slot_ = nullptr;  // whose concurrency slot the call holds
  QuotaTickets tickets_;    // in ticket_target_'s deployment and key windows
  Target* ticket_target_ = nullptr;
  bool ticket_sent_ = false;
  bool balancer_started_ = false;                // on_start called, on_finish not yet
  std::optional<policy::Outcome> live_outcome_;  // a live stream's outcome, given at its end
  std::optional<policy::LatencySample> sample_;  // the served answer's measurement
  std::string next_pick_, next_skipped_;         // for the next attempt's log entry
  std::optional<Usage> answer_usage_;            // a plain answer's usage (a stream's is in inspect_)
  // The route as it ended: written once by meter_end() (under mutex_), before the terminal event.
  std::shared_ptr<const RouteCapture> final_route_;
  std::atomic<bool> metered_{false};  // meter_end() counted the call (read without the lock by
                                      // the channel's cancel event)
  Channel channel_;
  mutable std::mutex mutex_;
};

}  // namespace llmfailover
