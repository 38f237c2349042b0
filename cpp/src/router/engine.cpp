#include "llmfailover/engine.hpp"

#include <cstdint>
#include <random>

#include "llmfailover/policy/retry.hpp"

namespace llmfailover {

namespace {

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

class RetryingCall final : public Call, public std::enable_shared_from_this<RetryingCall> {
 public:
  RetryingCall(std::shared_ptr<transport::HttpClient> http, std::function<double()> uniform01, HttpRequest request,
               int max_retries)
      : http_(std::move(http)),
        uniform01_(std::move(uniform01)),
        request_(std::move(request)),
        max_retries_(max_retries) {}

  void start() {
    const auto& o = http_->options();
    channel_.set_limits(o.max_queued_events, o.max_queued_bytes);
    channel_.on_cancel([weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        std::shared_ptr<transport::Exchange> current;
        {
          std::lock_guard lock(self->mutex_);
          current = std::move(self->current_);  // breaks the call <-> exchange cycle
        }
        if (current) current->cancel();
      }
    });
    attempt(0.0);
  }

  Channel& channel() override { return channel_; }
  std::vector<AttemptRecord> attempts() const override {
    std::lock_guard lock(mutex_);
    return log_;
  }
  int retries_taken() const override {
    std::lock_guard lock(mutex_);
    return retries_;
  }

 private:
  enum class Mode { waiting_head, forwarding, discarding };

  void attempt(double waited_ms) {
    if (channel_.cancelled()) return;
    std::uint64_t epoch;
    {
      std::lock_guard lock(mutex_);
      AttemptRecord rec;
      rec.attempt = static_cast<int>(log_.size()) + 1;
      rec.url = request_.url;
      rec.started_ms = ms_between(t0_, Clock::now());
      rec.waited_ms = waited_ms;
      log_.push_back(std::move(rec));
      attempt_start_ = Clock::now();
      mode_ = Mode::waiting_head;
      epoch = ++epoch_;
    }
    // Not under the lock: a closed client calls the sink at once.
    // The channel paces the exchange (backpressure); an attempt being discarded queues nothing.
    auto self = shared_from_this();
    std::shared_ptr<FlowControl> flow(self, &channel_);
    auto ex = http_->start(
        request_, [self](Event&& e) { self->on_event(std::move(e)); }, std::move(flow));
    keep_current(epoch, std::move(ex));
  }

  // Remembers what cancel() must stop, unless the call already moved on (or ended) meanwhile.
  void keep_current(std::uint64_t epoch, std::shared_ptr<transport::Exchange> ex) {
    std::lock_guard lock(mutex_);
    if (epoch == epoch_ && !channel_.finished()) current_ = std::move(ex);
  }

  void on_event(Event&& e) {
    std::unique_lock lock(mutex_);
    AttemptRecord& rec = log_.back();
    if (e.terminal()) rec.elapsed_ms = ms_between(attempt_start_, Clock::now());
    if (e.kind == Event::Kind::head) {
      rec.status = e.status;
      rec.error_class = status_class(e.status);
      if (auto asked = policy::parse_retry_after(e.headers, policy::WallClock::now()))
        rec.retry_after_ms = static_cast<double>(asked->count());
      if (e.status >= 400 && retries_ < max_retries_ && policy::openai_should_retry(e.status, e.headers)) {
        mode_ = Mode::discarding;  // read the body to keep the connection, then retry
        retry_headers_ = std::move(e.headers);
        return;
      }
      mode_ = Mode::forwarding;
    } else if (mode_ == Mode::discarding) {
      if (e.terminal()) schedule_retry(lock, &retry_headers_);
      return;
    } else if (e.kind == Event::Kind::error) {
      rec.error = e.error;
      if (mode_ == Mode::waiting_head) {
        rec.error_class = errc_class(e.error);
        if (retries_ < max_retries_ && policy::openai_should_retry(e.error) && !channel_.cancelled())
          return schedule_retry(lock, nullptr);
      }
    }
    if (e.terminal()) current_.reset();  // the exchange holds us through its sink: break the cycle
    lock.unlock();
    channel_.push(std::move(e));
  }

  void schedule_retry(std::unique_lock<std::mutex>& lock, const Headers* headers) {
    Millis delay = policy::openai_retry_delay(retries_, headers, uniform01_(), policy::WallClock::now());
    ++retries_;
    std::uint64_t epoch = ++epoch_;
    current_.reset();
    lock.unlock();
    double waited = static_cast<double>(delay.count());
    auto timer = http_->schedule(delay, [self = shared_from_this(), waited] { self->attempt(waited); });
    keep_current(epoch, std::move(timer));
  }

  std::shared_ptr<transport::HttpClient> http_;
  std::function<double()> uniform01_;
  HttpRequest request_;
  int max_retries_;
  Channel channel_;
  mutable std::mutex mutex_;
  std::vector<AttemptRecord> log_;
  std::shared_ptr<transport::Exchange> current_;
  Headers retry_headers_;
  Mode mode_ = Mode::waiting_head;
  int retries_ = 0;
  std::uint64_t epoch_ = 0;  // bumped by every attempt and every scheduled retry
  Clock::time_point t0_ = Clock::now();
  Clock::time_point attempt_start_;
};

}  // namespace

Engine::Engine(transport::ClientOptions options, std::function<double()> uniform01)
    : uniform01_(std::move(uniform01)), http_(std::make_shared<transport::HttpClient>(std::move(options))) {
  if (!uniform01_) {
    auto gen = std::make_shared<std::mt19937_64>(std::random_device{}());
    auto mu = std::make_shared<std::mutex>();
    uniform01_ = [gen, mu] {
      std::lock_guard lock(*mu);
      return std::uniform_real_distribution<double>(0.0, 1.0)(*gen);
    };
  }
}

Engine::~Engine() { close(); }

std::shared_ptr<Call> Engine::send(const providers::Upstream& upstream, const providers::ApiCall& call,
                                   const Timeouts& timeouts, int max_retries) {
  auto c = std::make_shared<RetryingCall>(http_, uniform01_, providers::build_request(upstream, call, timeouts),
                                          std::max(0, max_retries));
  c->start();
  // The exchange holds the call (its sink and flow control), so the call cannot notice being
  // dropped by itself; the handle the caller gets cancels it when the last copy goes. A dropped
  // stream would otherwise stay paused (backpressure) with its connection until close().
  struct Handle {
    std::shared_ptr<RetryingCall> call;
    ~Handle() {
      if (call) call->cancel();  // a no-op once the call ended
    }
  };
  auto handle = std::make_shared<Handle>();
  handle->call = std::move(c);
  return std::shared_ptr<Call>(handle, handle->call.get());
}

}  // namespace llmfailover
