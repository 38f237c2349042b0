// fake_provider_test.cpp — FakeProvider driven by a tiny raw Beast client (no HttpClient), one
// test per behaviour and per fault.
#include "llmfailover/testing/fake_provider.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "testing/raw_client.hpp"

namespace llmfailover::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string chat_body(const std::string& model, bool stream = false, bool usage = false) {
  json j = {{"model", model}, {"messages", {{{"role", "user"}, {"content", "Say hello to me"}}}}};
  if (stream) j["stream"] = true;
  if (usage) j["stream_options"] = {{"include_usage", true}};
  return j.dump();
}

// The data payloads of an SSE body, in order.
std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    auto end = body.find("\n\n", pos);
    out.push_back(body.substr(pos + 6, end == std::string::npos ? std::string::npos : end - pos - 6));
    if (end == std::string::npos) break;
    pos = end;
  }
  return out;
}

struct Exchange {
  beast::error_code ec;
  http::response<http::string_body> res;
};

Exchange post(FakeProvider& fp, const std::string& target, const std::string& body, Millis timeout = 2s) {
  RawClient c(fp.port());
  c.send(http::verb::post, target, body);
  Exchange x;
  x.ec = c.read(x.res, timeout);
  return x;
}

TEST(FakeProvider, HealthyChatCompletion) {
  FakeProvider fp;
  EXPECT_EQ(fp.base_url(), "http://127.0.0.1:" + std::to_string(fp.port()) + "/v1");
  auto x = post(fp, "/v1/chat/completions", chat_body("gpt-4o"));
  ASSERT_FALSE(x.ec) << x.ec.message();
  EXPECT_EQ(x.res.result_int(), 200);
  EXPECT_EQ(x.res[http::field::content_type], "application/json");
  EXPECT_FALSE(x.res["x-request-id"].empty());
  auto j = json::parse(x.res.body());
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "gpt-4o");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Hello from gpt-4o.");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_TRUE(j["choices"][0]["message"]["refusal"].is_null());
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(j["usage"]["prompt_tokens"], 4);
  EXPECT_EQ(j["usage"]["completion_tokens"], 3);
  EXPECT_EQ(j["usage"]["total_tokens"], 7);
}

TEST(FakeProvider, KeepAliveServesManyRequestsOnOneConnection) {
  FakeProvider fp;
  RawClient c(fp.port());
  for (int i = 0; i < 5; ++i) {
    c.send(http::verb::post, "/chat/completions", chat_body("m"));  // no /v1 prefix
    http::response<http::string_body> res;
    ASSERT_FALSE(c.read(res)) << i;
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_TRUE(res.keep_alive());
  }
  auto log = fp.attempts("m");
  ASSERT_EQ(log.size(), 5u);
  EXPECT_EQ(log[4].attempt, 5);
}

TEST(FakeProvider, ExpectContinue) {
  FakeProvider fp;
  RawClient c(fp.port());
  c.send(http::verb::post, "/v1/chat/completions", chat_body("m"), true, {{"Expect", "100-continue"}});
  http::response<http::string_body> res;
  ASSERT_FALSE(c.read(res));
  EXPECT_EQ(res.result_int(), 100);
  ASSERT_FALSE(c.read(res));
  EXPECT_EQ(res.result_int(), 200);
}

TEST(FakeProvider, ReplyConfigurationAndN) {
  FakeProvider fp({.reply_words = 6});
  fp.set_reply("custom", "one two");
  auto a = json::parse(post(fp, "/v1/chat/completions", chat_body("gpt-4o")).res.body());
  EXPECT_EQ(a["choices"][0]["message"]["content"], "Hello from gpt-4o. This is a");
  json body = json::parse(chat_body("custom"));
  body["n"] = 2;
  auto b = json::parse(post(fp, "/v1/chat/completions", body.dump()).res.body());
  ASSERT_EQ(b["choices"].size(), 2u);
  EXPECT_EQ(b["choices"][1]["index"], 1);
  EXPECT_EQ(b["choices"][1]["message"]["content"], "one two");
  fp.script("custom", {Fault{.content = "scripted"}});
  fp.reset();
  fp.script("custom", {Fault{.content = "scripted"}});
  auto c = json::parse(post(fp, "/v1/chat/completions", chat_body("custom")).res.body());
  EXPECT_EQ(c["choices"][0]["message"]["content"], "scripted");
}

TEST(FakeProvider, StreamWithDone) {
  FakeProvider fp;
  auto x = post(fp, "/v1/chat/completions", chat_body("gpt-4o", true));
  ASSERT_FALSE(x.ec) << x.ec.message();
  EXPECT_EQ(x.res[http::field::transfer_encoding], "chunked");
  EXPECT_EQ(x.res[http::field::content_type].substr(0, 17), "text/event-stream");
  auto data = sse_data(x.res.body());
  ASSERT_EQ(data.size(), 4u);  // 3 words + [DONE]
  EXPECT_EQ(data.back(), "[DONE]");
  std::string text;
  for (std::size_t i = 0; i + 1 < data.size(); ++i) {
    auto j = json::parse(data[i]);
    EXPECT_EQ(j["object"], "chat.completion.chunk");
    EXPECT_FALSE(j.contains("usage"));
    text += j["choices"][0]["delta"]["content"].get<std::string>();
    EXPECT_EQ(j["choices"][0]["finish_reason"].is_null(), i + 2 < data.size());
  }
  EXPECT_EQ(json::parse(data[0])["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(text, "Hello from gpt-4o.");
}

TEST(FakeProvider, StreamIncludeUsage) {
  FakeProvider fp;
  auto data = sse_data(post(fp, "/v1/chat/completions", chat_body("gpt-4o", true, true)).res.body());
  ASSERT_EQ(data.size(), 5u);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(json::parse(data[i])["usage"].is_null());
  auto last = json::parse(data[3]);
  EXPECT_TRUE(last["choices"].empty());
  EXPECT_EQ(last["usage"]["completion_tokens"], 3);
  EXPECT_EQ(data[4], "[DONE]");
}

TEST(FakeProvider, EmbeddingsModelsAzureAndBadJson) {
  FakeProvider fp;
  auto e = json::parse(post(fp, "/v1/embeddings", R"({"model":"e","input":["a","b"],"dimensions":4})").res.body());
  ASSERT_EQ(e["data"].size(), 2u);
  EXPECT_EQ(e["data"][1]["embedding"].size(), 4u);
  auto b64 =
      json::parse(post(fp, "/v1/embeddings", R"({"model":"e","input":"a","encoding_format":"base64"})").res.body());
  EXPECT_EQ(b64["data"][0]["embedding"].get<std::string>().size(), 44u);  // 8 floats = 32 bytes

  RawClient c(fp.port());
  c.send(http::verb::get, "/v1/models");
  http::response<http::string_body> res;
  ASSERT_FALSE(c.read(res));
  auto models = json::parse(res.body());
  EXPECT_EQ(models["object"], "list");
  EXPECT_EQ(models["data"][0]["object"], "model");

  auto az = post(fp, "/openai/deployments/dep1/chat/completions?api-version=2024-06-01", R"({"messages":[]})");
  EXPECT_EQ(json::parse(az.res.body())["model"], "dep1");

  auto bad = post(fp, "/v1/chat/completions", "{not json");
  EXPECT_EQ(bad.res.result_int(), 400);
  auto err = json::parse(bad.res.body())["error"];
  EXPECT_EQ(err["type"], "invalid_request_error");
  EXPECT_TRUE(err["param"].is_null());
  EXPECT_TRUE(err["code"].is_null());
  EXPECT_EQ(post(fp, "/v2/nothing", "{}").res.result_int(), 404);
}

TEST(FakeProvider, RateLimitedWithRetryAfter) {
  FakeProvider fp;
  fp.script("gpt-4o", {Fault::rate_limited(2.0, Millis{1500})});
  auto x = post(fp, "/v1/chat/completions", chat_body("gpt-4o"));
  EXPECT_EQ(x.res.result_int(), 429);
  EXPECT_EQ(x.res["Retry-After"], "2");
  EXPECT_EQ(x.res["retry-after-ms"], "1500");
  auto err = json::parse(x.res.body())["error"];
  EXPECT_EQ(err["code"], "rate_limit_exceeded");
  EXPECT_EQ(post(fp, "/v1/chat/completions", chat_body("gpt-4o")).res.result_int(), 200);  // script ran out
  auto log = fp.attempts("gpt-4o");
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].outcome, "status:429");
  EXPECT_EQ(log[0].status, 429);
  EXPECT_EQ(log[1].outcome, "ok");
}

// A script counts from the attempt after it was set: a second one, after the first ran out, takes
// effect (it used to be indexed by the model's whole attempt count, so it was skipped).
TEST(FakeProvider, ASecondScriptCountsFromTheNextAttempt) {
  FakeProvider fp;
  auto status = [&] { return post(fp, "/v1/chat/completions", chat_body("m")).res.result_int(); };
  fp.script("m", {Fault::http_status(503)});
  EXPECT_EQ(status(), 503);
  EXPECT_EQ(status(), 200);  // ran out
  fp.script("m", {Fault::http_status(429), Fault::http_status(500)});
  EXPECT_EQ(status(), 429);
  EXPECT_EQ(status(), 500);
  fp.script("*", {Fault::http_status(504)});  // the wildcard counts each model from its next attempt
  EXPECT_EQ(status(), 504);
  EXPECT_EQ(status(), 200);
  std::vector<int> attempts;
  for (const auto& r : fp.attempts("m")) attempts.push_back(r.attempt);
  EXPECT_EQ(attempts, (std::vector<int>{1, 2, 3, 4, 5, 6}));  // the log keeps counting
}

TEST(FakeProvider, StatusHelpers) {
  FakeProvider fp;
  fp.script("m", {Fault::overloaded(), Fault::unauthorized(), Fault::context_length_exceeded(), Fault::content_policy(),
                  Fault::http_status(200, {}, "not json at all")});
  EXPECT_EQ(post(fp, "/v1/chat/completions", chat_body("m")).res.result_int(), 529);
  EXPECT_EQ(post(fp, "/v1/chat/completions", chat_body("m")).res.result_int(), 401);
  auto ctx = post(fp, "/v1/chat/completions", chat_body("m"));
  EXPECT_EQ(json::parse(ctx.res.body())["error"]["code"], "context_length_exceeded");
  auto pol = post(fp, "/v1/chat/completions", chat_body("m"));
  EXPECT_EQ(json::parse(pol.res.body())["error"]["code"], "content_policy_violation");
  EXPECT_EQ(post(fp, "/v1/chat/completions", chat_body("m")).res.body(), "not json at all");
}

TEST(FakeProvider, ResetIsAConnectionReset) {
  FakeProvider fp;
  fp.set_default("m", Fault::reset_connection());
  auto x = post(fp, "/v1/chat/completions", chat_body("m"));
  EXPECT_EQ(x.ec, asio::error::connection_reset) << x.ec.message();
  EXPECT_EQ(fp.attempts()[0].outcome, "reset");
}

TEST(FakeProvider, CloseIsACleanEof) {
  FakeProvider fp;
  fp.set_default("m", Fault::close_connection());
  auto x = post(fp, "/v1/chat/completions", chat_body("m"));
  EXPECT_EQ(x.ec, http::error::end_of_stream) << x.ec.message();
}

TEST(FakeProvider, NoResponseUntilClientTimesOut) {
  FakeProvider fp;
  fp.script("m", {Fault::no_response()});
  auto start = Clock::now();
  auto x = post(fp, "/v1/chat/completions", chat_body("m"), 150ms);
  EXPECT_EQ(x.ec, beast::error::timeout) << x.ec.message();
  EXPECT_GE(Clock::now() - start, 140ms);
  EXPECT_EQ(fp.attempts()[0].outcome, "no_response");
}

TEST(FakeProvider, SlowHeaders) {
  FakeProvider fp;
  fp.script("m", {Fault::slow_headers(300ms), Fault::slow_headers(50ms)});
  EXPECT_EQ(post(fp, "/v1/chat/completions", chat_body("m"), 100ms).ec, beast::error::timeout);
  EXPECT_FALSE(post(fp, "/v1/chat/completions", chat_body("m"), 1s).ec);
}

TEST(FakeProvider, CutAfterLeavesATruncatedChunkedBody) {
  FakeProvider fp;
  fp.script("m", {Fault::cut(2)});
  RawClient c(fp.port());
  c.send(http::verb::post, "/v1/chat/completions", chat_body("m", true));
  std::string raw;
  EXPECT_EQ(c.read_raw(raw), asio::error::eof);
  EXPECT_NE(raw.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_EQ(sse_data(raw).size(), 2u);
  EXPECT_EQ(raw.find("[DONE]"), std::string::npos);
  EXPECT_EQ(raw.find("\r\n0\r\n\r\n"), std::string::npos);  // no last chunk
  EXPECT_EQ(fp.attempts()[0].outcome, "cut:2");
  // The parser sees the truncation too.
  fp.script("n", {Fault::cut(1)});
  EXPECT_EQ(post(fp, "/v1/chat/completions", chat_body("n", true)).ec, http::error::partial_message);
}

TEST(FakeProvider, UnchunkedStreamEndsAtClose) {
  FakeProvider fp;
  Fault f;
  f.chunked = false;
  fp.set_default("m", f);
  auto x = post(fp, "/v1/chat/completions", chat_body("m", true));
  ASSERT_FALSE(x.ec) << x.ec.message();
  EXPECT_FALSE(x.res.chunked());
  EXPECT_EQ(sse_data(x.res.body()).back(), "[DONE]");
}

TEST(FakeProvider, StallAfterKeepsTheConnectionOpen) {
  FakeProvider fp;
  fp.script("m", {Fault::stall(1)});
  RawClient c(fp.port());
  c.send(http::verb::post, "/v1/chat/completions", chat_body("m", true));
  std::string raw;
  EXPECT_EQ(c.read_raw(raw, 200ms), beast::error::timeout);
  EXPECT_EQ(sse_data(raw).size(), 1u);
  EXPECT_EQ(fp.attempts()[0].outcome, "stall:1");
}

TEST(FakeProvider, MalformedErrorEventAndNoDone) {
  FakeProvider fp;
  fp.script("m", {Fault::malformed(1), Fault::error_event(2), Fault::no_done()});
  auto a = sse_data(post(fp, "/v1/chat/completions", chat_body("m", true)).res.body());
  ASSERT_EQ(a.size(), 4u);
  EXPECT_EQ(a[1], "{not json");
  EXPECT_EQ(a[3], "[DONE]");
  auto b = post(fp, "/v1/chat/completions", chat_body("m", true));
  ASSERT_FALSE(b.ec) << b.ec.message();  // the 200 stream ends cleanly after the error event
  auto bd = sse_data(b.res.body());
  ASSERT_EQ(bd.size(), 3u);
  EXPECT_EQ(json::parse(bd[2])["error"]["type"], "server_error");
  auto c = sse_data(post(fp, "/v1/chat/completions", chat_body("m", true)).res.body());
  ASSERT_EQ(c.size(), 3u);
  EXPECT_NE(c.back(), "[DONE]");
  auto log = fp.attempts();
  EXPECT_EQ(log[0].outcome, "malformed:1");
  EXPECT_EQ(log[1].outcome, "error_event:2");
  EXPECT_EQ(log[2].outcome, "no_done");
}

TEST(FakeProvider, FirstTokenAndChunkDelays) {
  FakeProvider fp;
  Fault f = Fault::slow_first_token(100ms);
  f.chunk_delay = 30ms;
  fp.script("m", {f});
  auto start = Clock::now();
  auto x = post(fp, "/v1/chat/completions", chat_body("m", true));
  ASSERT_FALSE(x.ec);
  EXPECT_GE(Clock::now() - start, 155ms);
}

TEST(FakeProvider, ScriptPerModelAndAttemptWithWildcardDefault) {
  FakeProvider fp;
  fp.script("a", {Fault::server_error(), Fault::unavailable()});
  fp.set_default("*", Fault::server_error(502));
  EXPECT_EQ(post(fp, "/v1/chat/completions", chat_body("a")).res.result_int(), 500);
  EXPECT_EQ(post(fp, "/v1/chat/completions", chat_body("b")).res.result_int(), 502);
  EXPECT_EQ(post(fp, "/v1/chat/completions", chat_body("a")).res.result_int(), 503);
  EXPECT_EQ(post(fp, "/v1/chat/completions", chat_body("a")).res.result_int(), 502);
  fp.set_default("a", Fault::ok());
  EXPECT_EQ(post(fp, "/v1/chat/completions", chat_body("a")).res.result_int(), 200);
  auto a = fp.attempts("a");
  ASSERT_EQ(a.size(), 4u);
  EXPECT_EQ(a[3].attempt, 4);
  EXPECT_EQ(fp.attempts("b")[0].attempt, 1);
  fp.reset();
  EXPECT_TRUE(fp.attempts().empty());
  EXPECT_EQ(post(fp, "/v1/chat/completions", chat_body("a")).res.result_int(), 200);
  EXPECT_EQ(fp.attempts("a")[0].attempt, 1);
}

TEST(FakeProvider, OutageWindowOnAnInjectedClock) {
  std::atomic<Clock::rep> ticks{0};
  FakeProvider fp({.clock = [&] { return Clock::time_point(Clock::duration(ticks.load())); }});
  fp.outage("m", 10s);
  EXPECT_EQ(post(fp, "/v1/chat/completions", chat_body("m")).res.result_int(), 503);
  EXPECT_EQ(post(fp, "/v1/chat/completions", chat_body("other")).res.result_int(), 200);
  ticks += std::chrono::duration_cast<Clock::duration>(9s).count();
  EXPECT_EQ(post(fp, "/v1/chat/completions", chat_body("m")).res.result_int(), 503);
  ticks += std::chrono::duration_cast<Clock::duration>(1s).count();
  EXPECT_EQ(post(fp, "/v1/chat/completions", chat_body("m")).res.result_int(), 200);
  auto log = fp.attempts("m");
  ASSERT_EQ(log.size(), 3u);
  EXPECT_DOUBLE_EQ(log[1].time, 9.0);
}

TEST(FakeProvider, AttemptRecordsTheRequest) {
  FakeProvider fp;
  const std::string body = chat_body("gpt-4o", true);
  auto x = post(fp, "/v1/chat/completions?x=1", body);
  auto log = fp.attempts();
  ASSERT_EQ(log.size(), 1u);
  const auto& r = log[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/v1/chat/completions?x=1");
  EXPECT_EQ(r.body, body);
  EXPECT_TRUE(r.stream);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.request_id, x.res["x-request-id"]);
  ASSERT_NE(find_if(r.headers.begin(), r.headers.end(), [](const Header& h) { return h.name == "x-test"; }),
            r.headers.end());
  EXPECT_GE(r.time, 0.0);
}

TEST(FakeProvider, StopIsPromptWithHangingConnectionsAndGarbage) {
  auto fp = std::make_unique<FakeProvider>(FakeProvider::Options{.threads = 2});
  fp->set_default("m", Fault::no_response());
  fp->script("s", {Fault::stall(0)});
  RawClient a(fp->port()), b(fp->port()), g(fp->port());
  a.send(http::verb::post, "/v1/chat/completions", chat_body("m"));
  b.send(http::verb::post, "/v1/chat/completions", chat_body("s", true));
  asio::io_context io;
  asio::ip::tcp::socket raw(io);
  raw.connect({asio::ip::make_address("127.0.0.1"), fp->port()});
  asio::write(raw, asio::buffer(std::string("\x01\x02garbage\r\n\r\nGET / HTTP/9\r\n\r\n")));
  std::string ignored;
  EXPECT_EQ(g.read_raw(ignored, 100ms), beast::error::timeout);  // an idle connection too
  while (fp->attempts().size() < 2) std::this_thread::sleep_for(5ms);
  auto start = Clock::now();
  fp->stop();
  EXPECT_LT(Clock::now() - start, 500ms);
  std::string rest;
  EXPECT_EQ(a.read_raw(rest, 1s), asio::error::eof);
  fp.reset();
}

TEST(FaultValue, EqualityAndPrintableForm) {
  EXPECT_EQ(Fault::ok(), Fault{});
  EXPECT_TRUE(Fault{}.healthy());
  EXPECT_FALSE(Fault::no_done().healthy());
  EXPECT_EQ(to_string(Fault::rate_limited(1.0)),
            "Fault{status=429, headers=[Retry-After: 1], error_code=rate_limit_exceeded}");
  EXPECT_EQ(to_string(Fault::cut(3)), "Fault{cut_after=3}");
}

}  // namespace
}  // namespace llmfailover::testing
