// redis_cache.cpp — the Redis backend through hiredis, bounded by a short timeout (redis_cache.hpp).
#include "llmfailover/cache/redis_cache.hpp"

#include <hiredis/hiredis.h>

#include <charconv>
#include <cstdio>
#include <mutex>

namespace llmfailover::cache {

namespace {

// After a failure the cache is skipped this long before the next connection attempt, so a down
// or slow Redis costs at most one `timeout` per second, not one per request.
constexpr Millis kSkipAfterFailure{1000};

bool parse_int(std::string_view s, int lo, int hi, int& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size() && out >= lo && out <= hi;
}

timeval to_timeval(Millis d) {
  return {static_cast<time_t>(d.count() / 1000), static_cast<suseconds_t>((d.count() % 1000) * 1000)};
}

}  // namespace

std::optional<RedisUrl> parse_redis_url(const std::string& url, std::string* why) {
  auto fail = [&](const std::string& m) -> std::optional<RedisUrl> {
    if (why) *why = m + " (expected redis://[[user]:password@]host[:port][/db] or unix:///path)";
    return std::nullopt;
  };
  const std::string scheme = "redis://";
  if (url.rfind("unix://", 0) == 0) {
    RedisUrl out;
    out.socket = url.substr(7);
    if (out.socket.empty() || out.socket[0] != '/') return fail("a unix:// URL needs an absolute socket path");
    return out;
  }
  if (url.rfind(scheme, 0) != 0) return fail("not a redis:// or unix:// URL");
  std::string rest = url.substr(scheme.size());
  RedisUrl out;
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
  const std::string scheme = "redis://";
  if (at == std::string::npos || url.rfind(scheme, 0) != 0) return url;
  std::string auth = url.substr(scheme.size(), at - scheme.size());
  auto colon = auth.find(':');
  std::string user = colon == std::string::npos ? "" : auth.substr(0, colon);
  return scheme + user + ":***" + url.substr(at);
}

struct RedisCache::Impl {
  RedisUrl url;
  std::string shown;  // redacted, for warnings
  Millis timeout;
  std::size_t max_entry_bytes;
  std::mutex mutex;
  redisContext* ctx = nullptr;
  Clock::time_point skip_until{};
  bool warned = false;
  Stats stats;

  ~Impl() { drop(); }
  void drop() {
    if (ctx) redisFree(ctx);
    ctx = nullptr;
  }

  // Under mutex. The failure ends the connection and skips the cache for a second.
  void failed(const std::string& what) {
    ++stats.errors;
    if (!warned)  // once per outage; a reconnect that works says so
      std::fprintf(stderr, "llmfailover: cache: Redis %s: %s; skipping the cache (requests go upstream)\n",
                   shown.c_str(), what.c_str());
    warned = true;
    drop();
    skip_until = Clock::now() + kSkipAfterFailure;
  }

  // A reply to `argv`, or nullptr after failed(): the caller frees it.
  redisReply* command(const std::vector<std::string>& argv) {
    if (!ctx) {
      if (Clock::now() < skip_until) {
        ++stats.skipped;
        return nullptr;
      }
      timeval tv = to_timeval(timeout);
      ctx = url.socket.empty() ? redisConnectWithTimeout(url.host.c_str(), url.port, tv)
                               : redisConnectUnixWithTimeout(url.socket.c_str(), tv);
      if (!ctx || ctx->err) {
        failed(ctx ? std::string("cannot connect: ") + ctx->errstr : "cannot connect");
        return nullptr;
      }
      redisSetTimeout(ctx, tv);
      if (!url.password.empty()) {
        auto* r = url.username.empty() ? call({"AUTH", url.password}) : call({"AUTH", url.username, url.password});
        if (!r) return nullptr;
        bool ok = r->type != REDIS_REPLY_ERROR;
        freeReplyObject(r);
        if (!ok) return failed("AUTH refused"), nullptr;
      }
      if (url.db) {
        auto* r = call({"SELECT", std::to_string(url.db)});
        if (!r) return nullptr;
        bool ok = r->type != REDIS_REPLY_ERROR;
        freeReplyObject(r);
        if (!ok) return failed("SELECT refused"), nullptr;
      }
      if (warned) std::fprintf(stderr, "llmfailover: cache: Redis %s is back\n", shown.c_str());
      warned = false;
    }
    return call(argv);
  }

  redisReply* call(const std::vector<std::string>& argv) {
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (const auto& a : argv) ptrs.push_back(a.data()), lens.push_back(a.size());
    auto* r = static_cast<redisReply*>(redisCommandArgv(ctx, static_cast<int>(argv.size()), ptrs.data(), lens.data()));
    if (!r) failed(ctx->errstr[0] ? ctx->errstr : "no reply");
    return r;
  }
};

RedisCache::RedisCache(const std::string& url, Millis timeout, std::size_t max_entry_bytes)
    : impl_(std::make_unique<Impl>()) {
  impl_->url = parse_redis_url(url, nullptr).value_or(RedisUrl{});
  impl_->shown = redacted_url(url);
  impl_->timeout = timeout;
  impl_->max_entry_bytes = max_entry_bytes;
}

RedisCache::~RedisCache() = default;

void RedisCache::put(const std::string& key, std::string value, Millis ttl) {
  if (value.size() > impl_->max_entry_bytes || ttl <= Millis{0}) return;
  std::lock_guard lock(impl_->mutex);
  if (auto* r = impl_->command({"SET", kPrefix + key, value, "PX", std::to_string(ttl.count())})) freeReplyObject(r);
}

std::optional<std::string> RedisCache::get(const std::string& key) {
  std::lock_guard lock(impl_->mutex);
  auto* r = impl_->command({"GET", kPrefix + key});
  if (!r) {
    ++impl_->stats.misses;
    return std::nullopt;
  }
  std::optional<std::string> out;
  if (r->type == REDIS_REPLY_STRING) out = std::string(r->str, r->len);
  freeReplyObject(r);
  ++(out ? impl_->stats.hits : impl_->stats.misses);
  return out;
}

void RedisCache::erase(const std::string& key) {
  std::lock_guard lock(impl_->mutex);
  if (auto* r = impl_->command({"DEL", kPrefix + key})) freeReplyObject(r);
}

RedisCache::Stats RedisCache::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->stats;
}

}  // namespace llmfailover::cache
