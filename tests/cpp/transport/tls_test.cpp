// TLS: verification is on by default; a custom CA bundle, a wrong hostname, an untrusted
// certificate and verify=false against a local HTTPS server with a generated CA.
#include <gtest/gtest.h>

#include "llmfailover/transport/http_client.hpp"
#include "support/sync_call.hpp"
#include "support/tls_server.hpp"

namespace llmfailover::transport {
namespace {

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new test::TestPki(test::TestPki::make()); }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(pki_->dir);
    delete pki_;
  }
  static test::TestPki* pki_;
  using Collected = test::Collected;

  static Collected get(HttpClient& client, unsigned short port, const std::string& host = "127.0.0.1") {
    HttpRequest r;
    r.url = "https://" + host + ":" + std::to_string(port) + "/v1/models";
    return test::fetch(client, r);
  }
};
test::TestPki* TlsTest::pki_ = nullptr;

ClientOptions with_ca(const std::string& ca) {
  ClientOptions o;
  o.tls.ca_file = ca;
  return o;
}

TEST_F(TlsTest, TrustedCertificateForTheAddressWorks) {
  test::TlsServer server(pki_->cert("good"), pki_->key("good"), R"({"object":"list","data":[]})");
  HttpClient client(with_ca(pki_->ca()));
  auto c = get(client, server.port());
  ASSERT_EQ(c.status(), 200) << (c.events.empty() ? std::string() : c.last().error.message);
  EXPECT_EQ(c.events[1].data, R"({"object":"list","data":[]})");
}

TEST_F(TlsTest, HostnameIsCheckedAndSniSent) {
  test::TlsServer server(pki_->cert("good"), pki_->key("good"), "{}");
  HttpClient client(with_ca(pki_->ca()));
  EXPECT_EQ(get(client, server.port(), "localhost").status(), 200);
}

TEST_F(TlsTest, WrongHostnameIsRejected) {
  test::TlsServer server(pki_->cert("wrong"), pki_->key("wrong"), "{}");
  HttpClient client(with_ca(pki_->ca()));
  auto c = get(client, server.port());
  ASSERT_EQ(c.last().error.code, Errc::tls_failed);
  EXPECT_NE(c.last().error.message.find("mismatch"), std::string::npos) << c.last().error.message;
}

TEST_F(TlsTest, UntrustedCertificateIsRejectedByDefault) {
  test::TlsServer server(pki_->cert("good"), pki_->key("good"), "{}");
  HttpClient client;  // system store: does not know our CA
  auto c = get(client, server.port());
  ASSERT_EQ(c.last().error.code, Errc::tls_failed);
  EXPECT_EQ(errc_class(c.last().error), ErrorClass::transparent);
}

TEST_F(TlsTest, VerificationCanBeTurnedOff) {
  test::TlsServer server(pki_->cert("wrong"), pki_->key("wrong"), "{}");
  ClientOptions o;
  o.tls.verify = false;
  HttpClient client(o);
  EXPECT_EQ(get(client, server.port()).status(), 200);
}

TEST(TlsOptions, MissingCaBundleIsAClearError) {
  ClientOptions o;
  o.tls.ca_file = "/nonexistent/ca.pem";
  try {
    HttpClient client(o);
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/ca.pem"), std::string::npos);
  }
}

}  // namespace
}  // namespace llmfailover::transport
