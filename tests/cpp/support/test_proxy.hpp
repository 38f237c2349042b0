// test_proxy.hpp — test helper: a small HTTP proxy on 127.0.0.1 (port 0), blocking sockets and
// a thread per connection. CONNECT host:port opens a tunnel (RFC 9110 section 9.3.6); a request
// in absolute form is forwarded in origin form; after either, bytes are relayed both ways until
// one side closes. Modes make it misbehave: refuse with 407, close at once, answer garbage, or
// stay silent. With `require` set, a request without that exact Proxy-Authorization gets 407.
// Every request head it received is kept (heads()) for the tests to inspect.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <list>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace llmfailover::test {

class TestProxy {
 public:
  enum class Mode { relay, refuse_407, close, garbage, silent };

  explicit TestProxy(Mode mode = Mode::relay, std::string require = {}) : mode_(mode), require_(std::move(require)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listener_, 64);
    socklen_t len = sizeof a;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accepting_ = std::thread([this] { accept_loop(); });
  }
  ~TestProxy() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    accepting_.join();
    {
      std::lock_guard lock(mutex_);
      for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : threads_) t.join();
    for (int fd : fds_) ::close(fd);
    ::close(listener_);
  }

  unsigned short port() const { return port_; }
  std::string url(const std::string& userinfo = {}) const {
    return "http://" + (userinfo.empty() ? "" : userinfo + "@") + "127.0.0.1:" + std::to_string(port_);
  }
  std::vector<std::string> heads() const {
    std::lock_guard lock(mutex_);
    return heads_;
  }
  int connections() const { return accepted_.load(); }

 private:
  static bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  static void relay(int a, int b) {
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    char buf[16384];
    for (;;) {
      if (::poll(fds, 2, 10'000) <= 0) return;
      for (int i = 0; i < 2; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
        if (n <= 0 || !write_all(fds[1 - i].fd, {buf, static_cast<std::size_t>(n)})) return;
      }
    }
  }
  int track(int fd) {
    std::lock_guard lock(mutex_);
    fds_.push_back(fd);
    return fd;
  }
  static int dial(const std::string& hostport) {
    auto colon = hostport.rfind(':');
    std::string host = hostport.substr(0, colon);
    if (host == "localhost") host = "127.0.0.1";
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(std::stoi(hostport.substr(colon + 1))));
    ::inet_pton(AF_INET, host.c_str(), &a.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }

  void accept_loop() {
    for (;;) {
      int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0 || stopping_) {
        if (fd >= 0) ::close(fd);
        return;
      }
      ++accepted_;
      track(fd);
      std::lock_guard lock(mutex_);
      threads_.emplace_back([this, fd] { serve(fd); });
    }
  }

  void serve(int fd) {
    std::string in;
    char buf[4096];
    while (in.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, static_cast<std::size_t>(n));
    }
    std::size_t end = in.find("\r\n\r\n") + 4;
    std::string head = in.substr(0, end), rest = in.substr(end);
    {
      std::lock_guard lock(mutex_);
      heads_.push_back(head);
    }
    switch (mode_) {
      case Mode::close: ::shutdown(fd, SHUT_RDWR); return;
      case Mode::garbage: write_all(fd, "\x16\x03\x01 this is not HTTP at all\r\n\r\n"); return;
      case Mode::silent:  // reads until the client gives up
        while (::recv(fd, buf, sizeof buf, 0) > 0) {}
        return;
      case Mode::refuse_407: return refuse(fd);
      case Mode::relay: break;
    }
    if (!require_.empty() && head.find("Proxy-Authorization: " + require_ + "\r\n") == std::string::npos)
      return refuse(fd);
    std::string line = head.substr(0, head.find("\r\n"));
    std::string method = line.substr(0, line.find(' '));
    std::string target = line.substr(method.size() + 1, line.rfind(' ') - method.size() - 1);
    if (method == "CONNECT") {
      int up = dial(target);
      if (up < 0) return (void)write_all(fd, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
      track(up);
      write_all(fd, "HTTP/1.1 200 Connection established\r\n\r\n");
      return relay(fd, up);
    }
    // Absolute form: http://host:port/path -> origin form to host:port.
    std::string authority = target.substr(7, target.find('/', 7) - 7);
    std::string path = target.substr(7 + authority.size());
    if (authority.find(':') == std::string::npos) authority += ":80";
    int up = dial(authority);
    if (up < 0) return (void)write_all(fd, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
    track(up);
    write_all(up, method + " " + path + head.substr(line.rfind(' ')) + rest);
    relay(fd, up);
  }

  void refuse(int fd) {
    write_all(fd,
              "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"t\"\r\n"
              "Content-Length: 6\r\n\r\ndenied");
  }

  Mode mode_;
  std::string require_;
  int listener_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> heads_;
  std::vector<int> fds_;
  std::list<std::thread> threads_;
  std::thread accepting_;
};

}  // namespace llmfailover::test
