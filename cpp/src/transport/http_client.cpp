// http_client.cpp — one exchange = one coroutine on one io shard (an io_context run by one thread).
//
// Shards share nothing, so the pool and the exchange state need no locks; other threads reach a
// shard only through asio::post (cancel, stats, shutdown).
#include "llmfailover/transport/http_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cstdio>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <thread>
#include <unordered_set>

#include "connection_pool.hpp"
#include "llmfailover/transport/sse.hpp"
#include "llmfailover/transport/url.hpp"

namespace llmfailover::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using detail::Connection;
using detail::ConnectionPool;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

class Task;  // an exchange or a scheduled callback living on a shard

struct Shard {
  explicit Shard(PoolLimits limits) : ioc(1), pool(limits) {}
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  ConnectionPool pool;
  std::unordered_set<Task*> live;  // for shutdown
  bool stopping = false;
  std::thread thread;
};

class Task : public Exchange, public std::enable_shared_from_this<Task> {
 public:
  explicit Task(Shard& shard) : shard_(shard) {}
  void cancel() override {
    asio::post(shard_.ioc, [self = shared_from_this()] { self->abort(); });
  }
  // On the shard thread: stop whatever the task is waiting on.
  virtual void abort() = 0;
  // On the shard thread, when the client closes: end promptly, so that nobody waits forever.
  virtual void shutdown() { abort(); }

 protected:
  Shard& shard_;
};

class Scheduled final : public Task {
 public:
  Scheduled(Shard& shard, std::function<void()> fn) : Task(shard), timer_(shard.ioc), fn_(std::move(fn)) {}
  void start(Millis delay) {
    shard_.live.insert(this);
    timer_.expires_after(delay);
    timer_.async_wait([self = std::static_pointer_cast<Scheduled>(shared_from_this())](beast::error_code ec) {
      self->shard_.live.erase(self.get());
      if (!ec && !self->aborted_) self->fn_();
    });
  }
  void abort() override {
    aborted_ = true;
    timer_.cancel();
  }
  // Runs the callback early: what it starts fails fast on a closing client.
  void shutdown() override {
    if (aborted_) return;
    aborted_ = true;
    timer_.cancel();
    fn_();
  }

 private:
  asio::steady_timer timer_;
  std::function<void()> fn_;
  bool aborted_ = false;
};

bool is_ip_literal(const std::string& host) {
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

Clock::time_point earliest(Clock::time_point a, std::optional<Clock::time_point> b) {
  return b && *b < a ? *b : a;
}

enum class Phase { connect, first_byte, body };

}  // namespace

struct HttpClient::Impl {
  explicit Impl(ClientOptions o);
  ~Impl();
  Shard& next_shard() { return *shards[next.fetch_add(1, std::memory_order_relaxed) % shards.size()]; }
  void shutdown();

  ClientOptions options;
  std::mutex shutdown_mutex;
  std::atomic<bool> closed{false};
  ssl::context tls_ctx;
  std::vector<std::unique_ptr<Shard>> shards;
  std::atomic<std::size_t> next{0};
};

namespace {

class HttpExchange final : public Task {
 public:
  HttpExchange(HttpClient::Impl& client, Shard& shard, HttpRequest request, EventSink sink)
      : Task(shard), client_(client), request_(std::move(request)), sink_(std::move(sink)) {}

  void start() {
    asio::co_spawn(shard_.ioc, run(std::static_pointer_cast<HttpExchange>(shared_from_this())), asio::detached);
  }

  void set_idle_timeout(Millis idle) override {
    asio::post(shard_.ioc, [self = std::static_pointer_cast<HttpExchange>(shared_from_this()), idle] {
      self->request_.timeouts.idle = idle;
    });
  }

  void abort() override {
    if (done_) return;
    cancelled_ = true;
    if (waiting_) waiting_->cancel();
    if (resolver_) resolver_->cancel();
    if (conn_) conn_->close();
  }

 private:
  struct Acquired {
    bool fresh = false;
    Error error;
  };

  static asio::awaitable<void> run(std::shared_ptr<HttpExchange> self) {
    self->shard_.live.insert(self.get());
    co_await self->perform();
    self->shard_.live.erase(self.get());
  }

  asio::awaitable<void> perform() {
    if (shard_.stopping) co_return finish(Event::failure({Errc::cancelled, "the client is closing", false}));
    auto url = parse_url(request_.url);
    if (!url) co_return finish(Event::failure({Errc::bad_url, "not an absolute http(s) URL", false}));
    url_ = std::move(*url);
    origin_ = url_.origin();
    deadline_ = request_.deadline;
    if (request_.timeouts.total.count() > 0)
      deadline_ = earliest(Clock::now() + request_.timeouts.total, deadline_);

    // A pooled connection the peer has silently closed fails before any response byte; such a
    // failure is retried once on a fresh connection (what curl, urllib3 and Go's client do).
    for (int round = 0; round < 2 && !done_; ++round) {
      Acquired a = co_await acquire();
      if (a.error) co_return finish(Event::failure(std::move(a.error)));
      bool stale = false;
      replayed_ = round > 0;
      co_await exchange(a.fresh, stale);
      if (!stale) co_return;
    }
  }

  asio::awaitable<Acquired> acquire() {
    auto& pool = shard_.pool;
    Clock::time_point give_up = earliest(Clock::now() + request_.timeouts.connect, deadline_);
    for (;;) {
      if (cancelled_) co_return Acquired{false, {Errc::cancelled, "cancelled by the caller", false}};
      if ((conn_ = pool.take_idle(origin_))) {
        pool.count_reuse();
        co_return Acquired{false, {}};
      }
      if (pool.reserve(origin_)) {
        Error e = co_await connect(give_up);
        if (e) pool.drop(origin_);
        else pool.count_open();
        co_return Acquired{true, std::move(e)};
      }
      asio::steady_timer timer(shard_.ioc);
      timer.expires_at(give_up);
      waiting_ = &timer;
      pool.wait_for_slot(origin_, &timer);
      auto [ec] = co_await timer.async_wait(use_tuple);
      waiting_ = nullptr;
      if (!ec) {
        pool.forget_waiter(origin_, &timer);
        co_return Acquired{false, timed_out(Phase::connect, give_up, "waiting for a free connection to " + origin_)};
      }
    }
  }

  // Opens conn_ (TCP, then TLS for https) within `give_up`.
  asio::awaitable<Error> connect(Clock::time_point give_up) {
    conn_ = std::make_unique<Connection>();
    conn_->origin = origin_;
    conn_->plain = std::make_unique<beast::tcp_stream>(shard_.ioc);
    auto fail = [&](Error e) { conn_.reset(); return e; };

    tcp::resolver resolver(shard_.ioc);
    resolver_ = &resolver;
    asio::steady_timer guard(shard_.ioc);
    guard.expires_at(give_up);
    guard.async_wait([&resolver](beast::error_code ec) { if (!ec) resolver.cancel(); });
    auto [rec, endpoints] = co_await resolver.async_resolve(url_.host, std::to_string(url_.port), use_tuple);
    guard.cancel();
    resolver_ = nullptr;
    if (cancelled_) co_return fail({Errc::cancelled, "cancelled by the caller", false});
    if (rec == asio::error::operation_aborted) co_return fail(timed_out(Phase::connect, give_up, "resolving " + url_.host));
    if (rec) co_return fail({Errc::resolve_failed, "cannot resolve " + url_.host + ": " + rec.message(), false});

    conn_->plain->expires_at(give_up);
    auto [cec, ep] = co_await conn_->plain->async_connect(endpoints, use_tuple);
    if (cec) co_return fail(map_error(cec, Phase::connect, give_up, false));
    conn_->plain->socket().set_option(tcp::no_delay(true));
    if (!url_.tls) co_return Error{};

    conn_->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*conn_->plain), client_.tls_ctx);
    conn_->plain.reset();
    SSL* ssl = conn_->tls->native_handle();
    if (is_ip_literal(url_.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url_.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, url_.host.c_str());  // SNI
      SSL_set1_host(ssl, url_.host.c_str());             // hostname verification
    }
    auto [hec] = co_await conn_->tls->async_handshake(ssl::stream_base::client, use_tuple);
    if (!hec) co_return Error{};
    if (cancelled_ || hec == beast::error::timeout) co_return fail(map_error(hec, Phase::connect, give_up, false));
    std::string why = hec.message();
    if (long verify = SSL_get_verify_result(ssl); verify != X509_V_OK) why = X509_verify_cert_error_string(verify);
    co_return fail({Errc::tls_failed, "TLS handshake with " + origin_ + " failed: " + why, false});
  }

  http::request<http::string_body> build_message() const {
    http::request<http::string_body> msg;
    auto verb = http::string_to_verb(request_.method);
    if (verb == http::verb::unknown) msg.method_string(request_.method);
    else msg.method(verb);
    msg.target(url_.target);
    msg.version(11);
    msg.set(http::field::host, url_.host_header());
    msg.set(http::field::user_agent, client_.options.user_agent);
    for (const auto& h : request_.headers) msg.set(h.name, h.value);
    msg.keep_alive(true);
    msg.body() = request_.body;
    if (!request_.body.empty() || request_.method == "POST" || request_.method == "PUT") msg.prepare_payload();
    return msg;
  }

  void set_expiry(Millis window, Phase) {
    Clock::time_point at = window.count() > 0 ? Clock::now() + window : Clock::time_point::max();
    at = earliest(at, deadline_);
    expiry_ = at;
    if (at == Clock::time_point::max()) conn_->lowest().expires_never();
    else conn_->lowest().expires_at(at);
  }

  asio::awaitable<void> exchange(bool fresh, bool& stale) {
    auto& conn = *conn_;
    auto msg = build_message();
    set_expiry(request_.timeouts.first_byte, Phase::first_byte);
    auto [wec, written] = co_await conn.visit([&](auto& s) { return http::async_write(s, msg, use_tuple); });
    bool sent = !wec || written > 0;
    if (wec) {
      if (!fresh && !cancelled_) co_return retire_stale(stale);
      co_return fail_conn(map_error(wec, Phase::first_byte, expiry_, sent));
    }

    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    parser.header_limit(64 * 1024);
    const auto sent_at = Clock::now();
    auto [hec, hn] = co_await conn.visit([&](auto& s) { return http::async_read_header(s, conn.buffer, parser, use_tuple); });
    if (hec) {
      bool nothing = !parser.got_some();
      // A stale pooled connection fails within a round trip; one that closes after a long
      // silence took the request and sat on it: not replayed (the router decides; its
      // kSilentAfter is the same second).
      bool quick = Clock::now() - sent_at < std::chrono::seconds(1);
      if (!fresh && nothing && quick && !cancelled_ && hec != beast::error::timeout) co_return retire_stale(stale);
      co_return fail_conn(map_error(hec, Phase::first_byte, expiry_, true));
    }
    auto& res = parser.get();
    Headers headers;
    for (const auto& f : res.base()) headers.push_back({std::string(f.name_string()), std::string(f.value())});
    bool sse = res[http::field::content_type].substr(0, 17) == "text/event-stream";
    Event head = Event::head(static_cast<int>(res.result_int()), std::move(headers));
    head.replayed = replayed_;
    sink_(std::move(head));

    std::string body;
    SseParser parser_sse([this](SseEvent&& e) {
      if (!done_) sink_(Event::sse(std::move(e.event), std::move(e.data), std::move(e.id)));
    });
    char buf[16 * 1024];
    while (!parser.is_done()) {
      res.body().data = buf;
      res.body().size = sizeof buf;
      set_expiry(request_.timeouts.idle, Phase::body);
      auto [rec, rn] = co_await conn.visit([&](auto& s) { return http::async_read_some(s, conn.buffer, parser, use_tuple); });
      if (rec == http::error::need_buffer) rec = {};
      std::size_t got = sizeof buf - res.body().size;
      if (got > 0) {
        if (sse) {
          parser_sse.feed({buf, got});
        } else if (request_.stream_body) {
          sink_(Event::body(std::string(buf, got)));
        } else if (body.size() + got > client_.options.max_body_bytes) {
          co_return fail_conn({Errc::body_too_large, "response body from " + origin_ + " exceeds the limit", true});
        } else {
          body.append(buf, got);
        }
      }
      if (rec) co_return fail_conn(map_error(rec, Phase::body, expiry_, true));
    }
    if (sse) parser_sse.finish();
    else if (!request_.stream_body) sink_(Event::body(std::move(body)));
    bool keep = parser.keep_alive() && !cancelled_;
    conn.uses++;
    shard_.pool.release(std::move(conn_), keep);
    finish(Event::end());
  }

  Error timed_out(Phase phase, Clock::time_point bound, std::string what) const {
    if (deadline_ && bound >= *deadline_) return {Errc::deadline_exceeded, "deadline exceeded while " + what, false};
    Errc code = phase == Phase::connect ? Errc::connect_timeout
                : phase == Phase::first_byte ? Errc::first_byte_timeout : Errc::idle_timeout;
    return {code, std::string(to_string(code)) + " (" + what + ")", false};
  }

  Error map_error(beast::error_code ec, Phase phase, Clock::time_point bound, bool sent) const {
    if (cancelled_) return {Errc::cancelled, "cancelled by the caller", sent};
    std::string where = origin_;
    if (ec == beast::error::timeout) {
      Error e = timed_out(phase, bound, phase == Phase::connect ? "connecting to " + where
                                          : phase == Phase::first_byte ? "waiting for response headers from " + where
                                                                       : "waiting for body bytes from " + where);
      e.request_sent = sent;
      return e;
    }
    if (ec == asio::error::connection_refused) return {Errc::connect_refused, "connection refused by " + where, false};
    if (phase == Phase::connect) return {Errc::connect_failed, "cannot connect to " + where + ": " + ec.message(), false};
    if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe)
      return {Errc::connection_reset, "connection reset by " + where, sent};
    if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec == asio::error::eof ||
        ec == ssl::error::stream_truncated)
      return {Errc::connection_closed, "connection closed by " + where + " before the response was complete", sent};
    if (ec.category() == http::make_error_code(http::error::bad_version).category())
      return {Errc::protocol_error, "invalid HTTP response from " + where + ": " + ec.message(), sent};
    return {Errc::connection_reset, "connection to " + where + " failed: " + ec.message(), sent};
  }

  void retire_stale(bool& stale) {
    stale = true;
    release_broken();
  }

  void fail_conn(Error e) {
    release_broken();
    finish(Event::failure(std::move(e)));
  }

  void release_broken() {
    if (!conn_) return;
    conn_->close();
    shard_.pool.drop(origin_);
    conn_.reset();
  }

  void finish(Event terminal) {
    if (done_) return;
    done_ = true;
    if (terminal.kind == Event::Kind::error) terminal.replayed = replayed_;
    sink_(std::move(terminal));
  }

  HttpClient::Impl& client_;
  HttpRequest request_;
  EventSink sink_;
  Url url_;
  std::string origin_;
  std::optional<Clock::time_point> deadline_;
  Clock::time_point expiry_{};
  std::unique_ptr<Connection> conn_;
  asio::steady_timer* waiting_ = nullptr;
  tcp::resolver* resolver_ = nullptr;
  bool cancelled_ = false;
  bool done_ = false;
  bool replayed_ = false;  // this is the second round after a stale pooled connection
};

}  // namespace

namespace {

// An exception escaping a handler must not end the process (std::terminate on a bare thread) nor
// the shard: it is reported and the loop goes on (Asio's documented pattern for io_context::run).
void run_io(asio::io_context& ioc) {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "llmfailover: an io handler threw (%s); the io thread goes on\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "llmfailover: an io handler threw; the io thread goes on\n");
    }
  }
}

}  // namespace

HttpClient::Impl::Impl(ClientOptions o) : options(std::move(o)), tls_ctx(ssl::context::tls_client) {
  tls_ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (options.tls.verify) {
    tls_ctx.set_verify_mode(ssl::verify_peer);
    beast::error_code ec;
    if (options.tls.ca_file.empty()) tls_ctx.set_default_verify_paths(ec);
    else tls_ctx.load_verify_file(options.tls.ca_file, ec);
    if (ec) throw std::invalid_argument("cannot load the CA bundle '" + options.tls.ca_file + "': " + ec.message());
  } else {
    tls_ctx.set_verify_mode(ssl::verify_none);
  }
  unsigned n = std::max(1u, options.io_threads);
  PoolLimits per_shard = options.pool;
  per_shard.max_per_origin = std::max<std::size_t>(1, per_shard.max_per_origin / n);
  for (unsigned i = 0; i < n; ++i) shards.push_back(std::make_unique<Shard>(per_shard));
  for (auto& s : shards) s->thread = std::thread([shard = s.get()] { run_io(shard->ioc); });
}

HttpClient::Impl::~Impl() { shutdown(); }

void HttpClient::Impl::shutdown() {
  std::lock_guard lock(shutdown_mutex);
  if (closed.exchange(true)) return;
  for (auto& s : shards) {
    asio::post(s->ioc, [shard = s.get()] {
      shard->stopping = true;
      auto live = shard->live;
      for (Task* t : live) t->shutdown();
      shard->pool.close_all();
      shard->work.reset();
    });
  }
  for (auto& s : shards) {
    if (s->thread.get_id() == std::this_thread::get_id()) {
      s->thread.detach();  // closed from one of our own callbacks: the loop winds down alone
      continue;
    }
    s->thread.join();
    // Anything posted while the loop was winding down runs now and fails fast (stopping is set).
    s->ioc.restart();
    s->ioc.poll();
  }
}

HttpClient::HttpClient(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
HttpClient::~HttpClient() = default;

const ClientOptions& HttpClient::options() const noexcept { return impl_->options; }

void HttpClient::shutdown() { impl_->shutdown(); }

std::shared_ptr<Exchange> HttpClient::start(HttpRequest request, EventSink sink) {
  if (impl_->closed) {
    sink(Event::failure({Errc::cancelled, "the client is closed", false}));
    return std::make_shared<Scheduled>(*impl_->shards.front(), nullptr);
  }
  Shard& shard = impl_->next_shard();
  auto ex = std::make_shared<HttpExchange>(*impl_, shard, std::move(request), std::move(sink));
  ex->start();
  return ex;
}

std::shared_ptr<Exchange> HttpClient::schedule(Millis delay, std::function<void()> fn) {
  if (impl_->closed) {
    fn();
    return std::make_shared<Scheduled>(*impl_->shards.front(), nullptr);
  }
  Shard& shard = impl_->next_shard();
  auto task = std::make_shared<Scheduled>(shard, std::move(fn));
  asio::post(shard.ioc, [task, delay] { task->start(delay); });
  return task;
}

PoolStats HttpClient::stats() const {
  PoolStats total;
  if (impl_->closed) return total;
  for (auto& s : impl_->shards) {
    auto p = std::make_shared<std::promise<PoolStats>>();
    auto f = p->get_future();
    asio::post(s->ioc, [p, shard = s.get()] { p->set_value(shard->pool.stats()); });
    if (f.wait_for(std::chrono::seconds(5)) != std::future_status::ready) continue;
    PoolStats one = f.get();
    total.connections_opened += one.connections_opened;
    total.reused += one.reused;
    total.idle += one.idle;
    total.active += one.active;
  }
  return total;
}

}  // namespace llmfailover::transport
