// tls_server.hpp — test helper: a CA and certificates made with the openssl CLI, and a small
// HTTPS server (Beast) answering every request with a fixed JSON body.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace llmfailover::test {

// A throwaway CA plus two server certificates signed by it: one for 127.0.0.1/localhost, one for
// another name only.
struct TestPki {
  std::filesystem::path dir;
  std::string ca() const { return (dir / "ca.pem").string(); }
  std::string cert(const std::string& name) const { return (dir / (name + ".pem")).string(); }
  std::string key(const std::string& name) const { return (dir / (name + ".key")).string(); }

  static TestPki make() {
    TestPki p;
    p.dir = std::filesystem::temp_directory_path() / ("llmf-pki-" + std::to_string(::getpid()));
    std::filesystem::create_directories(p.dir);
    auto run = [](const std::string& cmd) {
      if (std::system((cmd + " >/dev/null 2>&1").c_str()) != 0) throw std::runtime_error("failed: " + cmd);
    };
    std::string d = p.dir.string();
    std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
    run("openssl req -x509" + ec + "-keyout " + d + "/ca.key -out " + d + "/ca.pem -days 2 -subj /CN=llmf-test-ca");
    auto leaf = [&](const std::string& name, const std::string& san) {
      run("openssl req" + ec + "-keyout " + d + "/" + name + ".key -out " + d + "/" + name + ".csr -subj /CN=" + name);
      std::ofstream(p.dir / (name + ".ext")) << "subjectAltName=" << san << "\n";
      run("openssl x509 -req -in " + d + "/" + name + ".csr -CA " + d + "/ca.pem -CAkey " + d +
          "/ca.key -CAcreateserial -days 2 -out " + d + "/" + name + ".pem -extfile " + d + "/" + name + ".ext");
    };
    leaf("good", "IP:127.0.0.1,DNS:localhost");
    leaf("wrong", "DNS:wrong.example");
    return p;
  }
};

class TlsServer {
 public:
  TlsServer(const std::string& cert, const std::string& key, std::string body)
      : ctx_(boost::asio::ssl::context::tls_server),
        acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}),
        body_(std::move(body)) {
    ctx_.use_certificate_chain_file(cert);
    ctx_.use_private_key_file(key, boost::asio::ssl::context::pem);
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TlsServer() {
    boost::asio::post(ioc_, [this] { acceptor_.close(); });
    ioc_.stop();
    thread_.join();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::beast::error_code ec, boost::asio::ip::tcp::socket sock) {
      if (ec) return;
      serve(std::move(sock));
      accept();
    });
  }
  void serve(boost::asio::ip::tcp::socket sock) {
    namespace http = boost::beast::http;
    struct Session {
      boost::beast::ssl_stream<boost::beast::tcp_stream> stream;
      boost::beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::response<http::string_body> res;
    };
    auto s = std::make_shared<Session>(Session{{std::move(sock), ctx_}, {}, {}, {}});
    s->stream.async_handshake(boost::asio::ssl::stream_base::server, [this, s](boost::beast::error_code ec) {
      if (ec) return;
      http::async_read(s->stream, s->buffer, s->req, [this, s](boost::beast::error_code ec, std::size_t) {
        if (ec) return;
        s->res.result(200);
        s->res.set(http::field::content_type, "application/json");
        s->res.body() = body_;
        s->res.keep_alive(false);
        s->res.prepare_payload();
        http::async_write(s->stream, s->res, [s](boost::beast::error_code, std::size_t) {
          boost::beast::error_code ignored;
          s->stream.next_layer().socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
        });
      });
    });
  }

  boost::asio::io_context ioc_;
  boost::asio::ssl::context ctx_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::string body_;
  std::thread thread_;
};

}  // namespace llmfailover::test
