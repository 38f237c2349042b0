// http_client.cpp — one exchange = one coroutine on one io shard (an io_context run by one thread).
//
// Shards share nothing, so the pool and the exchange state need no locks; other threads reach a
// shard only through asio::post (cancel, stats, shutdown).
#include "llmfailover/transport/http_client.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <optional>
#include <span>
#include <thread>
#include <unordered_set>
#include <utility>

#include "connection_pool.hpp"
#include "proxy_tunnel.hpp"
#include "shard.hpp"
#include "tls.hpp"
#include "request_check.hpp"
#include "response_reader.hpp"
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
using detail::Scheduled;
using detail::Shard;
using detail::Task;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

Clock::time_point earliest(Clock::time_point a, std::optional<Clock::time_point> b) { return b && *b < a ? *b : a; }

enum class Phase { connect, first_byte, body };

constexpr int kMaxInterimResponses = 16;

// How much one body read may take from the socket. Beast reads into the connection's flat_buffer
// at most max(512, its free capacity) bytes (boost/beast/core/impl/read_size.hpp), and the buffer
// never grows past what the header read needed, so a fast body (a stream arriving in one burst)
// took one recv, one epoll round and one consumer wake-up per 512 bytes, two SSE events. A read
// that fills what it asked for means more is waiting: the next may take four times as much, up to
// kMaxRead. A read that leaves most of the room unused means the peer is slow again (a model
// writing tokens): the buffer goes back to the default, so 10,000 slow streams hold no big buffer.
//
// The parser's body buffer (where Beast's buffer_body copies the body bytes it parses out of the
// connection's buffer) follows the same rule: on the heap, as big as the connection's buffer up
// to kMaxRead (what one read brought fits in one parse pass), so a slow stream holds 512 bytes,
// not the 16 KiB a fixed buffer in the coroutine frame held for the stream's whole life.
class ReadSize {
 public:
  static constexpr std::size_t kDefault = 512, kMaxRead = std::size_t{16} * 1024;
  // Before a read: makes room for the next read; returns how many bytes that read may take.
  std::size_t before(beast::flat_buffer& b) {
    if (want_ > kDefault && b.capacity() - b.size() < want_) b.reserve(b.size() + want_);
    return std::max(kDefault, b.capacity() - b.size());
  }
  // After before(): the body buffer for that read, as big as `b` can hold, between kDefault and
  // kMaxRead (the fixed buffer's size before: a bigger head's buffer keeps its leftover for the
  // next pass, as it did); grown or shrunk to fit when it is too small or four times too big. Its
  // bytes are scratch: the caller takes them before the next read.
  std::span<char> body(const beast::flat_buffer& b) {
    const std::size_t need = std::clamp(b.capacity(), kDefault, kMaxRead);
    if (body_size_ < need || body_size_ > 4 * need) {
      body_.reset();  // the old one goes first: no moment with both
      body_ = std::make_unique_for_overwrite<char[]>(need);
      body_size_ = need;
    }
    return {body_.get(), body_size_};
  }
  // After it: `asked` from before(), `read` the bytes that came from the socket.
  void after(beast::flat_buffer& b, std::size_t asked, std::size_t read) {
    if (read >= asked) {
      want_ = std::min(kMaxRead, std::max(want_, asked) * 4);
    } else if (want_ > kDefault && read < asked / 4) {
      want_ = kDefault;
      if (b.size() == 0) b.shrink_to_fit();  // the next read prepares its 512 bytes afresh
    }
  }

  // The exchange is over: a pooled connection keeps no grown buffer.
  void done(beast::flat_buffer& b) {
    if (b.size() == 0 && b.capacity() > 4 * kDefault) b.shrink_to_fit();
  }

 private:
  std::size_t want_ = kDefault;
  std::unique_ptr<char[]> body_;  // NOLINT(cppcoreguidelines-avoid-c-arrays): scratch bytes, sized at run time
  std::size_t body_size_ = 0;
};

// The events of one read wake the consumer once (FlowControl::hold_wakeups): a 16 KiB read of a
// fast stream is ~65 SSE events, and a wake-up per event cost the io thread a futex syscall each
// and, with the consumer on its vCPU, a context switch per event. Never held across a co_await.
class WakeHold {
 public:
  explicit WakeHold(FlowControl* flow) : flow_(flow) {
    if (flow_) flow_->hold_wakeups();
  }
  // Wakes the consumer once for what was pushed under the hold. A notify callback that throws
  // propagates, as it would from a push, and the exchange ends with that error.
  void release() {
    if (auto* flow = std::exchange(flow_, nullptr)) flow->release_wakeups();
  }
  // Only on an early exit (a sink that threw, a failed read): the terminal event that follows wakes
  // the consumer in any case, and a destructor must not throw (std::terminate).
  ~WakeHold() {
    try {
      release();
    } catch (...) {}
  }
  WakeHold(const WakeHold&) = delete;
  WakeHold& operator=(const WakeHold&) = delete;

 private:
  FlowControl* flow_;
};

}  // namespace

struct HttpClient::Impl {
  explicit Impl(ClientOptions o);
  ~Impl();  // NOLINT(bugprone-exception-escape): see the definition
  Shard& next_shard() { return *shards[next.fetch_add(1, std::memory_order_relaxed) % shards.size()]; }
  void shutdown();

  ClientOptions options;
  std::mutex shutdown_mutex;
  std::atomic<bool> closed{false};
  ssl::context tls_ctx;
  std::optional<ssl::context> proxy_tls_ctx;  // https:// proxies with their own CA (ProxyOptions::ca_pem)
  ProxyRoutes proxies;
  std::vector<std::unique_ptr<Shard>> shards;
  std::atomic<std::size_t> next{0};
};

namespace {

std::string describe(std::exception_ptr ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an unknown exception";
  }
}

void expire(beast::tcp_stream& stream, Clock::time_point at) {
  if (at == Clock::time_point::max()) stream.expires_never();
  else stream.expires_at(at);
}

class HttpExchange final : public Task {
 public:
  HttpExchange(HttpClient::Impl& client, Shard& shard, HttpRequest request, EventSink sink,
               std::shared_ptr<FlowControl> flow, Error refused)
      : Task(shard),
        client_(client),
        request_(std::move(request)),
        sink_(std::move(sink)),
        flow_(std::move(flow)),
        refused_(std::move(refused)),
        slot_timer_(shard.ioc),
        pause_timer_(shard.ioc) {}

  // The completion handler sees how the coroutine ended: an exception (from Beast, from a sink,
  // from anything) becomes the caller's terminal event instead of vanishing in `detached`.
  void start() {
    auto self = std::static_pointer_cast<HttpExchange>(shared_from_this());
    asio::co_spawn(shard_.ioc, run(self), [self](std::exception_ptr ep) { self->ended(ep); });
  }

  void set_idle_timeout(Millis idle) override {
    asio::post(shard_.ioc, [self = std::static_pointer_cast<HttpExchange>(shared_from_this()), idle] {
      self->request_.timeouts.idle = idle;
    });
  }

  void abort() override {
    if (done_) return;
    cancelled_ = true;
    slot_timer_.cancel();
    pause_timer_.cancel();
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
  }

  void ended(std::exception_ptr ep) noexcept {
    shard_.live.erase(this);
    if (done_) return;
    release_broken();
    std::string why = ep ? describe(ep) : "it ended without a result";
    finish(Event::failure({Errc::internal_error, "the exchange with " + origin_ + " failed: " + why, true}));
  }

  asio::awaitable<void> perform() {
    if (shard_.stopping) co_return finish(Event::failure({Errc::cancelled, "the client is closing", false}));
    if (refused_) co_return finish(Event::failure(std::move(refused_)));
    url_ = *parse_url(request_.url);  // check_request() parsed it already
    origin_ = url_.origin();
    if (Error e = choose_proxy()) co_return finish(Event::failure(std::move(e)));
    deadline_ = request_.deadline;
    if (request_.timeouts.total.count() > 0) deadline_ = earliest(deadline_after(request_.timeouts.total), deadline_);

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
    finish(Event::failure(
        {Errc::connection_closed, "pooled connections to " + origin_ + " closed before answering", true}));
  }

  asio::awaitable<Acquired> acquire() {
    auto& pool = shard_.pool;
    Clock::time_point give_up = earliest(deadline_after(request_.timeouts.connect), deadline_);
    for (;;) {
      if (cancelled_) co_return Acquired{false, {Errc::cancelled, "cancelled by the caller", false}};
      if ((conn_ = pool.take_idle(pool_key_))) {
        pool.count_reuse();
        co_return Acquired{false, {}};
      }
      if (pool.reserve(pool_key_)) {
        Error e = co_await connect(give_up);
        if (e) pool.drop(pool_key_);
        else pool.count_open();
        co_return Acquired{true, std::move(e)};
      }
      // The timer is a member (it outlives this frame) and leaves the pool's queue on every way
      // out: woken, cancelled, timed out or closing. A wake-up it got but will not use (it timed
      // out or was cancelled at the same moment) goes on to the next waiter, else it is lost.
      slot_timer_.expires_at(give_up);
      pool.wait_for_slot(pool_key_, &slot_timer_);
      auto [ec] = co_await slot_timer_.async_wait(use_tuple);
      bool woken = !pool.forget_waiter(pool_key_, &slot_timer_);
      bool gives_up = !ec || cancelled_ || shard_.stopping;
      if (gives_up && woken) pool.pass_wake(pool_key_);
      if (!ec)
        co_return Acquired{false, timed_out(Phase::connect, give_up, "waiting for a free connection to " + origin_)};
    }
  }

  // Opens conn_ (TCP, then TLS for https) within `give_up`.
  asio::awaitable<Error> connect(Clock::time_point give_up) {
    expiry_at_connect_ = give_up;
    conn_ = std::make_unique<Connection>();
    conn_->origin = pool_key_;
    conn_->plain = std::make_unique<beast::tcp_stream>(shard_.ioc);
    auto fail = [&](Error e) {
      conn_.reset();
      return e;
    };

    // Every argument of a co_await below is a named object, never a temporary: GCC 12 may destroy
    // a temporary of a co_await's full-expression twice (a double free seen here).
    const std::string host = proxy_ ? proxy_->host : url_.host;
    const std::uint16_t port = proxy_ ? proxy_->port : url_.port;
    const std::string what = proxy_ ? "the proxy host " + host : host;
    Resolved resolved = co_await resolve(host, port, give_up, what);
    if (resolved.error) co_return fail(std::move(resolved.error));
    const tcp::resolver::results_type endpoints = resolved.endpoints;

    expire(*conn_->plain, give_up);
    auto [cec, ep] = co_await conn_->plain->async_connect(endpoints, use_tuple);
    if (cec) co_return fail(map_error(cec, Phase::connect, give_up, false));
    conn_->plain->socket().set_option(tcp::no_delay(true));
    if (proxy_ && proxy_->socks()) {
      std::string address = url_.host;              // socks5h://: the proxy resolves the name
      if (proxy_->scheme == ProxyScheme::socks5) {  // socks5://: resolved here, the proxy gets the address
        Resolved target = co_await resolve(url_.host, url_.port, give_up, url_.host);
        if (target.error) co_return fail(std::move(target.error));
        address = target.endpoints.begin()->endpoint().address().to_string();
      }
      Error e = co_await detail::open_socks(*conn_->plain, *proxy_, address, url_, give_up);
      if (cancelled_) co_return fail({Errc::cancelled, "cancelled by the caller", false});
      if (e) co_return fail(std::move(e));
    }
    if (proxy_ && proxy_->scheme == ProxyScheme::https) {  // TLS to the proxy first
      ssl::context& proxy_ctx = client_.proxy_tls_ctx ? *client_.proxy_tls_ctx : client_.tls_ctx;
      conn_->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*conn_->plain), proxy_ctx);
      conn_->plain.reset();
      const std::string proxy_name = "the proxy " + proxy_->display();
      if (Error e = co_await handshake(*conn_->tls, proxy_->host, proxy_name, false)) co_return fail(std::move(e));
      if (!url_.tls) co_return Error{};
      Error e = co_await detail::open_tunnel(*conn_->tls, *proxy_, url_, give_up, client_.options);
      if (cancelled_) co_return fail({Errc::cancelled, "cancelled by the caller", false});
      if (e) co_return fail(std::move(e));
      conn_->tls2 = std::make_unique<beast::ssl_stream<detail::ProxyTls>>(detail::ProxyTls(std::move(*conn_->tls)),
                                                                          client_.tls_ctx);
      conn_->tls.reset();
      if (Error e2 = co_await handshake(*conn_->tls2, url_.host, origin_, true)) co_return fail(std::move(e2));
      co_return Error{};
    }
    if (!url_.tls) co_return Error{};
    if (proxy_ && !proxy_->socks()) {
      Error e = co_await detail::open_tunnel(*conn_->plain, *proxy_, url_, give_up, client_.options);
      if (cancelled_) co_return fail({Errc::cancelled, "cancelled by the caller", false});
      if (e) co_return fail(std::move(e));
    }

    conn_->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*conn_->plain), client_.tls_ctx);
    conn_->plain.reset();
    if (Error e = co_await handshake(*conn_->tls, url_.host, origin_, proxy_.has_value())) co_return fail(std::move(e));
    co_return Error{};
  }

  struct Resolved {
    Error error;
    tcp::resolver::results_type endpoints;
  };

  // host:port resolved within `give_up` (a guard cancels the resolver); errors name `what`.
  asio::awaitable<Resolved> resolve(std::string host, std::uint16_t port, Clock::time_point give_up, std::string what) {
    tcp::resolver resolver(shard_.ioc);
    resolver_ = &resolver;
    asio::steady_timer guard(shard_.ioc);
    guard.expires_at(give_up);
    // Reaches the resolver through the exchange, never this frame: the guard may fire after it.
    guard.async_wait([self = std::static_pointer_cast<HttpExchange>(shared_from_this())](beast::error_code ec) {
      if (!ec && self->resolver_) self->resolver_->cancel();
    });
    const std::string service = std::to_string(port);
    auto [rec, endpoints] = co_await resolver.async_resolve(host, service, use_tuple);
    guard.cancel();
    resolver_ = nullptr;
    Resolved out{{}, endpoints};
    if (cancelled_) out.error = {Errc::cancelled, "cancelled by the caller", false};
    else if (rec == asio::error::operation_aborted) out.error = timed_out(Phase::connect, give_up, "resolving " + host);
    else if (rec || endpoints.empty())
      out.error = {Errc::resolve_failed, "cannot resolve " + what + ": " + rec.message(), false};
    co_return out;
  }

  // TLS over `stream` with SNI and verification of `host`; errors name `who` (and the proxy it
  // goes through, for a timeout once the tunnel is up: then the target is the slow one).
  template <class TlsStream>
  asio::awaitable<Error> handshake(TlsStream& stream, const std::string& host, const std::string& who, bool tunnelled) {
    SSL* ssl = stream.native_handle();
    detail::prepare_tls_connection(ssl, host);
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, use_tuple);
    if (!hec) co_return Error{};
    if (!cancelled_ && hec == beast::error::timeout && tunnelled)
      co_return timed_out(Phase::connect, expiry_at_connect_,
                          "in the TLS handshake with " + who + " through " + proxy_->display());
    if (cancelled_ || hec == beast::error::timeout) co_return map_error(hec, Phase::connect, expiry_at_connect_, false);
    std::string why = hec.message();
    if (long verify = SSL_get_verify_result(ssl); verify != X509_V_OK) why = X509_verify_cert_error_string(verify);
    co_return Error{Errc::tls_failed, "TLS handshake with " + who + " failed: " + why, false};
  }

  // check_request() vetted every piece, so Beast has nothing to throw about (if it did anyway,
  // ended() would report it).
  http::request<http::string_body> build_message() const {
    http::request<http::string_body> msg;
    auto verb = http::string_to_verb(request_.method);
    if (verb == http::verb::unknown) msg.method_string(request_.method);
    else msg.method(verb);
    msg.version(11);
    msg.set(http::field::host, url_.host_header());
    msg.set(http::field::user_agent, client_.options.user_agent);
    for (const auto& h : request_.headers) msg.set(h.name, h.value);
    if (proxy_ && !proxy_->socks() && !url_.tls) {  // forwarded by the proxy: absolute form (RFC 9112 3.2.2)
      msg.target("http://" + url_.host_header() + url_.target);
      msg.erase(http::field::proxy_authorization);  // only ours reaches the proxy
      if (!proxy_->authorization.empty()) msg.set(http::field::proxy_authorization, proxy_->authorization);
    } else {
      msg.target(url_.target);
    }
    msg.keep_alive(true);
    msg.body() = request_.body;
    if (!request_.body.empty() || request_.method == "POST" || request_.method == "PUT") msg.prepare_payload();
    return msg;
  }

  void set_expiry(Millis window) {
    Clock::time_point at = window.count() > 0 ? deadline_after(window) : Clock::time_point::max();
    expiry_ = earliest(at, deadline_);
    expire(conn_->lowest(), expiry_);
  }

  asio::awaitable<void> exchange(bool fresh, bool& stale) {
    auto& conn = *conn_;
    // Only for the write: a stream held open for minutes keeps no copy of its request.
    std::optional<http::request<http::string_body>> msg(build_message());
    set_expiry(request_.timeouts.first_byte);
    auto [wec, written] = co_await conn.visit([&](auto& s) { return http::async_write(s, *msg, use_tuple); });
    msg.reset();
    bool sent = !wec || written > 0;
    if (wec) {
      if (!fresh && !cancelled_) co_return retire_stale(stale);
      co_return fail_conn(map_error(wec, Phase::first_byte, expiry_, sent));
    }

    // Interim 1xx responses (100 Continue, 103 Early Hints) are skipped: "A client MUST be able to
    // parse one or more 1xx responses received prior to a final response" (RFC 9110 section 15.2).
    // 101 is final here (we never ask to switch protocols). A parser reads one message, so each
    // response gets a fresh one; a peer that sends 1xx without end is refused.
    std::optional<detail::ResponseParser<http::buffer_body>> reading;
    const auto sent_at = Clock::now();
    for (int interim = 0;; ++interim) {
      reading.emplace();
      reading->body_limit(boost::none);
      reading->header_limit(detail::header_limit(client_.options));
      auto [hec, hn] =
          co_await conn.visit([&](auto& s) { return http::async_read_header(s, conn.buffer, *reading, use_tuple); });
      if (hec) {
        bool nothing = !reading->got_some() && interim == 0;
        // A stale pooled connection fails within a round trip; one that closes after a long
        // silence took the request and sat on it: not replayed (the router decides; its
        // kSilentAfter is the same second).
        bool quick = Clock::now() - sent_at < std::chrono::seconds(1);
        if (!fresh && nothing && quick && !cancelled_ && hec != beast::error::timeout) co_return retire_stale(stale);
        co_return fail_conn(map_error(hec, Phase::first_byte, expiry_, true));
      }
      unsigned code = reading->get().result_int();
      if (code < 100 || code >= 200 || code == 101) break;
      if (interim == kMaxInterimResponses)
        co_return fail_conn({Errc::protocol_error, "too many interim (1xx) responses from " + origin_, true});
    }
    auto& parser = *reading;
    auto& res = parser.get();
    detail::ResponseReader reader(client_.options, request_.stream_body, origin_,
                                  [this](Event&& e) { deliver(std::move(e)); });
    reader.head(static_cast<int>(res.result_int()), res.base(), replayed_);

    // The head is delivered: its fields are not needed again (the parser keeps what the body's
    // framing and keep_alive() need in its own state), and a held stream should not keep them.
    res.base().clear();
    // Past the head no round replays the request (perform() retries only a stale connection,
    // which fails before any response byte): a long stream keeps no copy of its prompt.
    std::string().swap(request_.body);
    Headers().swap(request_.headers);

    ReadSize read_size;
    bool handed_over = false;  // FlowControl::first_events_delivered(), once
    while (!parser.is_done() && !reader.satisfied()) {
      set_expiry(request_.timeouts.idle);
      const std::size_t asked = read_size.before(conn.buffer);
      const std::size_t held = conn.buffer.size();
      const std::span<char> buf = read_size.body(conn.buffer);
      res.body().data = buf.data();
      res.body().size = buf.size();
      auto [rec, rn] =
          co_await conn.visit([&](auto& s) { return http::async_read_some(s, conn.buffer, parser, use_tuple); });
      // From the socket: what the buffer gained plus what the parser took from it.
      read_size.after(conn.buffer, asked, conn.buffer.size() + rn - std::min(held, conn.buffer.size() + rn));
      if (rec == http::error::need_buffer) rec = {};
      std::size_t got = buf.size() - res.body().size;
      if (got > 0) {
        WakeHold hold(flow_.get());  // the consumer is woken once for this read's events
        if (Error e = reader.feed({buf.data(), got})) co_return fail_conn(std::move(e));
        hold.release();
      }
      if (!handed_over && flow_ && reader.delivered() > 0) {
        handed_over = true;
        flow_->first_events_delivered();
      }
      if (rec) co_return fail_conn(map_error(rec, Phase::body, expiry_, true));
      if (flow_ && !parser.is_done() && flow_->pause_if_behind(resume_hook())) {
        co_await pause();
        if (cancelled_) co_return fail_conn({Errc::cancelled, "cancelled by the caller", true});
      }
    }
    if (Error e = reader.finish()) co_return fail_conn(std::move(e));
    // A truncated error body leaves bytes unread: that connection cannot carry another request.
    bool keep = parser.is_done() && parser.keep_alive() && !cancelled_;
    read_size.done(conn.buffer);
    conn.uses++;
    shard_.pool.release(std::move(conn_), keep);
    finish(Event::end());
  }

  // Backpressure: no read and no timer while the consumer is behind (a slow consumer is not a
  // silent upstream); the deadline moves by the time spent here.
  asio::awaitable<void> pause() {
    auto since = Clock::now();
    conn_->lowest().expires_never();
    paused_ = true;
    pause_timer_.expires_at(Clock::time_point::max());
    co_await pause_timer_.async_wait(use_tuple);
    paused_ = false;
    auto waited = Clock::now() - since;
    if (deadline_)
      deadline_ = *deadline_ >= Clock::time_point::max() - waited ? Clock::time_point::max() : *deadline_ + waited;
  }

  // Called by the consumer's side, from any thread, once it caught up.
  std::function<void()> resume_hook() {
    std::weak_ptr<HttpExchange> weak = std::static_pointer_cast<HttpExchange>(shared_from_this());
    return [weak, ioc = &shard_.ioc, round = ++pause_round_] {
      asio::post(*ioc, [weak, round] {
        auto self = weak.lock();
        if (self && self->paused_ && self->pause_round_ == round) self->pause_timer_.cancel();
      });
    };
  }

  Error timed_out(Phase phase, Clock::time_point bound, const std::string& what) const {
    if (deadline_ && bound >= *deadline_) return {Errc::deadline_exceeded, "deadline exceeded while " + what, false};
    Errc code = phase == Phase::connect      ? Errc::connect_timeout
                : phase == Phase::first_byte ? Errc::first_byte_timeout
                                             : Errc::idle_timeout;
    return {code, std::string(to_string(code)) + " (" + what + ")", false};
  }

  Error map_error(beast::error_code ec, Phase phase, Clock::time_point bound, bool sent) const {
    if (cancelled_) return {Errc::cancelled, "cancelled by the caller", sent};
    const std::string where = phase == Phase::connect && proxy_ ? "the proxy " + proxy_->display() : origin_;
    if (ec == beast::error::timeout) {
      Error e = timed_out(phase, bound,
                          phase == Phase::connect      ? "connecting to " + where
                          : phase == Phase::first_byte ? "waiting for response headers from " + where
                                                       : "waiting for body bytes from " + where);
      e.request_sent = sent;
      return e;
    }
    if (ec == asio::error::connection_refused) return {Errc::connect_refused, "connection refused by " + where, false};
    if (phase == Phase::connect)
      return {Errc::connect_failed, "cannot connect to " + where + ": " + ec.message(), false};
    return detail::read_error(ec, where, sent);
  }

  // The proxy for this exchange (the request's own, or the client's routes) and the pool key:
  // connections are shared per (proxy, origin), the proxy's credentials included (not printed).
  Error choose_proxy() {
    pool_key_ = origin_;
    if (request_.proxy && request_.proxy->empty()) return {};
    if (request_.proxy) {
      try {
        proxy_ = parse_proxy_url(*request_.proxy, "the request's proxy");
      } catch (const std::invalid_argument& e) {
        return {Errc::bad_request, std::string("invalid request: ") + e.what(), false};
      }
    } else if (const ProxyUrl* p = client_.proxies.for_target(url_)) {
      proxy_ = *p;
    }
    if (proxy_)
      pool_key_ = origin_ + " via " + proxy_->display() + " " + proxy_->authorization + " " + proxy_->username + ":" +
                  proxy_->password;
    return {};
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
    shard_.pool.drop(pool_key_);
    conn_.reset();
  }

  // Non-terminal events; a sink that throws ends the coroutine, and ended() reports it.
  void deliver(Event&& e) {
    if (!done_) sink_(std::move(e));
  }

  // The one terminal event. If the sink throws on it, the caller still gets one (the sink may
  // have failed before recording the end): an internal_error, once, with the sink's reason.
  void finish(Event terminal) noexcept {
    if (done_) return;
    done_ = true;
    if (terminal.kind == Event::Kind::error) terminal.replayed = replayed_;
    bool retry = !(terminal.kind == Event::Kind::error && terminal.error.code == Errc::internal_error);
    std::string why;
    try {
      sink_(std::move(terminal));
      return;
    } catch (...) {
      why = describe(std::current_exception());
    }
    if (!retry) return;
    try {
      sink_(Event::failure(
          {Errc::internal_error, "the consumer failed on the end of a response from " + origin_ + ": " + why, true}));
    } catch (...) {}
  }

  HttpClient::Impl& client_;
  HttpRequest request_;
  EventSink sink_;
  std::shared_ptr<FlowControl> flow_;
  Error refused_;  // check_request()'s verdict, delivered on the io thread like any other end
  Url url_;
  std::string origin_;
  std::optional<ProxyUrl> proxy_;
  std::string pool_key_;  // origin_, or origin_ + the proxy (may hold its credentials: never printed)
  std::optional<Clock::time_point> deadline_;
  Clock::time_point expiry_{};
  Clock::time_point expiry_at_connect_{};  // connect()'s give_up, for the handshakes' timeouts
  std::unique_ptr<Connection> conn_;
  asio::steady_timer slot_timer_;   // waiting for a pooled connection
  asio::steady_timer pause_timer_;  // paused for the consumer
  tcp::resolver* resolver_ = nullptr;
  std::uint64_t pause_round_ = 0;
  bool paused_ = false;
  bool cancelled_ = false;
  bool done_ = false;
  bool replayed_ = false;  // this is the second round after a stale pooled connection
};

}  // namespace

HttpClient::Impl::Impl(ClientOptions o)
    : options(std::move(o)), tls_ctx(ssl::context::tls_client), proxies(options.proxy) {
  detail::configure_tls_context(tls_ctx, options.tls);
  if (!options.proxy.ca_pem.empty()) {
    proxy_tls_ctx.emplace(ssl::context::tls_client);
    detail::configure_proxy_tls_context(*proxy_tls_ctx, options.proxy.ca_pem);
  }
  unsigned n = std::max(1u, options.io_threads);
  PoolLimits per_shard = options.pool;
  per_shard.max_per_origin = std::max<std::size_t>(1, per_shard.max_per_origin / n);
  for (unsigned i = 0; i < n; ++i) shards.push_back(std::make_unique<Shard>(per_shard));
  for (auto& s : shards) s->thread = std::thread([shard = s.get()] { detail::run_io(shard->ioc); });
}

// If stopping the io threads throws (std::system_error from join), std::terminate is the right end:
// swallowing it would leave threads running on a destroyed client.
HttpClient::Impl::~Impl() { shutdown(); }  // NOLINT(bugprone-exception-escape)

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

std::shared_ptr<Exchange> HttpClient::start(HttpRequest request, EventSink sink, std::shared_ptr<FlowControl> flow) {
  if (impl_->closed) {
    sink(Event::failure({Errc::cancelled, "the client is closed", false}));
    return std::make_shared<Scheduled>(*impl_->shards.front(), nullptr);
  }
  Shard& shard = impl_->next_shard();
  Error refused = detail::check_request(request, impl_->options);
  auto ex = std::make_shared<HttpExchange>(*impl_, shard, std::move(request), std::move(sink), std::move(flow),
                                           std::move(refused));
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
