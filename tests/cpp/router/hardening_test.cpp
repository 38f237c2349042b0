// Router hardening (issue 10, router part): hostile streams with
// wrong-typed fields in every dialect never hang a call, a finished call is freed before its
// timers would fire, credentials an upstream echoes never reach the caller or the route log,
// "no limit" durations saturate, io_threads is bounded, an oversized 5xx still fails over, and a
// cancel is reported as a cancel.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "llmfailover/providers/eventstream.hpp"
#include "router/echo_upstream.hpp"
#include "router/router_fixture.hpp"

namespace llmfailover {
namespace {

using testing::EchoUpstream;
using testing::Fault;

class HardeningTest : public RouterTest {
 protected:
  DeploymentConfig other(const std::string& provider, const std::string& model, const std::string& suffix) {
    DeploymentConfig d = deployment("smart", model);
    d.provider = provider;
    d.base_url = fp.root_url() + suffix;
    return d;
  }
};

// ---- item 3: wrong-typed fields in a stream --------------------------------------------------

struct HostileStream {
  std::string provider, model, suffix, content_type, body;
};

std::string sse(const std::vector<std::string>& events) {
  std::string out;
  for (const auto& e : events) out += e + "\n\n";
  return out;
}

std::string bedrock_frames(const std::vector<std::pair<std::string, std::string>>& events) {
  std::string out;
  for (const auto& [type, payload] : events)
    out += providers::eventstream::encode(
        {{":event-type", type}, {":content-type", "application/json"}, {":message-type", "event"}}, payload);
  return out;
}

std::vector<HostileStream> hostile_streams() {
  const std::string ev = "text/event-stream";
  std::vector<HostileStream> out;
  auto openai = [&](const std::string& chunk) {
    out.push_back({"openai", "a", "/v1", ev, sse({"data: " + chunk, "data: [DONE]"})});
  };
  openai(
      R"({"id":"x","object":"chat.completion.chunk","choices":[{"index":"0","delta":{"content":"hi"},"finish_reason":null}]})");
  openai(
      R"({"id":"x","object":"chat.completion.chunk","choices":[{"index":null,"delta":{"content":"hi"},"finish_reason":"stop"}]})");
  openai(R"({"id":"x","choices":{"0":{"index":0,"delta":{"content":"hi"}}}})");
  openai(R"({"id":"x","choices":[{"index":0,"delta":["content","hi"]}]})");
  openai(R"({"id":"x","choices":[{"index":0,"delta":"hi"}]})");
  openai(R"({"id":"x","choices":[{"index":0,"delta":{"content":["hi"],"tool_calls":{"0":1}}}]})");
  openai(R"({"id":"x","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":7}],"usage":[1,2]})");
  openai(R"({"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":"0","function":"f"}]}}]})");
  openai(R"({"id":"x","choices":[null,7,"x"],"usage":{"total_tokens":"9"}})");
  auto anthropic = [&](const std::vector<std::string>& data) {
    std::vector<std::string> events;
    for (const auto& d : data)
      events.push_back("event: " + nlohmann::json::parse(d).value("type", "x") + "\ndata: " + d);
    out.push_back({"anthropic", "claude-x", "", ev, sse(events)});
  };
  anthropic({R"({"type":"message_start","message":null})"});
  anthropic({R"({"type":"message_start","message":{"id":7,"usage":"many"}})",
             R"({"type":"content_block_delta","index":"0","delta":"hi"})"});
  anthropic({R"({"type":"message_start","message":{"id":"m","usage":{"input_tokens":1}}})",
             R"({"type":"content_block_start","index":0,"content_block":[]})",
             R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":["hi"]}})"});
  anthropic({R"({"type":"message_start","message":{"id":"m"}})",
             R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}})",
             R"({"type":"message_delta","delta":null,"usage":{"output_tokens":"2"}})"});
  auto gemini = [&](const std::string& chunk) {
    out.push_back({"gemini", "gemini-x", "/v1beta", ev, sse({"data: " + chunk})});
  };
  gemini(R"({"candidates":{"0":{"content":{"parts":[{"text":"hi"}]}}}})");
  gemini(R"({"candidates":[{"content":{"parts":"hi"},"index":"0"}]})");
  gemini(R"({"candidates":[{"content":{"parts":[{"text":7}]},"finishReason":["STOP"]}],"usageMetadata":[]})");
  gemini(R"({"candidates":[{"content":null,"finishReason":"STOP"}],"usageMetadata":{"totalTokenCount":"3"}})");
  auto cohere = [&](const std::vector<std::string>& data) {
    std::vector<std::string> events;
    for (const auto& d : data)
      events.push_back("event: " + nlohmann::json::parse(d).value("type", "x") + "\ndata: " + d);
    out.push_back({"cohere", "command-x", "", ev, sse(events)});
  };
  cohere({R"({"type":"message-start","id":7,"delta":"x"})",
          R"({"type":"content-delta","index":"0","delta":{"message":["hi"]}})"});
  cohere({R"({"type":"content-delta","index":0,"delta":{"message":{"content":{"text":7}}}})",
          R"({"type":"message-end","delta":{"finish_reason":["COMPLETE"],"usage":"x"}})"});
  const std::string es = "application/vnd.amazon.eventstream";
  out.push_back({"bedrock", "b-model", "", es,
                 bedrock_frames({{"messageStart", R"({"role":7})"},
                                 {"contentBlockDelta", R"({"contentBlockIndex":"0","delta":"hi"})"}})});
  out.push_back({"bedrock", "b-model", "", es,
                 bedrock_frames({{"contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":["hi"]}})"},
                                 {"messageStop", R"({"stopReason":{"x":1}})"},
                                 {"metadata", R"({"usage":[]})"}})});
  return out;
}

// The issue's case and its relatives: before the fix, an exception on the io thread killed the
// exchange silently, so neither the first-token limit, the deadline nor failover ever fired.
TEST_F(HardeningTest, WrongTypedStreamFieldsInEveryDialectNeverHangTheCall) {
  for (const auto& h : hostile_streams()) {
    fp.reset();
    fp.set_default(h.model, Fault::http_status(200, {{"Content-Type", h.content_type}}, h.body));
    auto primary = h.provider == "openai" ? deployment("smart", h.model) : other(h.provider, h.model, h.suffix);
    if (h.provider == "bedrock") primary.region = "us-east-1";
    auto cfg = config({primary, deployment("smart", "b")});
    cfg.defaults.timeouts.first_token = 5s;  // far above the bound below: only failover can meet it
    cfg.defaults.timeouts.idle = 5s;
    cfg.defaults.timeouts.deadline = 8s;
    auto started = Clock::now();
    {
      Router router(cfg, {}, nullptr, first());
      auto o = run(router, request("smart", true), 6s);
      const auto took = Clock::now() - started;
      ASSERT_TRUE(o.ended()) << h.provider << " hung on: " << h.body;
      EXPECT_LT(took, 3s) << h.provider << ": " << h.body;
      if (o.last().kind == Event::Kind::error) {  // only after the commit point: never a timeout
        EXPECT_EQ(o.last().error.code, Errc::stream_interrupted) << h.body << ": " << o.last().error.message;
      }
      auto after = run(router, "smart", true);  // the same router serves the next call
      ASSERT_TRUE(after.ended()) << h.body;
      router.close();  // before the fix: "pure virtual method called" here or at exit
    }
  }
}

TEST_F(HardeningTest, WrongTypedErrorBodiesInEveryDialectStillFailOver) {
  const std::vector<std::string> bodies = {
      R"({"error":{"code":7,"message":["x"],"type":null,"param":{}}})",
      R"({"error":"overloaded","type":["error"],"message":null})",
      R"({"error":{"code":"503","status":7,"details":{"0":{"retryDelay":5}}}})",
      R"({"message":{"text":1},"__type":["x"],"Message":null})",
      R"([{"error":{"code":503,"status":"UNAVAILABLE","details":[{"@type":7,"retryDelay":[]}]}}])",
      R"({"error":{"details":[null,{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":7}]}})"};
  for (const auto& [provider, model, suffix] :
       std::vector<std::tuple<std::string, std::string, std::string>>{{"openai", "a", ""},
                                                                      {"anthropic", "claude-x", ""},
                                                                      {"gemini", "gemini-x", "/v1beta"},
                                                                      {"cohere", "command-x", ""},
                                                                      {"bedrock", "b-model", ""}}) {
    for (const auto& body : bodies) {
      fp.reset();
      fp.set_default(model, Fault::http_status(503, {{"Retry-After", "soon"}}, body));
      auto primary = provider == "openai" ? deployment("smart", model) : other(provider, model, suffix);
      if (provider == "bedrock") primary.region = "us-east-1";
      Router router(config({primary, deployment("smart", "b")}), {}, nullptr, first());
      for (bool stream : {false, true}) {
        auto o = run(router, request("smart", stream), 4s);
        ASSERT_TRUE(o.ended()) << provider << " hung on: " << body;
        ASSERT_TRUE(o.served) << provider << ": " << body << " -> " << o.text();
        EXPECT_EQ(o.served->model, "b") << provider << ": " << body;
        EXPECT_EQ(o.log[0].status, 503) << provider << ": " << body;
      }
    }
  }
}

TEST_F(HardeningTest, AStringIndexBeforeTheFirstTokenStillLetsTheStreamCommit) {
  fp.set_default(
      "a", Fault::http_status(
               200, {{"Content-Type", "text/event-stream"}},
               sse({R"(data: {"id":"x","choices":[{"index":"0","delta":{"content":"hi"}}]})",
                    R"(data: {"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})", "data: [DONE]"})));
  Router router(config({deployment("smart", "a")}), {}, nullptr, first());
  auto o = run(router, request("smart", true), 5s);
  ASSERT_TRUE(o.ended());
  EXPECT_EQ(o.last().kind, Event::Kind::end) << o.last().error.message;
  EXPECT_EQ(o.status(), 200);
}

// ---- item 7: a finished call is freed promptly -------------------------------------------------

TEST_F(HardeningTest, AFinishedStreamIsFreedBeforeItsFirstTokenTimerFires) {
  fp.set_default("a", Fault::unavailable());
  auto cfg = config({deployment("smart", "a"), deployment("smart", "b")});
  cfg.defaults.timeouts.first_token = 30s;  // the default: before the fix each call lived this long
  cfg.defaults.timeouts.deadline = 60s;
  Router router(cfg, {}, nullptr, first());
  std::vector<std::weak_ptr<RoutedCall>> done;
  for (int i = 0; i < 50; ++i) {
    auto call = router.send(request("smart", true));
    std::vector<Event> events;
    auto until = Clock::now() + 5s;
    while ((events.empty() || !events.back().terminal()) && Clock::now() < until) call->channel().wait(events, 1s);
    ASSERT_FALSE(events.empty());
    ASSERT_EQ(events.back().kind, Event::Kind::end);
    done.push_back(call);
  }
  auto until = Clock::now() + 3s;  // a tenth of the timer: generous under load, far from 30 s
  auto alive = [&] { return std::count_if(done.begin(), done.end(), [](auto& w) { return !w.expired(); }); };
  while (alive() > 0 && Clock::now() < until) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(alive(), 0) << "finished calls still held (by their timers)";
}

TEST_F(HardeningTest, ACallCancelledDuringItsBackoffIsFreedPromptly) {
  fp.set_default("a", Fault::unavailable());
  auto cfg = config({deployment("smart", "a")});
  cfg.defaults.retry.backoff_base = 20s;
  cfg.defaults.retry.backoff_cap = 20s;
  cfg.defaults.timeouts.deadline = 60s;
  Router router(cfg, {}, nullptr, std::make_shared<SequenceRandom>(std::vector<double>{0.0, 0.9}));
  auto call = router.send(request("smart"));
  auto until = Clock::now() + 3s;
  while (call->route_log().empty() || call->route_log()[0].decision.empty()) {
    ASSERT_LT(Clock::now(), until);
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(call->route_log()[0].decision, "retry");  // waiting ~18 s for its backoff
  call->cancel();
  std::weak_ptr<RoutedCall> weak = call;
  call.reset();
  until = Clock::now() + 3s;
  while (!weak.expired() && Clock::now() < until) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(weak.expired());
}

// ---- item 8: secrets an upstream echoes ---------------------------------------------------------

constexpr const char* kKey = "sk-live-0123456789abcdefSECRET";
constexpr const char* kExtra = "extra-token-9876543210";
constexpr const char* kQueryKey = "query-key-5555aaaa";

// Everything the caller and the callbacks can see of a call.
std::string visible(const Outcome& o) {
  std::string all;
  for (const auto& e : o.events) {
    all += e.data + "\n" + e.error.message + "\n";
    for (const auto& h : e.headers) all += h.name + ": " + h.value + "\n";
  }
  for (const auto& a : o.log) all += a.message + "\n" + a.reason + "\n" + a.error + "\n";
  return all;
}

struct EchoCase {
  std::string provider, header;  // the header that carries the key
  bool stream = false;           // echo as an SSE error event inside a 200 stream
};

TEST_F(HardeningTest, KeysAnUpstreamEchoesAreScrubbedEverywhere) {
  for (const EchoCase& c : std::vector<EchoCase>{{"openai", "Authorization"},
                                                 {"anthropic", "x-api-key"},
                                                 {"gemini", "x-goog-api-key"},
                                                 {"azure", "api-key"},
                                                 {"openai", "Authorization", true},
                                                 {"anthropic", "x-api-key", true}}) {
    EchoUpstream echo([&](const std::string& req) {
      const std::string text = nlohmann::json(req).dump();  // the request, headers and URL included
      if (c.stream) {
        return EchoUpstream::response(
            200, "text/event-stream",
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":" + text + "}}\n\n");
      }
      return EchoUpstream::response(503, "application/json", "{\"error\":{\"message\":" + text + "}}",
                                    std::string("x-echo: ") + kKey + "\r\n");
    });
    DeploymentConfig d = deployment("smart", "m");
    d.provider = c.provider;
    d.base_url = echo.url() + (c.provider == "openai" ? "/v1" : c.provider == "gemini" ? "/v1beta" : "");
    if (c.provider == "azure") d.api_version = "2024-06-01";
    d.api_keys = {Secret(kKey)};
    auto cfg = config({d});
    cfg.defaults.retry.max_attempts = 1;
    Router router(cfg, {}, nullptr, first());
    RouteRequest r = request("smart", c.stream);
    r.call.headers.push_back({"X-Custom-Auth", kExtra});
    r.call.query.push_back({"key", kQueryKey});
    auto o = run(router, r, 5s);
    ASSERT_TRUE(o.ended()) << c.provider;
    const std::string seen = visible(o);
    EXPECT_NE(seen.find("***"), std::string::npos) << c.provider << ": the echo never arrived?\n" << seen;
    EXPECT_EQ(seen.find("0123456789abcdef"), std::string::npos) << c.provider << " (" << c.header << "):\n" << seen;
    EXPECT_EQ(seen.find(kExtra), std::string::npos) << c.provider << ":\n" << seen;
    EXPECT_EQ(seen.find(kQueryKey), std::string::npos) << c.provider << ":\n" << seen;
  }
}

TEST_F(HardeningTest, ShortKeysAreMaskedAsTokensAndTheErrorBodyStaysJson) {
  // A local server's placeholder key ("null", "EMPTY") is masked where it stands as a token (a
  // key is never printed, whatever its length, secrets.hpp); a JSON body stays valid JSON.
  struct Case {
    const char* key;
    const char* message;
    nlohmann::json code;
  };
  for (const Case& c : {Case{"null", "EMPTY is down", "***"}, Case{"EMPTY", "*** is down", nullptr}}) {
    EchoUpstream echo([](const std::string&) {
      return EchoUpstream::response(503, "application/json", R"({"error":{"message":"EMPTY is down","code":null}})");
    });
    DeploymentConfig d = deployment("smart", "m");
    d.base_url = echo.url() + "/v1";
    d.api_keys = {Secret(c.key)};
    auto cfg = config({d});
    cfg.defaults.retry.max_attempts = 1;
    Router router(cfg, {}, nullptr, first());
    auto o = run(router, request("smart"), 5s);
    ASSERT_EQ(o.status(), 503) << c.key;
    auto body = nlohmann::json::parse(o.text(), nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << c.key << ": " << o.text();
    EXPECT_EQ(body["error"]["message"], c.message) << c.key;
    EXPECT_EQ(body["error"]["code"], c.code) << c.key;
  }
}

// ---- item 9 -------------------------------------------------------------------------------------

TEST_F(HardeningTest, NoLimitDurationsSaturateInsteadOfOverflowing) {
  fp.set_default("a", Fault::unavailable());
  Router router(config({deployment("smart", "a"), deployment("smart", "b")}), {}, nullptr, first());
  for (bool stream : {false, true}) {
    RouteRequest r = request("smart", stream);
    r.overrides.deadline = Millis::max();  // what timeout=inf becomes
    r.overrides.first_token = Millis::max();
    r.overrides.idle = Millis{std::numeric_limits<Millis::rep>::max() / 2};
    auto o = run(router, r, 5s);
    ASSERT_TRUE(o.ended());
    ASSERT_EQ(o.last().kind, Event::Kind::end) << o.last().error.message;  // before: a deadline in the past
    EXPECT_EQ(o.served->model, "b");
  }
}

TEST_F(HardeningTest, IoThreadsAreBounded) {
  for (unsigned n : {0u, 65u, 100000u}) {
    transport::ClientOptions options;
    options.io_threads = n;
    try {
      Router router(config({deployment("smart", "a")}), options);
      ADD_FAILURE() << n << " io threads accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.path(), "io_threads");
      EXPECT_NE(std::string(e.what()).find("between 1 and 64"), std::string::npos) << e.what();
    }
  }
  transport::ClientOptions two;
  two.io_threads = 2;
  Router router(config({deployment("smart", "a")}), two);
  EXPECT_EQ(run(router, "smart").status(), 200);
}

TEST_F(HardeningTest, AServerErrorWhoseBodyExceedsTheCapStillFailsOver) {
  fp.set_default("a", Fault::http_status(503, {}, "{\"error\":{\"message\":\"" + std::string(8192, 'x') + "\"}}"));
  transport::ClientOptions options;
  options.max_body_bytes = 2048;  // b's answer fits; a's error does not
  Router router(config({deployment("smart", "a"), deployment("smart", "b")}), options, nullptr, first());
  for (bool stream : {false, true}) {
    auto o = run(router, "smart", stream);
    ASSERT_EQ(o.status(), 200) << o.text();
    ASSERT_TRUE(o.served);
    EXPECT_EQ(o.served->model, "b");
    EXPECT_EQ(o.log[0].status, 503);
    EXPECT_EQ(o.log[0].decision, "failover");
  }
}

TEST_F(HardeningTest, AStreamTheCallerClosesIsReportedAsCancelledNeverAsATimeout) {
  fp.set_default("a", Fault::slow_first_token(3s));
  auto cfg = config({deployment("smart", "a"), deployment("smart", "b")});
  cfg.defaults.timeouts.first_token = 300ms;
  Router router(cfg, {}, nullptr, first());
  auto call = router.send(request("smart", true));
  std::this_thread::sleep_for(100ms);
  call->cancel();
  std::vector<Event> events;
  ASSERT_TRUE(call->channel().wait(events, 2s));
  std::this_thread::sleep_for(500ms);  // past the first-token limit
  call->channel().poll(events);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().error.code, Errc::cancelled);
  auto log = call->route_log();
  ASSERT_EQ(log.size(), 1u);  // no failover after the caller left
  EXPECT_EQ(log[0].reason, "cancelled");
  EXPECT_EQ(log[0].decision, "cancelled");
  EXPECT_EQ(log[0].error_class, "ignored");
  auto snap = router.snapshot();
  for (const auto& s : snap) EXPECT_EQ(s.in_flight, 0) << s.target;
}

TEST_F(HardeningTest, AStreamOpenWhenTheRouterClosesIsCancelledNeverATimeout) {
  // close() runs pending timers early (HttpClient::shutdown): the first-token timer must not
  // take that for its limit, blame the target and fail over.
  fp.set_default("a", Fault::slow_first_token(3s));
  auto cfg = config({deployment("smart", "a"), deployment("smart", "b")});
  cfg.defaults.timeouts.first_token = 2s;
  Router router(cfg, {}, nullptr, first());
  auto call = router.send(request("smart", true));
  std::this_thread::sleep_for(100ms);
  router.close();
  std::vector<Event> events;
  auto until = Clock::now() + 3s;
  while ((events.empty() || !events.back().terminal()) && Clock::now() < until) call->channel().wait(events, 1s);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().error.code, Errc::cancelled) << events.back().error.message;
  for (const auto& a : call->route_log()) {
    EXPECT_NE(a.reason, "first_token_timeout") << a.target;
    EXPECT_NE(a.error_class, "retryable") << a.target << ": " << a.reason;
  }
}

}  // namespace
}  // namespace llmfailover
