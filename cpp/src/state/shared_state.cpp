// shared_state.cpp — the refresher thread behind SharedState (shared_state.hpp).
#include "llmfailover/state/shared_state.hpp"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "llmfailover/state/redis.hpp"

namespace llmfailover::state {

namespace {

// Takes up to the asked units of each counter without passing its limit; returns what it granted.
// One script, so concurrent processes never both take the last units (Redis runs it atomically).
constexpr const char* kTakeScript = R"lua(
local function take(key, limit, want, ttl)
  if want <= 0 then return 0 end
  local used = tonumber(redis.call('GET', key) or '0')
  local grant = math.min(want, limit - used)
  if grant <= 0 then return 0 end
  redis.call('INCRBY', key, grant)
  redis.call('PEXPIRE', key, ttl)
  return grant
end
return {take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[5]),
        take(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5])}
)lua";

std::int64_t wall_ms() {
  return std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::int64_t scaled(std::int64_t per_minute, Millis window) {
  if (per_minute <= 0) return 0;
  double v = static_cast<double>(per_minute) * static_cast<double>(window.count()) / 60000.0;
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::floor(v)));
}

}  // namespace

struct SharedState::Impl {
  explicit Impl(StateConfig c)
      : cfg(std::move(c)), redis(cfg.url.reveal(), cfg.timeout, "state", "using local state", cfg.tls) {}

  struct Lease {
    std::string name;
    std::shared_ptr<policy::QuotaLease> lease;
    policy::QuotaLimits limits;  // per window
  };
  struct Publish {
    std::string target;
    std::optional<Millis> open_for;  // nullopt: closed
  };

  const StateConfig cfg;
  RedisConnection redis;
  std::mutex mutex;
  std::condition_variable cv;
  bool stop = false, woken = false;
  std::vector<Lease> leases;
  std::map<std::string, std::vector<Watcher>> watchers;
  std::deque<Publish> outbox;
  std::string script_sha;  // refresher thread only
  std::atomic<std::uint64_t> fallbacks{0};
  std::atomic<bool> up{true};
  std::thread thread;

  std::int64_t window_now() const { return wall_ms() / std::max<std::int64_t>(1, cfg.window.count()); }

  // Every command's outcome: the first failure after working ones counts one fallback.
  void note(RedisConnection::Outcome o) {
    if (o == RedisConnection::Outcome::ok) up = true;
    else if (up.exchange(false)) fallbacks.fetch_add(1, std::memory_order_relaxed);
  }

  void run() {
    auto next_poll = Clock::now();
    for (;;) {
      std::deque<Publish> out;
      std::vector<Lease> ls;
      {
        std::unique_lock lock(mutex);
        cv.wait_until(lock, next_poll, [&] { return stop || woken || !outbox.empty(); });
        if (stop) return;
        woken = false;
        out.swap(outbox);
        ls = leases;
      }
      publish(out);
      refill(ls);
      if (Clock::now() >= next_poll) {
        poll();
        next_poll = Clock::now() + cfg.poll;
      }
    }
  }

  std::string breaker_key(const std::string& target) const { return cfg.prefix + "b:" + target; }

  void publish(std::deque<Publish>& out) {
    for (const auto& p : out) {
      RedisConnection::Outcome o{};
      if (p.open_for && p.open_for->count() > 0)
        redis.command({"SET", breaker_key(p.target), "open", "PX", std::to_string(p.open_for->count())}, &o);
      else if (!p.open_for) redis.command({"DEL", breaker_key(p.target)}, &o);
      else continue;
      note(o);
    }
  }

  void refill(std::vector<Lease>& ls) {
    const std::int64_t window = window_now();
    for (auto& l : ls) {
      auto want = l.lease->wanted(window);
      if (!want) continue;
      auto got = take(l, *want);
      if (got) l.lease->granted(*want, got->first, got->second);
      else l.lease->unavailable(*want);
    }
  }

  // EVALSHA with the loaded script, EVAL when the server does not know it (a restart, SCRIPT FLUSH).
  std::optional<std::pair<std::int64_t, std::int64_t>> take(const Lease& l, const policy::LeaseRequest& want) {
    const std::string base = cfg.prefix + "q:{" + l.name + "}:" + std::to_string(want.window);
    std::vector<std::string> args{base + ":r",
                                  base + ":t",
                                  std::to_string(l.limits.rpm),
                                  std::to_string(want.requests),
                                  std::to_string(l.limits.tpm),
                                  std::to_string(want.tokens),
                                  std::to_string(2 * cfg.window.count())};
    RedisConnection::Outcome o{};
    std::optional<RedisReply> r;
    if (!script_sha.empty()) {
      std::vector<std::string> argv{"EVALSHA", script_sha, "2"};
      argv.insert(argv.end(), args.begin(), args.end());
      r = redis.command(argv, &o);
      if (r && r->type == RedisReply::Type::error && r->str.rfind("NOSCRIPT", 0) == 0) r.reset(), script_sha.clear();
    }
    if (!r && o == RedisConnection::Outcome::ok) {
      std::vector<std::string> argv{"EVAL", kTakeScript, "2"};
      argv.insert(argv.end(), args.begin(), args.end());
      r = redis.command(argv, &o);
      if (r && r->type != RedisReply::Type::error) load_script();
    }
    note(o);
    if (!r || r->type != RedisReply::Type::array || r->elements.size() != 2) return std::nullopt;
    return std::pair{static_cast<std::int64_t>(r->elements[0].integer),
                     static_cast<std::int64_t>(r->elements[1].integer)};
  }

  void load_script() {
    auto r = redis.command({"SCRIPT", "LOAD", kTakeScript});
    if (r && r->type == RedisReply::Type::string) script_sha = r->str;
  }

  void poll() {
    std::vector<std::string> names;
    {
      std::lock_guard lock(mutex);
      for (const auto& [name, w] : watchers) names.push_back(name);
    }
    if (names.empty()) return;
    std::vector<std::vector<std::string>> cmds;
    cmds.reserve(names.size());
    for (const auto& n : names) cmds.push_back({"PTTL", breaker_key(n)});
    RedisConnection::Outcome o{};
    auto replies = redis.pipeline(cmds, &o);
    note(o);
    if (!replies) return;  // local state only: the watchers are not told anything
    for (std::size_t i = 0; i < names.size(); ++i) {
      const RedisReply& r = (*replies)[i];
      std::optional<Millis> open_for;
      if (r.type == RedisReply::Type::integer && r.integer > 0) open_for = Millis{r.integer};
      std::vector<Watcher> ws;
      {
        std::lock_guard lock(mutex);
        ws = watchers[names[i]];
      }
      for (auto& w : ws) {
        try {
          w(open_for);
        } catch (...) {  // a broken watcher must not stop the refresher
        }
      }
    }
  }
};

SharedState::SharedState(StateConfig cfg) : impl_(std::make_unique<Impl>(std::move(cfg))) {
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

SharedState::~SharedState() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::shared_ptr<policy::QuotaLease> SharedState::quota(const std::string& name, policy::QuotaLimits per_minute) {
  policy::QuotaLimits w{static_cast<int>(scaled(per_minute.rpm, impl_->cfg.window)),
                        scaled(per_minute.tpm, impl_->cfg.window)};
  auto lease = std::make_shared<policy::QuotaLease>(w, impl_->cfg.slice);
  {
    std::lock_guard lock(impl_->mutex);
    impl_->leases.push_back({name, lease, w});
    impl_->woken = true;  // the first slice before the first request, when Redis is quick
  }
  impl_->cv.notify_all();
  return lease;
}

std::int64_t SharedState::window_now() const { return impl_->window_now(); }

Millis SharedState::until_next_window() const {
  const std::int64_t w = std::max<std::int64_t>(1, impl_->cfg.window.count());
  return Millis{w - wall_ms() % w};
}

void SharedState::wake() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->woken) return;
    impl_->woken = true;
  }
  impl_->cv.notify_all();
}

void SharedState::watch_breaker(const std::string& target, Watcher watcher) {
  std::lock_guard lock(impl_->mutex);
  impl_->watchers[target].push_back(std::move(watcher));
}

void SharedState::publish_open(const std::string& target, Millis wait) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->outbox.push_back({target, wait});
  }
  impl_->cv.notify_all();
}

void SharedState::publish_closed(const std::string& target) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->outbox.push_back({target, std::nullopt});
  }
  impl_->cv.notify_all();
}

std::uint64_t SharedState::fallbacks() const { return impl_->fallbacks.load(std::memory_order_relaxed); }
bool SharedState::connected() const { return impl_->up.load(); }
const StateConfig& SharedState::config() const { return impl_->cfg; }

}  // namespace llmfailover::state
