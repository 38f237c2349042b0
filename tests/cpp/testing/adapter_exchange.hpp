// adapter_exchange.hpp — test helper: one exchange between a provider adapter and the fake.
// exchange() sends what the adapter builds for an OpenAI request to the FakeProvider (RawClient,
// no HttpClient) and returns the raw answer; translate_stream() puts a streamed body through the
// adapter's StreamTranslator (SSE, or raw bytes for Bedrock's event stream) and collects the
// OpenAI chunks, the text and the tool calls they add up to. Used by
// tests/cpp/providers/dialects_test.cpp and tests/cpp/testing/fake_tool_call_test.cpp.
// Thread safety: none; one per test thread.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llmfailover/providers/provider.hpp"
#include "llmfailover/testing/fake_provider.hpp"
#include "llmfailover/transport/sse.hpp"
#include "testing/raw_client.hpp"

namespace llmfailover::testing {

struct AdapterResult {
  int status = 0;
  Headers headers;
  std::string body;  // chunked framing removed; Bedrock's stream is the event-stream bytes
};

// Sends what `provider` builds for `request` to the fake; returns the raw answer. `whole`: the
// answer must arrive complete (false for a cut stream: what arrived before the close).
inline AdapterResult exchange(FakeProvider& fp, const providers::Provider& provider, const providers::Endpoint& ep,
                              const nlohmann::json& request, bool stream, bool whole = true) {
  const providers::TranslatedRequest t = provider.chat_request(ep, request, stream, Timeouts{});
  const std::string root = fp.root_url();
  EXPECT_TRUE(t.http.url.starts_with(root)) << t.http.url;
  RawClient c(fp.port());
  c.send(http::verb::post, t.http.url.substr(root.size()), t.http.body, true, t.http.headers);
  http::response<http::string_body> res;
  const beast::error_code ec = c.read(res);
  EXPECT_EQ(!ec, whole) << ec.message();
  AdapterResult r{static_cast<int>(res.result_int()), {}, res.body()};
  for (const auto& f : res) r.headers.push_back({std::string(f.name_string()), std::string(f.value())});
  return r;
}

// A tool call as the OpenAI deltas of one index add up to.
struct StreamedCall {
  std::string id, type, name, arguments;
  int argument_deltas = 0;  // deltas that carried a non-empty piece of `arguments`
};

struct Streamed {
  std::vector<nlohmann::json> chunks;  // [DONE] excluded
  bool done = false;
  std::optional<providers::ErrorVerdict> error;
  std::string translation_error;  // a TranslationError the translator threw ("" = none)
  int unparsed = 0;               // chunks passed on that are not JSON (a passthrough adapter's)

  std::string content() const {
    std::string out;
    for (const auto& c : chunks) {
      if (!c["choices"].empty() && c["choices"][0]["delta"].contains("content") &&
          c["choices"][0]["delta"]["content"].is_string()) {
        out += c["choices"][0]["delta"]["content"].get<std::string>();
      }
    }
    return out;
  }
  // The last non-null finish_reason of choice 0 ("" = none).
  std::string finish_reason() const {
    std::string out;
    for (const auto& c : chunks) {
      if (!c["choices"].empty() && c["choices"][0]["finish_reason"].is_string()) out = c["choices"][0]["finish_reason"];
    }
    return out;
  }
  // Choice 0's tool calls, by delta index.
  std::map<int, StreamedCall> tool_calls() const {
    std::map<int, StreamedCall> out;
    for (const auto& c : chunks) {
      if (c["choices"].empty() || !c["choices"][0]["delta"].contains("tool_calls")) continue;
      for (const auto& d : c["choices"][0]["delta"]["tool_calls"]) {
        StreamedCall& call = out[d.value("index", -1)];
        if (d.contains("id")) call.id += d["id"].get<std::string>();
        if (d.contains("type")) call.type = d["type"];
        const nlohmann::json fn = d.value("function", nlohmann::json::object());
        if (fn.contains("name")) call.name += fn["name"].get<std::string>();
        if (fn.contains("arguments") && !fn["arguments"].get<std::string>().empty()) {
          call.arguments += fn["arguments"].get<std::string>();
          ++call.argument_deltas;
        }
      }
    }
    return out;
  }
};

// Puts `body` through the adapter's stream translator, as the router would (stops at an error).
inline Streamed translate_stream(const providers::Provider& provider, const providers::Endpoint& ep,
                                 const nlohmann::json& request, const std::string& body) {
  auto tr = provider.stream_translator(ep, request);
  Streamed s;
  std::vector<std::string> out;
  try {
    if (tr->wants_bytes()) {
      for (std::size_t at = 0; at < body.size() && !s.error; at += 7) {  // in pieces, as from a socket
        tr->on_bytes(std::string_view(body).substr(at, 7), out, s.error);
      }
    } else {
      transport::SseParser parser([&](transport::SseEvent&& e) {
        if (!s.error) tr->on_sse(e.event, e.data, out, s.error);
      });
      parser.feed(body);
      parser.finish();
    }
  } catch (const providers::TranslationError& e) {
    s.translation_error = e.what();
  }
  for (const auto& c : out) {
    if (c == "[DONE]") {
      s.done = true;
      continue;
    }
    auto j = nlohmann::json::parse(c, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) ++s.unparsed;
    else s.chunks.push_back(std::move(j));
  }
  return s;
}

}  // namespace llmfailover::testing
