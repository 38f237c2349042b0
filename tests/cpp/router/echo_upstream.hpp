// echo_upstream.hpp — a hostile upstream for router tests: a raw socket server on 127.0.0.1:0
// that reads each request (head + Content-Length body) and answers with whatever `respond` makes
// of the request's raw text (e.g. an error that echoes the request's headers back), then closes.
// Deliberately independent of llmfailover's transport and of FakeProvider.
// Thread safety: construct, use port()/url(), destroy; `respond` runs on the server's thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

namespace llmfailover::testing {

class EchoUpstream {
 public:
  using Respond = std::function<std::string(const std::string& request)>;

  explicit EchoUpstream(Respond respond) : respond_(std::move(respond)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 64) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("EchoUpstream: cannot listen on 127.0.0.1:0");
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~EchoUpstream() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  EchoUpstream(const EchoUpstream&) = delete;
  EchoUpstream& operator=(const EchoUpstream&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // A complete HTTP/1.1 response that closes the connection.
  static std::string response(int status, const std::string& content_type, const std::string& body,
                              const std::string& extra_headers = "") {
    return "HTTP/1.1 " + std::to_string(status) + " Status\r\nContent-Type: " + content_type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n" + extra_headers + "\r\n" +
           body;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::string req = read_request(c);
      const std::string out = respond_(req);
      for (std::size_t sent = 0; sent < out.size();) {
        auto n = ::send(c, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
      ::shutdown(c, SHUT_WR);
      ::close(c);
    }
  }

  static std::string read_request(int c) {
    std::string req;
    char buf[4096];
    std::size_t want = std::string::npos;
    while (req.size() < want) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) break;
      auto n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      req.append(buf, static_cast<std::size_t>(n));
      auto head_end = req.find("\r\n\r\n");
      if (head_end == std::string::npos || want != std::string::npos) continue;
      std::size_t length = 0;
      for (const char* name : {"Content-Length: ", "content-length: "})
        if (auto at = req.find(name); at != std::string::npos && at < head_end)
          length = std::stoul(req.substr(at + 16));
      want = head_end + 4 + length;
    }
    return req;
  }

  Respond respond_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace llmfailover::testing
