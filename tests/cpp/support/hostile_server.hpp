// hostile_server.hpp — test helper: a raw-socket HTTP/1.1 "server" on 127.0.0.1 (port 0) that
// misbehaves on purpose. Each accepted connection runs `handler(peer, index)` on its own thread
// with blocking I/O; the handler writes whatever bytes the test wants (two responses for one
// request, endless lines, bytes while idle, ...). Destruction shuts every socket down and joins.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace llmfailover::test {

namespace hostile_asio = boost::asio;

// One accepted connection, as the handler sees it.
class Peer {
 public:
  explicit Peer(hostile_asio::ip::tcp::socket s) : socket_(std::move(s)) {}

  // Reads one request (head, then a Content-Length body); "" when the client closed.
  std::string read_request() {
    boost::system::error_code ec;
    std::size_t head = hostile_asio::read_until(socket_, in_, "\r\n\r\n", ec);
    if (ec) return {};
    std::string text(static_cast<const char*>(in_.data().data()), head);
    in_.consume(head);
    std::size_t length = 0;
    if (auto at = lower(text).find("content-length:"); at != std::string::npos)
      length = std::stoul(text.substr(at + 15));
    while (in_.size() < length) {
      auto n = socket_.read_some(in_.prepare(length - in_.size()), ec);
      if (ec) return {};
      in_.commit(n);
    }
    text.append(static_cast<const char*>(in_.data().data()), length);
    in_.consume(length);
    return text;
  }
  // False once the client is gone.
  bool write(std::string_view bytes) {
    boost::system::error_code ec;
    hostile_asio::write(socket_, hostile_asio::buffer(bytes.data(), bytes.size()), ec);
    return !ec;
  }
  // Ends the connection (FIN both ways); the descriptor stays ours until the server dies, so a
  // late shutdown can never hit a reused descriptor.
  void close() { ::shutdown(socket_.native_handle(), SHUT_RDWR); }

 private:
  static std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  hostile_asio::ip::tcp::socket socket_;
  hostile_asio::streambuf in_;
};

inline std::string http_response(int status, std::string_view body, std::string_view extra_headers = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra_headers) + "\r\n" + std::string(body);
}

class HostileServer {
 public:
  using Handler = std::function<void(Peer&, int index)>;

  explicit HostileServer(Handler handler)
      : handler_(std::move(handler)), acceptor_(ioc_, {hostile_asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    accepting_ = std::thread([this] { accept_loop(); });
  }
  ~HostileServer() {
    stopping_ = true;
    {  // wake accept() with a connection of our own
      hostile_asio::io_context ioc;
      hostile_asio::ip::tcp::socket s(ioc);
      boost::system::error_code ec;
      s.connect({hostile_asio::ip::make_address("127.0.0.1"), port_}, ec);
    }
    accepting_.join();
    {
      std::lock_guard lock(mutex_);
      for (auto& p : peers_) p->close();
    }
    for (auto& t : threads_) t.join();
  }

  std::string url(const std::string& path = "/") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int connections() const { return accepted_.load(); }

 private:
  void accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      hostile_asio::ip::tcp::socket s(ioc_);
      acceptor_.accept(s, ec);
      if (stopping_ || ec) return;
      int index = accepted_++;
      std::lock_guard lock(mutex_);
      Peer* peer = peers_.emplace_back(std::make_unique<Peer>(std::move(s))).get();
      threads_.emplace_back([this, index, peer] { handler_(*peer, index); });
    }
  }

  Handler handler_;
  hostile_asio::io_context ioc_;
  hostile_asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::mutex mutex_;
  std::list<std::unique_ptr<Peer>> peers_;
  std::list<std::thread> threads_;
  std::thread accepting_;
};

// Writes an SSE response head, then calls `more` until the client goes away or it returns "".
inline HostileServer::Handler sse_stream(std::function<std::string(int round)> more, int status = 200,
                                         std::string type = "text/event-stream") {
  return [=](Peer& p, int) {
    if (p.read_request().empty()) return;
    if (!p.write("HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + type + "\r\n\r\n")) return;
    for (int round = 0;; ++round) {
      std::string bytes = more(round);
      if (bytes.empty() || !p.write(bytes)) break;
    }
    p.close();
  };
}

}  // namespace llmfailover::test
