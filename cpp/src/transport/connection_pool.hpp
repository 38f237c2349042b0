// connection_pool.hpp (private) — keep-alive connections of one io shard, per origin.
//
// A shard is one io_context run by one thread, so nothing here needs a lock: every member is
// called on the shard's thread. Cost: acquire/release O(1) amortised.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

#include <deque>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "llmfailover/transport/http_client.hpp"

namespace llmfailover::transport::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;

// The TLS session with an https:// proxy as the next layer of the TLS session with the target
// (TLS inside TLS). asio's ssl::stream wants a next layer that declares lowest_layer_type, which
// beast::ssl_stream does not: this adds it and forwards the rest.
struct ProxyTls {
  // The names asio's stream concepts require.
  // NOLINTBEGIN(readability-identifier-naming)
  using next_layer_type = beast::ssl_stream<beast::tcp_stream>;
  using executor_type = next_layer_type::executor_type;
  using lowest_layer_type = beast::tcp_stream;
  // NOLINTEND(readability-identifier-naming)

  explicit ProxyTls(next_layer_type&& s) : stream(std::move(s)) {}
  executor_type get_executor() noexcept { return stream.get_executor(); }
  next_layer_type& next_layer() noexcept { return stream; }
  lowest_layer_type& lowest_layer() noexcept { return beast::get_lowest_layer(stream); }
  template <class Buffers, class Handler>
  auto async_read_some(const Buffers& b, Handler&& h) {
    return stream.async_read_some(b, std::forward<Handler>(h));
  }
  template <class Buffers, class Handler>
  auto async_write_some(const Buffers& b, Handler&& h) {
    return stream.async_write_some(b, std::forward<Handler>(h));
  }

  next_layer_type stream;
};

struct Connection {
  std::string origin;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  // TLS inside TLS: an https:// target through an https:// proxy (proxy.hpp).
  std::unique_ptr<beast::ssl_stream<ProxyTls>> tls2;
  beast::flat_buffer buffer;
  Clock::time_point idle_since{};
  std::size_t uses = 0;

  beast::tcp_stream& lowest() {
    if (tls2) return beast::get_lowest_layer(*tls2);
    return tls ? beast::get_lowest_layer(*tls) : *plain;
  }
  // Calls f(stream) with the stream at the top of this connection (TLS in TLS, TLS or plain).
  template <class F>
  decltype(auto) visit(F&& f) {
    if (tls2) return f(*tls2);
    if (tls) return f(*tls);
    return f(*plain);
  }
  void close() noexcept;
  // Nothing buffered and nothing readable: safe to carry the next request. Leftover bytes (an
  // unsolicited second response, a body longer than its Content-Length, bytes sent while idle)
  // would become the next request's answer, possibly another user's (response desync).
  bool clean() noexcept;
};

class ConnectionPool {
 public:
  explicit ConnectionPool(PoolLimits limits) : limits_(limits) {}

  // An idle connection to `origin` that is still within its TTL and clean(), or nullptr.
  std::unique_ptr<Connection> take_idle(const std::string& origin);
  // True when a new connection to `origin` may be opened now (counts it as open).
  bool reserve(const std::string& origin);
  // Queues a waiter; its timer is cancelled (and the waiter dequeued) when a slot for `origin`
  // frees up. The waiter must call forget_waiter() on every way out of its wait, before its timer
  // dies; it returns false when the waiter had been woken (dequeued) already, and a waiter that
  // was woken but does not use the slot hands the wake-up on with pass_wake().
  void wait_for_slot(const std::string& origin, asio::steady_timer* timer);
  bool forget_waiter(const std::string& origin, asio::steady_timer* timer);
  void pass_wake(const std::string& origin);

  // Returns a connection after a complete exchange (kept if keep_alive, clean() and there is room).
  void release(std::unique_ptr<Connection> conn, bool keep_alive);
  // A reserved slot or an active connection went away without being kept.
  void drop(const std::string& origin);

  void close_all();
  PoolStats stats() const;
  void count_open() { ++opened_; }
  void count_reuse() { ++reused_; }

 private:
  struct Origin {
    std::size_t open = 0;  // idle + active + connecting
    std::deque<std::unique_ptr<Connection>> idle;
    std::list<asio::steady_timer*> waiters;
  };
  void wake_one(Origin& o);

  PoolLimits limits_;
  std::unordered_map<std::string, Origin> origins_;
  std::size_t opened_ = 0, reused_ = 0;
};

}  // namespace llmfailover::transport::detail
