// raw_client.hpp — a tiny blocking HTTP/1.1 client on Beast for driving test servers, with a
// time limit on every read. Deliberately independent of llmfailover's own HttpClient.
// Thread safety: none; one per test thread.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <string>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "llmfailover/http.hpp"

namespace llmfailover::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// One connection; every operation runs the io_context until it completes or `timeout` passes.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port) : stream_(ioc_) {
    stream_.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  void send(http::verb verb, std::string target, std::string body = {}, bool keep_alive = true,
            const Headers& extra = {}) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json");
    req.set("x-test", "1");
    req.keep_alive(keep_alive);
    for (const auto& h : extra) req.set(h.name, h.value);
    req.body() = std::move(body);
    req.prepare_payload();
    http::write(stream_.socket(), req);
  }

  // Reads one response; the error is what the parser or the socket reported.
  beast::error_code read(http::response<http::string_body>& res, Millis timeout = std::chrono::seconds(2)) {
    http::response_parser<http::string_body> parser;
    beast::error_code result;
    stream_.expires_after(timeout);
    http::async_read(stream_, buffer_, parser, [&](beast::error_code ec, std::size_t) { result = ec; });
    run();
    res = parser.release();
    return result;
  }

  // Reads raw bytes until the peer closes or errs (returned), or `timeout` passes.
  beast::error_code read_raw(std::string& out, Millis timeout = std::chrono::seconds(2)) {
    out.assign(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    buffer_.consume(buffer_.size());
    beast::error_code result;
    std::array<char, 4096> block;
    std::function<void(beast::error_code, std::size_t)> on_read = [&](beast::error_code ec, std::size_t n) {
      out.append(block.data(), n);
      if (ec) {
        result = ec;
        return;
      }
      stream_.async_read_some(asio::buffer(block), on_read);
    };
    stream_.expires_after(timeout);
    stream_.async_read_some(asio::buffer(block), on_read);
    run();
    return result;
  }

 private:
  void run() {
    ioc_.restart();
    ioc_.run();
  }

  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

}  // namespace llmfailover::testing
