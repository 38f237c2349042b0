// routed_pass.cpp — pass-through mode (router.hpp's PassThrough): a plain client's request sent
// as it was built, and the upstream's answer forwarded as it came. The routed call around it
// (picks, attempts, waits, cancel, the route log) is the one every call has; what differs is the
// request (no translation, no body parse) and the events (no inspection: the head decides).
#include "llmfailover/policy/retry.hpp"
#include "routed_call_impl.hpp"

namespace llmfailover {

namespace {

// A deployment of provider openai or azure as the Upstream providers::build_request() takes;
// std::invalid_argument for any other provider (the call then answers 400 naming it).
std::shared_ptr<const providers::Upstream> deployment_upstream(const Target& t) {
  auto u = std::make_shared<providers::Upstream>();
  u->kind = providers::upstream_kind(t.deployment->provider);
  u->base_url = t.endpoint.base_url.empty() ? std::string("https://api.openai.com/v1") : t.endpoint.base_url;
  u->api_key = t.endpoint.api_key.reveal();
  u->organization = t.endpoint.organization;
  u->api_version = t.endpoint.api_version;
  u->default_headers = t.endpoint.headers;
  return u;
}

}  // namespace

HttpRequest RoutedCallImpl::pass_request(const Target& t, const Timeouts& timeouts) {
  if (!pass_upstream_) pass_upstream_ = req_.pass->upstream ? req_.pass->upstream : deployment_upstream(t);
  HttpRequest http = providers::build_request(*pass_upstream_, req_.call, timeouts);
  pass_url_ = http.url;
  return http;
}

void RoutedCallImpl::pass_secrets() {
  if (pass_secrets_ || !pass_upstream_) return;
  pass_secrets_ = true;
  secrets_.add_from_request(providers::build_request(*pass_upstream_, req_.call, Timeouts{}));
}

void RoutedCallImpl::pass_event(Event&& e, Deferred& later) {
  switch (mode_) {
    case Mode::head:
      if (e.kind == Event::Kind::head) return pass_head(std::move(e), later);
      // A failure before the head: the policy decides (openai's rules retry a connection error
      // or a time-out). A transport replay on a fresh connection is not an attempt of its own:
      // openai-python's client never sees it either.
      if (e.kind != Event::Kind::error) return;
      if (e.replayed) current_rec().replayed = true;
      return on_error(std::move(e.error), later);
    case Mode::error_body:  // an error status the policy retries: read to its end, then decided
      if (e.kind == Event::Kind::body) return keep_error_body(e.data);
      if (e.kind == Event::Kind::end) return on_error_answer(later);
      if (e.kind == Event::Kind::error) return on_error(std::move(e.error), later);
      return;
    case Mode::pass:
      if (e.terminal()) return pass_end(std::move(e), later);
      channel_.push(std::move(e));  // as it came: body pieces, SSE events
      return;
    case Mode::idle:
    case Mode::body:
    case Mode::stream_pre:
    case Mode::stream_live:
    case Mode::done: return;
  }
}

void RoutedCallImpl::pass_head(Event&& e, Deferred& later) {
  RouteAttempt& rec = current_rec();
  status_ = e.status;
  rec.status = status_;
  rec.replayed = e.replayed;
  rec.first_byte_ms = ms(r_->time->now() - attempt_start_);
  if (status_ >= 400) {
    pass_secrets();  // on_error_answer() scrubs the headers it keeps
    // openai-python's rule (policy/retry.hpp) while attempts are left: this answer is not the
    // caller's. The router's style reads every error answer and lets the decision say.
    const bool openai = policy().retry.style == RetryStyle::openai;
    const auto tries = tries_.find(target_);
    const int tried = tries == tries_.end() ? 0 : tries->second;
    if (!openai || (tried < max_attempts() && policy::openai_should_retry(status_, e.headers))) {
      headers_ = std::move(e.headers);
      mode_ = Mode::error_body;
      return;
    }
  }
  // The answer: the caller gets it as it comes, from its head on.
  const ErrorClass cls = status_ >= 400 ? status_class(status_) : ErrorClass::none;
  rec.error_class = std::string(to_string(cls));
  rec.decision = status_ >= 400 ? "give_up" : "served";
  end_attempt(cls, std::nullopt);
  if (cls == ErrorClass::none) served_ = rec;
  mode_ = Mode::pass;
  channel_.push(std::move(e));
  (void)later;
}

void RoutedCallImpl::pass_end(Event&& e, Deferred& later) {
  RouteAttempt& rec = current_rec();
  rec.elapsed_ms = ms(r_->time->now() - attempt_start_);  // the whole answer, as the plain client counts it
  if (e.kind == Event::Kind::error) {  // cut after the head: the caller has part of the answer, never retried
    rec.error = std::string(to_string(e.error.code));
    rec.message = scrubbed(e.error.message);
  }
  end_stream_load(/*complete=*/e.kind == Event::Kind::end);
  release_slot();
  disarm(later);
  mode_ = Mode::done;
  current_.reset();  // the exchange holds the call through its sink: break the cycle
  channel_.push(std::move(e));
}

}  // namespace llmfailover
