// HTTP proxies: forwarding in absolute form, CONNECT tunnels with TLS to the target, Basic proxy
// credentials (never in a message), NO_PROXY, pooling per (proxy, origin), and proxies that
// refuse, close, answer garbage or stay silent (a clear error naming the proxy, never a hang).
#include "llmfailover/transport/proxy.hpp"

#include <gtest/gtest.h>

#include "llmfailover/transport/http_client.hpp"
#include "llmfailover/transport/url.hpp"
#include "support/hostile_server.hpp"
#include "support/sync_call.hpp"
#include "support/test_proxy.hpp"
#include "support/tls_server.hpp"

namespace llmfailover::transport {
namespace {

using namespace std::chrono_literals;
using test::TestProxy;

// An origin that answers every request with its request line (so a test sees the form it got).
test::HostileServer::Handler echo_request_line() {
  return [](test::Peer& p, int) {
    for (;;) {
      std::string req = p.read_request();
      if (req.empty()) return;
      if (!p.write(test::http_response(200, req.substr(0, req.find("\r\n"))))) return;
    }
  };
}

ClientOptions via(const std::string& proxy, const std::string& no_proxy = {}) {
  ClientOptions o;
  o.proxy.http = proxy;
  o.proxy.https = proxy;
  o.proxy.no_proxy = no_proxy;
  return o;
}

test::Collected get(HttpClient& client, const std::string& url, Millis connect = 5000ms) {
  HttpRequest r;
  r.url = url;
  r.timeouts.connect = connect;
  return test::fetch(client, r);
}

std::string message_of(const test::Collected& c) { return c.events.empty() ? "" : c.last().error.message; }

TEST(Proxy, PlainHttpIsForwardedInAbsoluteForm) {
  test::HostileServer origin(echo_request_line());
  TestProxy proxy;
  HttpClient client(via(proxy.url()));
  auto c = get(client, origin.url("/v1/models?x=1"));
  ASSERT_EQ(c.status(), 200) << message_of(c);
  EXPECT_EQ(c.events[1].data, "GET /v1/models?x=1 HTTP/1.1");  // the proxy turned it into origin form
  ASSERT_EQ(proxy.heads().size(), 1u);
  EXPECT_TRUE(proxy.heads()[0].starts_with("GET " + origin.url("/v1/models?x=1") + " HTTP/1.1\r\n"))
      << proxy.heads()[0];
}

TEST(Proxy, CredentialsGoAsBasicAndNeverIntoMessages) {
  test::HostileServer origin(echo_request_line());
  TestProxy proxy(TestProxy::Mode::relay, "Basic dXNlcjpwQHNz");  // base64("user:p@ss")
  HttpClient client(via(proxy.url("user:p%40ss")));
  auto c = get(client, origin.url("/"));
  ASSERT_EQ(c.status(), 200) << message_of(c);

  TestProxy refusing(TestProxy::Mode::relay, "Basic dXNlcjpwQHNz");
  HttpClient wrong2(via(refusing.url("user:secret-pw")));
  auto w = get(wrong2, "https://127.0.0.1:1/");
  ASSERT_EQ(w.last().kind, Event::Kind::error);
  EXPECT_EQ(w.last().error.code, Errc::connect_failed);
  EXPECT_NE(w.last().error.message.find("407"), std::string::npos) << w.last().error.message;
  EXPECT_NE(w.last().error.message.find("refused the credentials"), std::string::npos) << w.last().error.message;
  EXPECT_EQ(w.last().error.message.find("secret-pw"), std::string::npos) << w.last().error.message;
  EXPECT_EQ(w.last().error.message.find("dXNlcjpzZWNyZXQtcHc"), std::string::npos) << w.last().error.message;
  EXPECT_EQ(w.last().error.message.find("user"), std::string::npos) << w.last().error.message;
}

class ProxyTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new test::TestPki(test::TestPki::make()); }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(pki_->dir);
    delete pki_;
  }
  static ClientOptions tls_via(const std::string& proxy) {
    ClientOptions o = via(proxy);
    o.tls.ca_file = pki_->ca();
    return o;
  }
  static test::TestPki* pki_;
};
test::TestPki* ProxyTls::pki_ = nullptr;

TEST_F(ProxyTls, HttpsGoesThroughAConnectTunnelVerifyingTheTarget) {
  test::TlsServer server(pki_->cert("good"), pki_->key("good"), R"({"ok":true})");
  TestProxy proxy;
  HttpClient client(tls_via(proxy.url()));
  std::string port = std::to_string(server.port());
  auto c = get(client, "https://localhost:" + port + "/v1/models");  // SNI + hostname "localhost"
  ASSERT_EQ(c.status(), 200) << message_of(c);
  EXPECT_EQ(c.events[1].data, R"({"ok":true})");
  ASSERT_EQ(proxy.heads().size(), 1u);
  EXPECT_TRUE(proxy.heads()[0].starts_with("CONNECT localhost:" + port + " HTTP/1.1\r\n")) << proxy.heads()[0];
  EXPECT_NE(proxy.heads()[0].find("Host: localhost:" + port + "\r\n"), std::string::npos) << proxy.heads()[0];
}

TEST_F(ProxyTls, TheTargetsCertificateIsCheckedThroughTheTunnel) {
  test::TlsServer server(pki_->cert("wrong"), pki_->key("wrong"), "{}");
  TestProxy proxy;
  HttpClient client(tls_via(proxy.url()));
  auto c = get(client, "https://127.0.0.1:" + std::to_string(server.port()) + "/");
  ASSERT_EQ(c.last().error.code, Errc::tls_failed) << message_of(c);
  EXPECT_NE(c.last().error.message.find("mismatch"), std::string::npos) << c.last().error.message;
}

struct Misbehaviour {
  TestProxy::Mode mode;
  Errc code;
  const char* says;
};

class ProxyMisbehaves : public ::testing::TestWithParam<Misbehaviour> {};

TEST_P(ProxyMisbehaves, IsAClearConnectionErrorNamingTheProxy) {
  TestProxy proxy(GetParam().mode);
  HttpClient client(via(proxy.url("alice:hunter2")));
  auto t0 = Clock::now();
  auto c = get(client, "https://127.0.0.1:9/v1/chat/completions", 400ms);
  ASSERT_FALSE(c.events.empty());
  ASSERT_EQ(c.last().kind, Event::Kind::error);
  EXPECT_LT(Clock::now() - t0, 3s);  // bounded by the connect timeout, never a hang
  const Error& e = c.last().error;
  EXPECT_EQ(e.code, GetParam().code) << e.message;
  EXPECT_FALSE(e.request_sent);
  EXPECT_NE(e.message.find("http://127.0.0.1:" + std::to_string(proxy.port())), std::string::npos) << e.message;
  EXPECT_NE(e.message.find(GetParam().says), std::string::npos) << e.message;
  for (const char* secret : {"alice", "hunter2", "YWxpY2U6aHVudGVyMg"})
    EXPECT_EQ(e.message.find(secret), std::string::npos) << e.message;
}

INSTANTIATE_TEST_SUITE_P(
    Modes, ProxyMisbehaves,
    ::testing::Values(Misbehaviour{TestProxy::Mode::refuse_407, Errc::connect_failed, "status 407"},
                      Misbehaviour{TestProxy::Mode::close, Errc::connect_failed, "closed the connection"},
                      Misbehaviour{TestProxy::Mode::garbage, Errc::connect_failed, "not HTTP"},
                      Misbehaviour{TestProxy::Mode::silent, Errc::connect_timeout, "answer CONNECT"}));

TEST(Proxy, ATargetSilentInTheTlsHandshakeIsAConnectTimeoutNamingBoth) {
  test::HostileServer mute([](test::Peer& p, int) { p.read_request(); });  // takes the hello, says nothing
  TestProxy proxy;
  HttpClient client(via(proxy.url()));
  auto t0 = Clock::now();
  auto c = get(client, "https://127.0.0.1:" + std::to_string(parse_url(mute.url())->port) + "/", 300ms);
  EXPECT_LT(Clock::now() - t0, 3s);
  ASSERT_EQ(c.last().error.code, Errc::connect_timeout) << message_of(c);
  EXPECT_NE(c.last().error.message.find("TLS handshake with https://127.0.0.1"), std::string::npos) << message_of(c);
  EXPECT_NE(c.last().error.message.find("through http://127.0.0.1:" + std::to_string(proxy.port())), std::string::npos)
      << message_of(c);
}

TEST(Proxy, AnUnreachableProxyIsNamed) {
  unsigned short dead;
  {
    TestProxy gone;
    dead = gone.port();
  }
  HttpClient client(via("http://127.0.0.1:" + std::to_string(dead)));
  auto c = get(client, "http://127.0.0.1:9/");
  ASSERT_EQ(c.last().error.code, Errc::connect_refused) << message_of(c);
  EXPECT_NE(c.last().error.message.find("proxy http://127.0.0.1:" + std::to_string(dead)), std::string::npos);
}

TEST(Proxy, NoProxyGoesDirect) {
  test::HostileServer origin(echo_request_line());
  TestProxy proxy;
  HttpClient client(via(proxy.url(), "example.com, 127.0.0.1"));
  EXPECT_EQ(get(client, origin.url("/")).status(), 200);
  EXPECT_EQ(proxy.connections(), 0);
}

TEST(Proxy, ConnectionsArePooledPerProxyAndOrigin) {
  test::HostileServer origin(echo_request_line());
  TestProxy proxy;
  HttpClient client(via(proxy.url()));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(get(client, origin.url("/")).status(), 200);
  EXPECT_EQ(proxy.connections(), 1);
  // The same origin without the proxy (a request's own setting) is another connection.
  HttpRequest direct;
  direct.url = origin.url("/");
  direct.proxy = "";
  EXPECT_EQ(test::fetch(client, direct).status(), 200);
  EXPECT_EQ(proxy.connections(), 1);
  EXPECT_EQ(client.stats().connections_opened, 2u);
  // A request may name its own proxy.
  HttpClient plain;
  HttpRequest routed;
  routed.url = origin.url("/");
  routed.proxy = proxy.url();
  EXPECT_EQ(test::fetch(plain, routed).status(), 200);
  EXPECT_EQ(proxy.connections(), 2);
  routed.proxy = "socks4://user:pw@127.0.0.1:1";
  auto bad = test::fetch(plain, routed);
  EXPECT_EQ(bad.last().error.code, Errc::bad_request);
  EXPECT_EQ(bad.last().error.message.find("pw"), std::string::npos) << bad.last().error.message;
}

// --- the pieces -----------------------------------------------------------------------------

TEST(ProxyUrl, ParsesUserinfoHostAndPort) {
  auto q = parse_proxy_url("http://user:p%40ss@Proxy.Local:3128/", "HTTP_PROXY");
  EXPECT_EQ(q.host, "Proxy.Local");
  EXPECT_EQ(q.port, 3128);
  EXPECT_EQ(q.authorization, "Basic dXNlcjpwQHNz");
  EXPECT_EQ(q.display(), "http://Proxy.Local:3128");
  auto bare = parse_proxy_url("127.0.0.1:8080", "HTTP_PROXY");  // no scheme: http://, as curl and httpx
  EXPECT_EQ(bare.port, 8080);
  EXPECT_EQ(parse_proxy_url("http://[::1]", "x").host, "::1");
  EXPECT_EQ(parse_proxy_url("http://[::1]", "x").port, 80);
}

TEST(ProxyUrl, HttpsAndSocks5SchemesWithTheirDefaultPortsAndCredentials) {
  auto tls = parse_proxy_url("HTTPS://u:p@proxy", "x");
  EXPECT_EQ(tls.scheme, ProxyScheme::https);
  EXPECT_EQ(tls.port, 443);
  EXPECT_EQ(tls.authorization, "Basic dTpw");
  EXPECT_EQ(tls.display(), "https://proxy:443");
  auto socks = parse_proxy_url("socks5://user:p%40ss@[::1]", "x");
  EXPECT_EQ(socks.scheme, ProxyScheme::socks5);
  EXPECT_TRUE(socks.socks());
  EXPECT_EQ(socks.port, 1080);
  EXPECT_EQ(socks.username, "user");
  EXPECT_EQ(socks.password, "p@ss");
  EXPECT_EQ(socks.authorization, "");  // RFC 1929 in the handshake, never a Proxy-Authorization header
  EXPECT_EQ(socks.display(), "socks5://[::1]:1080");
  EXPECT_EQ(parse_proxy_url("socks5h://h:9", "x").scheme, ProxyScheme::socks5h);
  EXPECT_THROW(parse_proxy_url("socks5://" + std::string(256, 'u') + ":p@h", "x"), std::invalid_argument);
}

TEST(ProxyUrl, MalformedOnesNameTheSettingNotTheSecret) {
  const std::pair<const char*, const char*> bad[] = {
      {"socks4://u:topsecret@proxy:1080", "unsupported proxy scheme 'socks4'"},
      {"socks5://:topsecret@proxy:1080", "SOCKS5 user name must be 1..255 bytes"},  // RFC 1929: ULEN >= 1
      {"http://u:topsecret@proxy:99999", "port"},
      {"http://u:topsecret@:8080", "no host"},
      {"http://u:top%zzsecret@proxy", "%-escape"},
      {"http://u:topsecret@pro xy", "space"},
      {"", "empty"},
      {"http://a%3Ab:topsecret@proxy", "contains ':'"},  // RFC 7617: a user-id cannot hold ':'
  };
  for (auto [url, says] : bad) {
    try {
      parse_proxy_url(url, "HTTPS_PROXY");
      ADD_FAILURE() << url;
    } catch (const std::invalid_argument& e) {
      std::string m = e.what();
      EXPECT_TRUE(m.starts_with("HTTPS_PROXY: ")) << m;
      EXPECT_NE(m.find(says), std::string::npos) << m;
      EXPECT_EQ(m.find("topsecret"), std::string::npos) << m;
    }
  }
  ClientOptions o;
  o.proxy.https = "ftp://proxy";
  EXPECT_THROW(HttpClient client(o), std::invalid_argument);
}

bool proxied(const ProxyRoutes& routes, const std::string& url) { return routes.for_target(*parse_url(url)); }

TEST(ProxyRoutes, FollowCurlAndHttpxNoProxyRules) {
  ProxyRoutes r(
      {"http://p:1", "http://p:2", "example.com, .internal.net,*.corp,api.local:8443 10.0.0.0/8,::1,[fd00::]/8"});
  EXPECT_EQ(r.for_target(*parse_url("http://x.org/"))->port, 1);
  EXPECT_EQ(r.for_target(*parse_url("https://x.org/"))->port, 2);
  EXPECT_FALSE(proxied(r, "https://example.com/"));
  EXPECT_FALSE(proxied(r, "https://EXAMPLE.com./"));
  EXPECT_FALSE(proxied(r, "https://api.example.com/"));
  EXPECT_TRUE(proxied(r, "https://badexample.com/"));
  EXPECT_FALSE(proxied(r, "https://internal.net/"));
  EXPECT_FALSE(proxied(r, "https://a.b.internal.net/"));
  EXPECT_FALSE(proxied(r, "https://x.corp/"));
  EXPECT_FALSE(proxied(r, "https://api.local:8443/"));
  EXPECT_TRUE(proxied(r, "https://api.local/"));
  EXPECT_FALSE(proxied(r, "http://10.2.3.4:8080/"));
  EXPECT_TRUE(proxied(r, "http://11.2.3.4/"));
  EXPECT_FALSE(proxied(r, "http://[::1]:8080/"));
  EXPECT_FALSE(proxied(r, "http://[fd12::1]/"));
  EXPECT_TRUE(proxied(r, "http://[fe80::1]/"));

  EXPECT_FALSE(proxied(ProxyRoutes({"http://p:1", "http://p:1", "*"}), "https://anything/"));
  EXPECT_FALSE(proxied(ProxyRoutes({"", "http://p:1", ""}), "http://plain/"));  // no http proxy
  EXPECT_THROW(ProxyRoutes({"", "", "10.0.0.0/40"}), std::invalid_argument);
  EXPECT_THROW(ProxyRoutes({"", "", "host:notaport"}), std::invalid_argument);
}

}  // namespace
}  // namespace llmfailover::transport
