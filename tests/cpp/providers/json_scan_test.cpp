// json_scan_test.cpp — the request / answer scans of the hot path (json_scan.hpp) against
// nlohmann's parse of the same text: a scan either gives the parse's facts or says "unsure".
// Hostile inputs: escaped quotes, nested "model" keys, unicode, white space, duplicate keys,
// invalid JSON of every kind, deep nesting; plus seeded byte mutations of realistic bodies.
#include "llmfailover/json_scan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "llmfailover/json.hpp"
#include "llmfailover/providers/provider.hpp"

namespace llmfailover {
namespace {

using nlohmann::json;

// routed_call.cpp's text_chars, the reference for RequestScan::text_chars.
std::size_t text_chars(const json& v) {
  if (v.is_string()) return v.get_ref<const std::string&>().size();
  std::size_t n = 0;
  if (v.is_array()) {
    for (const auto& x : v) n += text_chars(x);
  } else if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it)
      if (it.key() != "role" && it.key() != "type") n += text_chars(it.value());
  }
  return n;
}

std::optional<std::int64_t> int_member(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

// Checks a scan of `text` against the parse; returns whether the scan was sure.
bool agrees_request(const std::string& text) {
  const auto scan = scan_request(text, max_json_depth());
  const json doc = parse_json(text);
  if (!scan) return false;
  EXPECT_FALSE(doc.is_discarded()) << text;
  EXPECT_TRUE(doc.is_object()) << text;
  if (!doc.is_object()) return true;
  auto model = doc.find("model");
  EXPECT_EQ(scan->model.found(), model != doc.end()) << text;
  if (model != doc.end()) {
    EXPECT_EQ(parse_json(text.substr(scan->model.begin, scan->model.end - scan->model.begin)), *model) << text;
    if (scan->model_text) EXPECT_EQ(std::string(*scan->model_text), model->get<std::string>()) << text;
  }
  auto stream = doc.find("stream");
  const auto flag = stream == doc.end() ? RequestScan::Flag::absent
                    : *stream == true   ? RequestScan::Flag::is_true
                    : *stream == false  ? RequestScan::Flag::is_false
                                        : RequestScan::Flag::other;
  EXPECT_EQ(scan->stream, flag) << text;
  EXPECT_EQ(scan->include_usage, providers::include_usage(doc)) << text;
  std::size_t chars = 0;
  for (const char* k : {"messages", "input"})
    if (auto it = doc.find(k); it != doc.end()) chars += text_chars(*it);
  EXPECT_EQ(scan->text_chars, chars) << text;
  EXPECT_EQ(scan->max_tokens, int_member(doc, "max_tokens")) << text;
  EXPECT_EQ(scan->max_completion_tokens, int_member(doc, "max_completion_tokens")) << text;
  EXPECT_EQ(scan->max_output_tokens, int_member(doc, "max_output_tokens")) << text;
  // The model replaced: the same value with only "model" changed.
  json want = doc;
  want["model"] = "dé\"ploy";
  EXPECT_EQ(parse_json(with_model(text, *scan, "dé\"ploy")), want) << text;
  return true;
}

bool agrees_answer(const std::string& text) {
  const auto scan = scan_answer(text, max_json_depth());
  const json doc = parse_json(text);
  if (!scan) return false;
  EXPECT_TRUE(doc.is_object()) << text;
  if (!doc.is_object()) return true;
  auto choices = doc.find("choices");
  EXPECT_EQ(scan->choices_array, choices != doc.end() && choices->is_array()) << text;
  std::vector<std::string> reasons;
  if (choices != doc.end() && choices->is_array())
    for (const auto& c : *choices)
      if (c.is_object())
        if (auto fr = c.find("finish_reason"); fr != c.end() && fr->is_string()) reasons.push_back(*fr);
  EXPECT_EQ(std::vector<std::string>(scan->finish_reasons.begin(), scan->finish_reasons.end()), reasons) << text;
  auto usage = doc.find("usage");
  EXPECT_EQ(scan->usage.found(), usage != doc.end()) << text;
  if (usage != doc.end())
    EXPECT_EQ(parse_json(text.substr(scan->usage.begin, scan->usage.end - scan->usage.begin)), *usage) << text;
  EXPECT_EQ(scan->error, doc.contains("error")) << text;
  auto object = doc.find("object");
  EXPECT_EQ(scan->object_empty, object != doc.end() && *object == "") << text;
  return true;
}

const char* kChat =
    R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}],"stream":false,"max_tokens":5})";

TEST(JsonScan, ReadsTheUsualRequest) {
  const auto scan = scan_request(kChat, 256);
  ASSERT_TRUE(scan);
  EXPECT_EQ(std::string(*scan->model_text), "gpt-4o-mini");
  EXPECT_EQ(scan->stream, RequestScan::Flag::is_false);
  EXPECT_EQ(scan->text_chars, 10u);
  EXPECT_EQ(scan->max_tokens, 5);
  EXPECT_TRUE(agrees_request(kChat));
  EXPECT_EQ(with_model(kChat, *scan, "m2"),
            R"({"model":"m2","messages":[{"role":"user","content":"Say hello."}],"stream":false,"max_tokens":5})");
}

TEST(JsonScan, HostileButValidRequestsAgreeWithTheParse) {
  for (std::string text : {
           R"({})",
           R"( { } )",
           R"({"messages":[]})",  // no model: inserted first
           R"({"messages":[{"role":"user","content":"a \"model\": \"x\" b"}],"model":"m"})",  // quoted inside a string
           R"({"metadata":{"model":"inner"},"model":"outer"})",                               // nested "model"
           R"({"tools":[{"function":{"parameters":{"model":{"type":"string"}}}}],"model":"m"})",
           R"({"model":"caf\u00e9 \ud83d\ude00","messages":[{"content":"\u00e9\n\t\"\\\/"}]})",           // escapes
           "{\"model\":\"caf\xc3\xa9\",\"messages\":[{\"content\":\"\xf0\x9f\x98\x80 \xe2\x82\xac\"}]}",  // raw UTF-8
           " \n\t{ \"model\" : \"m\" ,\r\n \"messages\" : [ { \"role\" : \"user\" , \"content\" : \"hi\" } ] } \n",
           R"({"model":null,"stream":true,"stream_options":{"include_usage":true}})",
           R"({"model":42,"stream":"yes","stream_options":{"include_usage":1}})",
           R"({"model":"m","stream_options":[{"include_usage":true}]})",
           R"({"model":"m","max_tokens":-7,"max_completion_tokens":1.5,"max_output_tokens":1e3})",
           R"({"model":"m","max_tokens":9223372036854775807,"messages":"just text"})",
           R"({"model":"m","max_tokens":-0,"input":["a",["bb",{"type":"ccc","text":"dddd"}],3,null,true]})",
           R"({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"xy"}],"name":"n"}]})",
           R"({"model":"m","messages":[{"content":"x","extra":{"role":"skipped","deep":["counted"]}}]})",
           R"({"model":"","messages":[[[[[["deep"]]]]]]})",
       }) {
    EXPECT_TRUE(agrees_request(text)) << "unsure of a plain valid body: " << text;
  }
}

TEST(JsonScan, UnsureWhereTheParseMightDiffer) {
  for (std::string text : {
           R"({"model":"a","model":"b"})",                                  // duplicate top-level key
           R"({"model":"a","messages":[],"messages":[{"content":"x"}]})",   // duplicate counted member
           R"({"messages":[{"content":"x","content":"yy"}],"model":"m"})",  // duplicate inside messages
           R"({"mod\u0065l":"b","model":"a"})",                             // an escaped key spelling "model"
           R"({"stream_options":{"include_usage":false,"include_usage":true}})",
           R"({"model":"m","max_tokens":9223372036854775808})",  // beyond int64
           R"({"model":"m","max_tokens":-9223372036854775809})",
       }) {
    EXPECT_FALSE(scan_request(text, 256)) << text;
  }
}

TEST(JsonScan, InvalidJsonIsNeverScanned) {
  for (std::string text : {
           "",
           " ",
           "[]",
           "\"model\"",
           "null",
           "{",
           "}",
           "{\"model\"}",
           "{\"model\":}",
           "{\"model\":\"m\",}",
           "{\"model\":\"m\"} x",
           "{\"model\":\"m\"}{}",
           "{'model':'m'}",
           "{\"model\":\"m\" \"x\":1}",
           "{\"model\":\"unterminated}",
           "{\"model\":\"a\\x\"}",
           "{\"model\":\"\\u12\"}",
           "{\"model\":\"\\ud83d\"}",           // a lone high surrogate
           "{\"model\":\"\\ude00\"}",           // a lone low surrogate
           "{\"model\":\"\\ud83d\\u0041\"}",    // a high surrogate not followed by a low one
           "{\"model\":\"tab\there\"}",         // a raw control character
           "{\"model\":\"\xc0\xaf\"}",          // an overlong encoding
           "{\"model\":\"\xed\xa0\x80\"}",      // a UTF-8 encoded surrogate
           "{\"model\":\"\xf4\x90\x80\x80\"}",  // beyond U+10FFFF
           "{\"model\":\"\xe2\x82\"}",          // a truncated sequence
           "{\"n\":01}",
           "{\"n\":-}",
           "{\"n\":1.}",
           "{\"n\":.5}",
           "{\"n\":1e}",
           "{\"n\":+1}",
           "{\"n\":tru}",
           "{\"n\":nul}",
           "{\"n\":[1,]}",
           "{\"n\":[1 2]}",
           "{\"n\":NaN}",
           "{\"a\":1,,\"b\":2}",
       }) {
    EXPECT_FALSE(scan_request(text, 256)) << text;
    EXPECT_FALSE(scan_answer(text, 256)) << text;
  }
  // A NUL inside the text.
  const std::string nul("{\"model\":\"a\0b\"}", 15);
  EXPECT_FALSE(scan_request(nul, 256));
}

TEST(JsonScan, NestingLimit) {
  auto nested = [](std::size_t levels) {
    return "{\"model\":\"m\",\"x\":" + std::string(levels - 1, '[') + std::string(levels - 1, ']') + "}";
  };
  EXPECT_TRUE(scan_request(nested(256), 256));  // the object and 255 arrays: 256 levels
  EXPECT_FALSE(scan_request(nested(257), 256));
  EXPECT_FALSE(scan_request(nested(300'000), 10000));  // never deeper than its own bound, never a crash
  EXPECT_FALSE(scan_answer("{\"choices\":" + std::string(300'000, '[') + std::string(300'000, ']') + "}", 10000));
}

TEST(JsonScan, WithModelInsertsIntoAnyObject) {
  for (std::string text : {"{}", " { } ", "{\"a\":1}", "\n{\n\"a\" : [ ] }\n"}) {
    const auto scan = scan_request(text, 256);
    ASSERT_TRUE(scan) << text;
    json want = parse_json(text);
    want["model"] = "x";
    EXPECT_EQ(parse_json(with_model(text, *scan, "x")), want) << text;
  }
  const auto scan = scan_request(R"({"model":{"nested":"object"},"b":2})", 256);
  ASSERT_TRUE(scan);
  EXPECT_EQ(with_model(R"({"model":{"nested":"object"},"b":2})", *scan, "x"), R"({"model":"x","b":2})");
  EXPECT_THROW(with_model("{}", *scan_request("{}", 256), "\xff"), json::exception);  // not UTF-8: refused
}

TEST(JsonScan, Answers) {
  for (
      std::string text : {
          R"({"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}})",
          R"({"choices":[{"finish_reason":null},{"finish_reason":"eos"},7,{"message":{"finish_reason":"inner"}}]})",
          R"({"choices":{"finish_reason":"stop"},"usage":null})",
          R"({"choices":[],"usage":{"prompt_tokens_details":{"cached_tokens":2}}})",
          R"({"object":"list","data":[{"embedding":[0.1,-2e-3]}]})",
          R"({"object":"","choices":[],"error":null})",
          R"({"object":"\u0000","error":{"message":"x"}})",
          R"({"object":5,"choices":[{"finish_reason":"stop"}]})",
          R"({"meta":{"object":"","error":1}})",
      }) {
    EXPECT_TRUE(agrees_answer(text)) << text;
  }
  for (std::string text : {
           R"({"choices":[],"choices":[{"finish_reason":"eos"}]})",
           R"({"choices":[{"finish_reason":"stop","finish_reason":"eos"}]})",
           R"({"choices":[{"finish_reason":"st\u006fp"}]})",
           R"({"usage":{},"usage":{"total_tokens":1}})",
       }) {
    EXPECT_FALSE(scan_answer(text, 256)) << text;
  }
}

// Seeded mutations of realistic bodies: whatever the scan accepts, the parse agrees with.
TEST(JsonScan, MutationsNeverDisagree) {
  const std::vector<std::string> seeds = {
      kChat,
      R"({"model":"m","messages":[{"role":"system","content":"Be \"brief\"."},{"role":"user","content":[{"type":"text","text":"caf\u00e9"}]}],"stream":true,"stream_options":{"include_usage":true},"max_completion_tokens":64})",
      R"({"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}})",
      R"({"id":"c","object":"","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}],"error":null})",
  };
  const std::string alphabet = "{}[]\":,\\ u0123456789.eE+-tfnrl\xc3\xa9\x80\xff";
  std::mt19937 rng(14);
  int sure = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = seeds[static_cast<std::size_t>(i) % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const std::size_t at = rng() % text.size();
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: text[at] = c; break;
        case 1: text.insert(at, 1, c); break;
        default: text.erase(at, 1);
      }
    }
    const bool a = agrees_request(text), b = agrees_answer(text);
    if (!parse_json(text).is_discarded() && parse_json(text).is_object()) sure += a && b;
    if (parse_json(text).is_discarded()) {
      EXPECT_FALSE(a) << text;
      EXPECT_FALSE(b) << text;
    }
  }
  EXPECT_GT(sure, 100);  // the mutations kept plenty of valid bodies the scans read
}

}  // namespace
}  // namespace llmfailover
