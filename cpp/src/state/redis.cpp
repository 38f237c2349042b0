// redis.cpp — the short-timeout hiredis connection (state/redis.hpp).
#include "llmfailover/state/redis.hpp"

#include <hiredis/hiredis.h>

#include <charconv>
#include <cstdio>
#include <mutex>

#include "redis_tls.hpp"

namespace llmfailover::state {

namespace {

// After a failure Redis is skipped this long before the next connection attempt.
constexpr Millis kSkipAfterFailure{1000};

bool parse_int(std::string_view s, int lo, int hi, int& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size() && out >= lo && out <= hi;
}

timeval to_timeval(Millis d) {
  return {static_cast<time_t>(d.count() / 1000), static_cast<suseconds_t>((d.count() % 1000) * 1000)};
}

RedisReply to_value(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING: out.type = RedisReply::Type::string; break;
    case REDIS_REPLY_STATUS: out.type = RedisReply::Type::status; break;
    case REDIS_REPLY_ERROR: out.type = RedisReply::Type::error; break;
    case REDIS_REPLY_INTEGER: out.type = RedisReply::Type::integer; break;
    case REDIS_REPLY_ARRAY: out.type = RedisReply::Type::array; break;
    default: out.type = RedisReply::Type::nil; break;
  }
  if (r->str) out.str.assign(r->str, r->len);
  out.integer = r->integer;
  for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(to_value(r->element[i]));
  return out;
}

}  // namespace

std::optional<RedisUrl> parse_redis_url(const std::string& url, std::string* why) {
  auto fail = [&](const std::string& m) -> std::optional<RedisUrl> {
    if (why) *why = m + " (expected redis[s]://[[user]:password@]host[:port][/db] or unix:///path)";
    return std::nullopt;
  };
  const bool tls = url.rfind("rediss://", 0) == 0;
  const std::string scheme = tls ? "rediss://" : "redis://";
  if (url.rfind("unix://", 0) == 0) {
    RedisUrl out;
    out.socket = url.substr(7);
    if (out.socket.empty() || out.socket[0] != '/') return fail("a unix:// URL needs an absolute socket path");
    return out;
  }
  if (url.rfind(scheme, 0) != 0) return fail("not a redis://, rediss:// or unix:// URL");
  std::string rest = url.substr(scheme.size());
  RedisUrl out;
  out.tls = tls;
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    std::string auth = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = auth.find(':');
    if (colon == std::string::npos) out.password = auth;
    else out.username = auth.substr(0, colon), out.password = auth.substr(colon + 1);
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    std::string db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty() && !parse_int(db, 0, 1 << 20, out.db)) return fail("the database number is not a number");
  }
  if (auto colon = rest.rfind(':'); colon != std::string::npos && rest.find(']') == std::string::npos) {
    if (!parse_int(rest.substr(colon + 1), 1, 65535, out.port)) return fail("the port is not within 1..65535");
    rest = rest.substr(0, colon);
  }
  if (!rest.empty()) out.host = rest;
  for (char c : out.host)
    if (c == '/' || c == '?' || c == '#' || static_cast<unsigned char>(c) <= ' ') return fail("the host is malformed");
  return out;
}

std::string redacted_url(const std::string& url) {
  auto at = url.rfind('@');
  const std::string scheme = url.rfind("rediss://", 0) == 0 ? "rediss://" : "redis://";
  if (at == std::string::npos || url.rfind(scheme, 0) != 0) return url;
  std::string auth = url.substr(scheme.size(), at - scheme.size());
  auto colon = auth.find(':');
  std::string user = colon == std::string::npos ? "" : auth.substr(0, colon);
  return scheme + user + ":***" + url.substr(at);
}

struct RedisConnection::Impl {
  RedisUrl url;
  std::string shown;  // redacted, for warnings
  std::string who, then;
  Millis timeout;
  RedisTls tls;
  std::unique_ptr<detail::RedisTlsContext> tls_context;  // made at the first rediss:// connect
  std::mutex mutex;
  redisContext* ctx = nullptr;
  Clock::time_point skip_until{};
  bool warned = false;

  ~Impl() { drop(); }
  void drop() {
    if (ctx) redisFree(ctx);
    ctx = nullptr;
  }

  // Under mutex. The failure ends the connection and skips Redis for a second.
  void failed(const std::string& what) {
    if (!warned)  // once per outage; a reconnect that works says so
      std::fprintf(stderr, "llmfailover: %s: Redis %s: %s; %s\n", who.c_str(), shown.c_str(), what.c_str(),
                   then.c_str());
    warned = true;
    drop();
    skip_until = Clock::now() + kSkipAfterFailure;
  }

  bool append(const std::vector<std::string>& argv) {
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (const auto& a : argv) ptrs.push_back(a.data()), lens.push_back(a.size());
    return redisAppendCommandArgv(ctx, static_cast<int>(argv.size()), ptrs.data(), lens.data()) == REDIS_OK;
  }

  // Sends all, reads all; nullopt after failed().
  std::optional<std::vector<RedisReply>> round_trip(const std::vector<std::vector<std::string>>& commands) {
    for (const auto& argv : commands)
      if (!append(argv)) return failed("cannot send"), std::nullopt;
    std::vector<RedisReply> out;
    for (std::size_t i = 0; i < commands.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(ctx, &raw) != REDIS_OK || !raw) {
        failed(ctx->errstr[0] ? ctx->errstr : "no reply");
        if (raw) freeReplyObject(raw);
        return std::nullopt;
      }
      out.push_back(to_value(static_cast<redisReply*>(raw)));
      freeReplyObject(raw);
    }
    return out;
  }

  // Under mutex, on a connected ctx: the TLS handshake, or false after failed().
  bool start_tls() {
    std::string why;
    if (!tls_context) tls_context = detail::RedisTlsContext::make(tls, &why);
    if (tls_context) why = tls_context->start(ctx, url.host);
    if (why.empty()) return true;
    failed(why);
    return false;
  }

  // Under mutex: a live connection (AUTH and SELECT done), or false (skipped or failed).
  bool connect(Outcome& outcome) {
    if (ctx) return true;
    if (Clock::now() < skip_until) return outcome = Outcome::skipped, false;
    outcome = Outcome::failed;
    timeval tv = to_timeval(timeout);
    ctx = url.socket.empty() ? redisConnectWithTimeout(url.host.c_str(), url.port, tv)
                             : redisConnectUnixWithTimeout(url.socket.c_str(), tv);
    if (!ctx || ctx->err) return failed(ctx ? std::string("cannot connect: ") + ctx->errstr : "cannot connect"), false;
    redisSetTimeout(ctx, tv);  // before the TLS handshake: it bounds that too
    if (url.tls && !start_tls()) return false;
    std::vector<std::vector<std::string>> setup;
    if (!url.password.empty())
      setup.push_back(url.username.empty() ? std::vector<std::string>{"AUTH", url.password}
                                           : std::vector<std::string>{"AUTH", url.username, url.password});
    if (url.db) setup.push_back({"SELECT", std::to_string(url.db)});
    if (!setup.empty()) {
      auto replies = round_trip(setup);
      if (!replies) return false;
      for (const auto& r : *replies)
        if (r.type == RedisReply::Type::error) return failed("AUTH or SELECT refused"), false;
    }
    if (warned) std::fprintf(stderr, "llmfailover: %s: Redis %s is back\n", who.c_str(), shown.c_str());
    warned = false;
    outcome = Outcome::ok;
    return true;
  }
};

RedisConnection::RedisConnection(const std::string& url, Millis timeout, std::string who, std::string then,
                                 RedisTls tls)
    : impl_(std::make_unique<Impl>()) {
  impl_->tls = std::move(tls);
  impl_->url = parse_redis_url(url, nullptr).value_or(RedisUrl{});
  impl_->shown = redacted_url(url);
  impl_->who = std::move(who);
  impl_->then = std::move(then);
  impl_->timeout = timeout;
}

RedisConnection::~RedisConnection() = default;

std::optional<std::vector<RedisReply>> RedisConnection::pipeline(const std::vector<std::vector<std::string>>& commands,
                                                                 Outcome* outcome) {
  std::lock_guard lock(impl_->mutex);
  Outcome o = Outcome::ok;
  std::optional<std::vector<RedisReply>> out;
  if (impl_->connect(o)) {
    out = impl_->round_trip(commands);
    if (!out) o = Outcome::failed;
  }
  if (outcome) *outcome = o;
  return out;
}

std::optional<RedisReply> RedisConnection::command(const std::vector<std::string>& argv, Outcome* outcome) {
  auto replies = pipeline({argv}, outcome);
  if (!replies || replies->empty()) return std::nullopt;
  return std::move(replies->front());
}

const std::string& RedisConnection::shown() const noexcept { return impl_->shown; }

}  // namespace llmfailover::state
