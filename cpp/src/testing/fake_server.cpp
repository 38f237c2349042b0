// fake_server.cpp — the fake provider's HTTP/1.1 server: one coroutine per connection, serving
// requests in turn (keep-alive), applying each request's planned Fault to the dialect's reply.
//
// Shutdown is abrupt on purpose: stop() stops the io_context, joins the threads and destroys it,
// which destroys every suspended session (stalled, no_response, mid-delay) and closes its socket.
#include <algorithm>
#include <climits>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <system_error>
#include <thread>

#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "fake_impl.hpp"

namespace llmfailover::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

enum class Framing { length, chunked, eof };

awaitable<void> sleep_for(Millis delay) {
  if (delay.count() <= 0) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  co_await timer.async_wait(nothrow);
}

// Holds the connection open, discarding input, until the peer closes it or the server stops.
awaitable<void> wait_for_peer(tcp::socket& socket) {
  char sink[1024];
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(sink), nothrow);
    if (ec) co_return;
  }
}

awaitable<bool> write_all(tcp::socket& socket, const std::string& bytes) {
  auto [ec, n] = co_await asio::async_write(socket, asio::buffer(bytes), nothrow);
  co_return !ec;
}

void close(tcp::socket& socket, bool reset) {
  boost::system::error_code ignored;
  if (reset) {
    socket.set_option(asio::socket_base::linger(true, 0), ignored);  // close() then sends RST
  } else {
    socket.shutdown(tcp::socket::shutdown_both, ignored);
  }
  socket.close(ignored);
}

std::string chunk(std::string_view data) {
  char size[24];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + std::string(data) + "\r\n";
}

std::string head(int status, std::string_view content_type, const FakeProvider::Impl::Plan& plan, Framing framing,
                 std::size_t length, bool keep_alive) {
  http::response<http::empty_body> res;
  res.version(11);
  res.result(static_cast<unsigned>(status));
  std::string_view reason = http::obsolete_reason(http::int_to_status(static_cast<unsigned>(status)));
  if (status == 529) reason = "Overloaded";  // Anthropic's
  if (reason == "<unknown-status>") reason = "Status";
  res.reason(reason);
  res.set(http::field::server, "llmfailover-fake");
  res.set(http::field::content_type, content_type);
  res.set("x-request-id", plan.request_id);
  if (framing == Framing::length) res.content_length(length);
  if (framing == Framing::chunked) res.chunked(true);
  res.keep_alive(keep_alive && framing != Framing::eof);
  for (const auto& h : plan.fault.headers) res.set(h.name, h.value);
  std::ostringstream os;
  os << res.base();
  return os.str();
}

constexpr int clamp_index(int v, int n) { return v < 0 ? INT_MAX : std::min(v, n); }

// What a healthy-status reply will do under `f`; mirrors send_stream()'s order of checks.
std::string stream_outcome(const Fault& f, int frames) {
  const int stall = clamp_index(f.stall_after, frames), cut = clamp_index(f.cut_after, frames);
  const int err = clamp_index(f.error_event_at, frames);
  const int end = std::min({stall, cut, err});
  std::string out;
  if (f.malformed_at >= 0 && f.malformed_at < std::min(end, frames))
    out = "malformed:" + std::to_string(f.malformed_at);
  std::string last;
  if (end == stall && end != INT_MAX) last = "stall:" + std::to_string(end);
  else if (end == cut && end != INT_MAX) last = "cut:" + std::to_string(end);
  else if (end == err && end != INT_MAX) last = "error_event:" + std::to_string(end);
  else if (f.omit_done) last = "no_done";
  if (!last.empty()) out += (out.empty() ? "" : ",") + last;
  return out.empty() ? "ok" : out;
}

std::string body_outcome(const Fault& f) {
  if (f.stall_after >= 0) return "stall:body";
  if (f.cut_after >= 0) return "cut:body";
  if (f.malformed_at >= 0) return "malformed:body";
  return "ok";
}

class Server final : public FakeServer {
 public:
  explicit Server(FakeProvider::Impl& impl)
      : impl_(impl), ioc_(std::make_unique<asio::io_context>()), acceptor_(std::in_place, *ioc_) {
    try {
      tcp::endpoint endpoint(asio::ip::make_address(impl.options.host), impl.options.port);
      acceptor_->open(endpoint.protocol());
      acceptor_->set_option(asio::socket_base::reuse_address(true));
      acceptor_->bind(endpoint);
      acceptor_->listen();
      port_ = acceptor_->local_endpoint().port();
    } catch (const boost::system::system_error& e) {
      throw std::system_error(
          e.code().value(), std::system_category(),
          "FakeProvider cannot listen on " + impl.options.host + ":" + std::to_string(impl.options.port));
    }
    asio::co_spawn(*ioc_, accept_loop(), [](std::exception_ptr) {});
    for (unsigned i = 0; i < std::max(1u, impl.options.threads); ++i) {
      threads_.emplace_back([this] { ioc_->run(); });
    }
  }

  ~Server() override { stop(); }

  std::uint16_t port() const noexcept override { return port_; }

  void stop() override {
    std::lock_guard lock(stop_mutex_);
    if (!ioc_) return;
    ioc_->stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    acceptor_.reset();
    ioc_.reset();  // destroys the suspended sessions, closing their sockets
  }

 private:
  awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_->async_accept(nothrow);
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
      if (ec) {  // e.g. EMFILE: back off instead of spinning
        co_await sleep_for(Millis{10});
        continue;
      }
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      asio::co_spawn(ioc_->get_executor(), session(std::move(socket)), [](std::exception_ptr) {});
    }
  }

  awaitable<void> session(tcp::socket socket) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64u << 20);
      auto [hec, hn] = co_await http::async_read_header(socket, buffer, parser, nothrow);
      if (hec) break;  // the peer left, or sent something that is not HTTP/1.1
      if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {  // curl, for big bodies
        const std::string go_on = "HTTP/1.1 100 Continue\r\n\r\n";
        if (!co_await write_all(socket, go_on)) break;
      }
      auto [ec, n] = co_await http::async_read(socket, buffer, parser, nothrow);
      if (ec) break;
      bool keep = false;
      try {
        keep = co_await serve(socket, parser.get());
      } catch (const std::exception&) {
        keep = false;  // never take the server down over one request
      }
      if (!keep || !socket.is_open()) break;
    }
    if (socket.is_open()) close(socket, false);
  }

  // Answers one request; returns whether the connection may serve another.
  awaitable<bool> serve(tcp::socket& socket, http::request<http::string_body>& req) {
    AttemptRecord rec;
    rec.time = impl_.since_start();
    rec.method = std::string(req.method_string());
    rec.target = std::string(req.target());
    for (const auto& field : req) rec.headers.push_back({std::string(field.name_string()), std::string(field.value())});
    const bool keep = req.keep_alive();
    const auto& dialect = detail::dialect_for(rec.target, *impl_.dialect);
    const detail::ParsedRequest parsed =
        dialect.parse_request(rec.method, rec.target, std::move(req.body()), rec.headers);
    const auto plan = impl_.plan(parsed.model);
    const Fault& f = plan.fault;

    const bool fault_status = f.status != 200 || !f.body.empty();
    detail::Reply reply;
    if (f.action == Fault::Action::none && !fault_status && parsed.error_status == 0) {
      reply = dialect.reply(parsed, {plan.content, plan.tool_call, impl_.options.embedding_dimensions,
                                     impl_.model_list(), plan.request_id, plan.created, plan.attempt});
    }
    rec.model = parsed.model;
    rec.attempt = plan.attempt;
    rec.body = parsed.body;
    rec.stream = parsed.stream;
    rec.request_id = plan.request_id;
    if (f.action != Fault::Action::none) {
      rec.outcome = std::string(to_string(f.action));
    } else {
      rec.status = fault_status ? f.status : parsed.error_status ? parsed.error_status : reply.status;
      if (rec.status != 200) rec.outcome = "status:" + std::to_string(rec.status);
      else if (fault_status) rec.outcome = "ok";
      else rec.outcome = reply.stream ? stream_outcome(f, static_cast<int>(reply.frames.size())) : body_outcome(f);
    }
    impl_.add_record(std::move(rec));

    co_await sleep_for(f.delay_before_headers);
    switch (f.action) {
      case Fault::Action::none: break;
      case Fault::Action::reset: close(socket, true); co_return false;
      case Fault::Action::close: close(socket, false); co_return false;
      case Fault::Action::no_response: co_await wait_for_peer(socket); co_return false;
    }
    if (fault_status) {
      const std::string body = f.body.empty() ? dialect.error_body(f.status, f.error_code, f.error_message) : f.body;
      co_return co_await send_whole(socket, f.status, "application/json", body, plan, keep);
    }
    if (parsed.error_status) {
      const std::string body = dialect.error_body(parsed.error_status, "", parsed.error_message, parsed.error_param);
      co_return co_await send_whole(socket, parsed.error_status, "application/json", body, plan, keep);
    }
    if (reply.stream) co_return co_await send_stream(socket, dialect, reply, plan, keep);
    co_return co_await send_body(socket, reply, plan, keep);
  }

  awaitable<bool> send_whole(tcp::socket& socket, int status, std::string_view type, const std::string& body,
                             const FakeProvider::Impl::Plan& plan, bool keep) {
    const std::string bytes = head(status, type, plan, Framing::length, body.size(), keep) + body;
    const bool written = co_await write_all(socket, bytes);
    co_return written&& keep;
  }

  // A non-streaming reply, with the body faults (half a body, or not JSON).
  awaitable<bool> send_body(tcp::socket& socket, const detail::Reply& reply, const FakeProvider::Impl::Plan& plan,
                            bool keep) {
    const Fault& f = plan.fault;
    if (f.stall_after < 0 && f.cut_after < 0) {
      // Named, not a temporary in the co_await expression: GCC 12 double-destroys those.
      std::string body = reply.body;
      if (f.malformed_at >= 0) body = "{not json";
      co_return co_await send_whole(socket, reply.status, reply.content_type, body, plan, keep);
    }
    const std::string bytes = head(reply.status, reply.content_type, plan, Framing::length, reply.body.size(), keep) +
                              reply.body.substr(0, reply.body.size() / 2);
    if (!co_await write_all(socket, bytes)) co_return false;
    if (f.stall_after >= 0) co_await wait_for_peer(socket);
    close(socket, false);
    co_return false;
  }

  awaitable<bool> send_stream(tcp::socket& socket, const detail::Dialect& dialect, const detail::Reply& reply,
                              const FakeProvider::Impl::Plan& plan, bool keep) {
    const Fault& f = plan.fault;
    const Framing framing = f.chunked ? Framing::chunked : Framing::eof;
    auto frame = [&](std::string_view data) { return f.chunked ? chunk(data) : std::string(data); };
    const std::string header = head(200, reply.content_type, plan, framing, 0, keep);
    if (!co_await write_all(socket, header)) co_return false;

    const int n = static_cast<int>(reply.frames.size());
    const int stall = clamp_index(f.stall_after, n), cut = clamp_index(f.cut_after, n);
    const int err = clamp_index(f.error_event_at, n);
    for (int i = 0;; ++i) {
      if (i == stall) {
        co_await wait_for_peer(socket);
        co_return false;
      }
      if (i == cut) {  // no [DONE] and, when chunked, no last chunk: a truncated body
        close(socket, false);
        co_return false;
      }
      if (i == n && i != err) break;
      co_await sleep_for(i == 0 ? f.first_token_delay : f.chunk_delay);
      if (i == err) {
        const std::string bytes = frame(dialect.error_frame());
        if (!co_await write_all(socket, bytes)) co_return false;
        break;
      }
      const std::string bytes = frame(i == f.malformed_at ? dialect.malformed_frame() : reply.frames[i]);
      if (!co_await write_all(socket, bytes)) co_return false;
    }
    std::string tail;
    if (!f.omit_done && err == INT_MAX && !dialect.done_frame().empty()) tail = frame(dialect.done_frame());
    if (f.chunked) tail += "0\r\n\r\n";
    if (!tail.empty() && !co_await write_all(socket, tail)) co_return false;
    if (!f.chunked) close(socket, false);
    co_return f.chunked&& keep;
  }

  FakeProvider::Impl& impl_;
  std::unique_ptr<asio::io_context> ioc_;
  std::optional<tcp::acceptor> acceptor_;
  std::vector<std::thread> threads_;
  std::uint16_t port_ = 0;
  std::mutex stop_mutex_;
};

}  // namespace

std::unique_ptr<FakeServer> make_fake_server(FakeProvider::Impl& impl) { return std::make_unique<Server>(impl); }

}  // namespace llmfailover::testing
