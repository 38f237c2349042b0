// stream_inspect_test.cpp — a routed stream's inspector reads chat chunks by a scan (json_scan.hpp
// scan_chunk) instead of a full parse: both must tell the same about every chunk, whatever it is.
// Each test feeds the same chunks to an inspector that scans and to one that parses fully and
// compares every fact the router uses (kind, finish, characters, choice 0's text, usage, malformed).
// Hostile chunks: escaped quotes, keys named like the looked-up ones at other levels, unicode
// escapes (surrogate pairs, NUL) and raw UTF-8, white space, duplicate keys, odd "index" values, a
// chunk split in two, invalid JSON; plus seeded byte mutations of realistic chunks.
#include "../../../cpp/src/router/stream_inspect.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "llmfailover/json.hpp"
#include "llmfailover/json_scan.hpp"

namespace llmfailover {
namespace {

void expect_same_usage(const std::optional<Usage>& a, const std::optional<Usage>& b, const std::string& why) {
  ASSERT_EQ(a.has_value(), b.has_value()) << why;
  if (!a) return;
  EXPECT_EQ(a->completion, b->completion) << why;
  EXPECT_EQ(a->total, b->total) << why;
  EXPECT_EQ(a->prompt, b->prompt) << why;
  EXPECT_EQ(a->cached, b->cached) << why;
  EXPECT_EQ(a->reasoning, b->reasoning) << why;
}

// Feeds `chunks` to a scanning and a parsing inspector; every fact must agree after each chunk.
void expect_same(const std::vector<std::string>& chunks) {
  StreamInspector scanned(false, true), parsed(false, false);
  std::string why;
  for (const auto& c : chunks) {
    why += c + "\n";
    EXPECT_EQ(scanned.inspect(c), parsed.inspect(c)) << why;
    EXPECT_EQ(scanned.finished(), parsed.finished()) << why;
    EXPECT_EQ(scanned.done(), parsed.done()) << why;
    EXPECT_EQ(scanned.content_chars(), parsed.content_chars()) << why;
    EXPECT_EQ(scanned.output_chars(), parsed.output_chars()) << why;
    EXPECT_EQ(scanned.text(), parsed.text()) << why;
    EXPECT_EQ(scanned.last_text(), parsed.last_text()) << why;
    EXPECT_EQ(scanned.usage_total(), parsed.usage_total()) << why;
    EXPECT_EQ(scanned.completion_tokens(), parsed.completion_tokens()) << why;
    EXPECT_EQ(scanned.malformed(), parsed.malformed()) << why;
    expect_same_usage(scanned.usage(), parsed.usage(), why);
  }
}

bool sure(const std::string& chunk) { return scan_chunk(chunk, max_json_depth()).has_value(); }

const char* kRole =
    R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]})";
const char* kText =
    R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" quick"},"logprobs":null,"finish_reason":null}]})";
const char* kStop =
    R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]})";
const char* kUsage =
    R"({"id":"c","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21,"prompt_tokens_details":{"cached_tokens":3},"completion_tokens_details":{"reasoning_tokens":4}}})";

TEST(StreamInspectScan, TheUsualStreamIsScanned) {
  for (const char* c : {kRole, kText, kStop, kUsage}) EXPECT_TRUE(sure(c)) << c;
  expect_same({kRole, kText, kText, kStop, kUsage, "[DONE]"});
  StreamInspector in(false);
  EXPECT_EQ(in.inspect(kRole), ChunkKind::meta);
  EXPECT_EQ(in.inspect(kText), ChunkKind::content);
  EXPECT_EQ(in.last_text(), " quick");
  EXPECT_EQ(in.inspect(kStop), ChunkKind::meta);
  EXPECT_TRUE(in.finished());
  EXPECT_EQ(in.inspect(kUsage), ChunkKind::meta);
  EXPECT_EQ(in.usage_total(), 21);
  EXPECT_EQ(in.text(), " quick");
}

TEST(StreamInspectScan, HostileButValidChunksAgreeWithTheParse) {
  const std::vector<std::string> chunks = {
      // Escaped quotes and backslashes in the text, and look-alike keys inside strings.
      R"({"choices":[{"index":0,"delta":{"content":"say \"content\": \\\"x\\\" \\"}}]})",
      R"({"id":"\"choices\":[{\"delta\":{\"content\":\"no\"}}]","choices":[{"delta":{"content":"yes"}}]})",
      // Keys named like the looked-up ones at other levels.
      R"({"choices":[{"index":0,"logprobs":{"content":[{"token":"x","delta":{"content":"not text"}}]},"delta":{"content":"a"}}]})",
      R"({"meta":{"choices":[{"delta":{"content":"nested"}}],"finish_reason":"stop"},"choices":[{"delta":{"content":"b"}}]})",
      R"({"choices":[{"delta":{"extra":{"content":"deep","tool_calls":[1]},"content":"c"}}]})",
      // Unicode: escapes (BMP, surrogate pair, NUL, escaped slash) and raw UTF-8.
      R"({"choices":[{"delta":{"content":"caf\u00e9 \ud83d\ude00 \u0000 a\/b \b\f\n\r\t"}}]})",
      "{\"choices\":[{\"delta\":{\"content\":\"caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac\"}}]}",
      R"({"choices":[{"delta":{"content":"\u20ac\u0041\u00DF"}}]})",
      // White space everywhere.
      " \t\r\n{ \"choices\" : [ { \"index\" : 0 , \"delta\" : { \"content\" : \"ws\" } , \"finish_reason\" : null } ] "
      "} \n",
      // The index after the delta, other choices, odd indexes.
      R"({"choices":[{"delta":{"content":"late index"},"index":0},{"delta":{"content":"choice one"},"index":1}]})",
      R"({"choices":[{"delta":{"content":"one"},"index":1},{"delta":{"content":"zero"}}]})",
      R"({"choices":[{"delta":{"content":"s"},"index":"0"},{"delta":{"content":"f"},"index":0.0}]})",
      R"({"choices":[{"delta":{"content":"n"},"index":null},{"delta":{"content":"neg"},"index":-1},{"delta":{"content":"z"},"index":-0}]})",
      R"({"choices":[{"delta":{"content":"e"},"index":0e0},{"delta":{"content":"big"},"index":9223372036854775807}]})",
      // Finish reasons of every kind.
      R"({"choices":[{"finish_reason":""}]})",
      R"({"choices":[{"finish_reason":[]}]})",
      R"({"choices":[{"finish_reason":{}}]})",
      R"({"choices":[{"finish_reason":0}]})",
      R"({"choices":[{"finish_reason":false}]})",
      R"({"choices":[{"finish_reason":[null]}]})",
      // Content of every kind: empty, null, not a string, tool calls, refusal, function_call.
      R"({"choices":[{"delta":{"content":null}}]})",
      R"({"choices":[{"delta":{"content":["x"]}}]})",
      R"({"choices":[{"delta":{"content":{}}}]})",
      R"({"choices":[{"delta":{"content":7}}]})",
      R"({"choices":[{"delta":{"tool_calls":[]}}]})",
      R"({"choices":[{"delta":{"tool_calls":[ ]}}]})",
      R"({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]}}]})",
      R"({"choices":[{"delta":{"tool_calls":[7,null,{"function":"x"},{"function":{"arguments":5}},{"function":{"arguments":"\u00e9"}}]}}]})",
      R"({"choices":[{"delta":{"tool_calls":{}}}]})",
      R"({"choices":[{"delta":{"tool_calls":"x"}}]})",
      R"({"choices":[{"delta":{"refusal":"no"}}]})",
      R"({"choices":[{"delta":{"refusal":""}}]})",
      R"({"choices":[{"delta":{"function_call":{"name":"f"}}}]})",
      R"({"choices":[{"delta":{"function_call":{}}}]})",
      R"({"choices":[{"delta":null},{"delta":"x"},{"delta":[]},7,null,"s"]})",
      // Legacy /completions chunks.
      R"({"choices":[{"text":"legacy","index":0,"finish_reason":null}]})",
      R"({"choices":[{"text":"","index":0}]})",
      R"({"choices":[{"text":null}]})",
      // Choices and usage of other shapes, a null error.
      R"({"choices":{"delta":{"content":"not an array"}}})",
      R"({"choices":null,"usage":null})",
      R"({"usage":{"input_tokens":3,"output_tokens":4}})",
      R"({"usage":{"total_tokens":"9","completion_tokens":null}})",
      R"({"usage":[1,2]})",
      R"({"error":null,"choices":[{"delta":{"content":"ok"}}]})",
      R"({})",
  };
  for (const auto& c : chunks) {
    EXPECT_TRUE(sure(c)) << c;
    expect_same({c});
  }
  expect_same(chunks);  // and as one stream: the running totals agree too
}

TEST(StreamInspectScan, UnsureWhereTheParseMightDiffer) {
  for (std::string c : {
           R"({"error":{"message":"boom"}})",
           R"({"error":"x","choices":[]})",
           R"({"choices":[],"choices":[{"delta":{"content":"dup"}}]})",
           R"({"choices":[{"delta":{"content":"a","content":"b"}}]})",
           R"({"choices":[{"index":0,"index":1,"delta":{"content":"a"}}]})",
           R"({"choices":[{"finish_reason":null,"finish_reason":"stop"}]})",
           R"({"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"a","arguments":"b"}}]}}]})",
           R"({"choices":[{"delta":{"tool_calls":[{"function":{},"function":{"arguments":"b"}}]}}]})",
           R"({"choices":[{"delta":{"content":"a"},"index":9223372036854775808}]})",
           R"({"choices":[{"delta":{"content":"a"},"index":-9223372036854775809}]})",
           R"({"choices":[{"delta":{"cont\u0065nt":"escaped key"}}]})",
           R"({"usage":{},"usage":{"total_tokens":1}})",
       }) {
    EXPECT_FALSE(sure(c)) << c;
    expect_same({c});  // the full parse decides, as before
  }
}

TEST(StreamInspectScan, InvalidChunksAreMalformedEitherWay) {
  const std::string whole = kText;
  const std::vector<std::string> chunks = {
      whole.substr(0, whole.size() / 2),  // one chunk split in two events
      whole.substr(whole.size() / 2),
      "{malformed",
      R"({"choices":[{"delta":{"content":"unterminated}}]})",
      R"({"choices":[{"delta":{"content":"bad \x escape"}}]})",
      R"({"choices":[{"delta":{"content":"lone \ud83d surrogate"}}]})",
      R"({"choices":[{"delta":{"content":"low \ude00 first"}}]})",
      "{\"choices\":[{\"delta\":{\"content\":\"raw\ncontrol\"}}]}",
      "{\"choices\":[{\"delta\":{\"content\":\"bad utf8 \xff\xfe\"}}]}",
      "{\"choices\":[{\"delta\":{\"content\":\"overlong \xc0\xaf\"}}]}",
      R"({"choices":[{"delta":{"content":"x"}}]} trailing)",
      R"({"choices":[{"delta":{"content":"x"}},]})",
      R"([{"choices":[]}])",
      R"("just a string")",
      "",
      " ",
      "null",
  };
  for (const auto& c : chunks) EXPECT_FALSE(sure(c)) << c;
  expect_same(chunks);
  StreamInspector in(false);
  for (const auto& c : chunks) EXPECT_EQ(in.inspect(c), ChunkKind::malformed) << c;
}

TEST(StreamInspectScan, NestingLimit) {
  const std::size_t limit = max_json_depth();
  auto nested = [](std::size_t levels) {  // "index" holding `levels` nested arrays, at level 3
    return R"({"choices":[{"delta":{"content":"x"},"index":)" + std::string(levels, '[') + std::string(levels, ']') +
           "}]}";
  };
  EXPECT_TRUE(sure(nested(limit - 3)));  // 3 levels above it: exactly the limit
  EXPECT_FALSE(sure(nested(limit - 2)));
  expect_same({nested(limit - 3), nested(limit - 2)});
  auto args = [](std::size_t levels) {  // deep inside a tool call's function, at level 7
    return R"({"choices":[{"delta":{"tool_calls":[{"function":{"x":)" + std::string(levels, '[') +
           std::string(levels, ']') + "}}]}}]}";
  };
  EXPECT_TRUE(sure(args(limit - 7)));
  EXPECT_FALSE(sure(args(limit - 6)));
  expect_same({args(limit - 7), args(limit - 6)});
}

// Seeded mutations of realistic chunks: whatever the scan accepts, the full parse agrees with.
TEST(StreamInspectScan, MutationsNeverDisagree) {
  const std::vector<std::string> seeds = {
      kRole,
      kText,
      kStop,
      kUsage,
      R"({"choices":[{"index":0,"delta":{"content":"caf\u00e9 \"q\" \ud83d\ude00","tool_calls":[{"function":{"arguments":"{\"a\":1}"}}]},"finish_reason":null},{"index":1,"text":"t"}]})",
  };
  const std::string alphabet = "{}[]\":,\\ u0123456789.eE+-tfnrl\xc3\xa9\x80\xff";
  std::mt19937 rng(14);
  int scanned = 0;
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
    const bool s = sure(text);
    if (s) {
      ++scanned;
      EXPECT_TRUE(parse_json(text).is_object()) << text;
    }
    expect_same({text});
    if (HasFailure()) break;  // one counterexample is enough to read
  }
  EXPECT_GT(scanned, 1000);  // the mutations kept plenty of valid chunks the scan read
}

// scan_usage (a whole answer's usage read from its text) gives what read_usage(parse_json(text))
// gives, or is unsure; checked through scan_answer, as routed_events.cpp reaches it.
std::optional<std::optional<Usage>> scanned_usage(const std::string& answer) {
  auto scan = scan_answer(answer, max_json_depth());
  if (!scan || !scan->usage.found()) return std::nullopt;  // the router parses the whole answer then
  auto u = scan_usage(std::string_view(answer).substr(scan->usage.begin, scan->usage.end - scan->usage.begin));
  if (!u) return std::nullopt;
  return u->object ? std::optional<Usage>(u->usage) : std::nullopt;
}

std::optional<Usage> parsed_usage(const std::string& answer) {
  auto doc = parse_json(answer);
  if (!doc.is_object()) return std::nullopt;
  auto it = doc.find("usage");
  if (it == doc.end() || !it->is_object()) return std::nullopt;
  return read_usage(*it);
}

void expect_same_answer_usage(const std::string& answer, bool must_be_sure) {
  const auto s = scanned_usage(answer);
  if (must_be_sure) {
    ASSERT_TRUE(s.has_value()) << "unsure: " << answer;
  }
  if (s) expect_same_usage(*s, parsed_usage(answer), answer);
}

TEST(UsageScan, ReadsWhatTheParseReads) {
  const std::vector<std::string> sure = {
      R"({"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}})",
      R"({"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3}})",  // total: the sum
      R"({"choices":[],"usage":{}})",
      R"({"choices":[],"usage":null})",
      R"({"choices":[],"usage":"12"})",
      R"({"choices":[],"usage":[1,2]})",
      R"({"choices":[],"usage":{"input_tokens":5,"output_tokens":7,"input_tokens_details":{"cached_tokens":2},"output_tokens_details":{"reasoning_tokens":1}}})",
      R"({"choices":[],"usage":{"prompt_tokens":100,"completion_tokens":20,"total_tokens":120,"prompt_tokens_details":{"cached_tokens":64,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":10,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}})",
      // both names: the chat ones win
      R"({"choices":[],"usage":{"prompt_tokens":1,"input_tokens":2,"completion_tokens":3,"output_tokens":4,"prompt_tokens_details":{"cached_tokens":5},"input_tokens_details":{"cached_tokens":6}}})",
      // not integers: no count
      R"({"choices":[],"usage":{"prompt_tokens":1.0,"completion_tokens":"3","total_tokens":null,"input_tokens":2e1}})",
      R"({"choices":[],"usage":{"prompt_tokens":-4,"completion_tokens":0,"total_tokens":-0}})",
      R"({"choices":[],"usage":{"prompt_tokens":true,"completion_tokens":[3],"total_tokens":{"n":1}}})",
      R"({"choices":[],"usage":{"prompt_tokens_details":null,"completion_tokens_details":[{"reasoning_tokens":3}]}})",
      R"({"choices":[],"usage":{"prompt_tokens_details":{"cached_tokens":1.5},"completion_tokens_details":{}}})",
      // white space, nesting and look-alike keys elsewhere
      " {\"choices\" : [ ] , \"usage\" :\n {\t\"prompt_tokens\" : 9 ,\r\n \"x\" : "
      "{\"prompt_tokens\":1,\"s\":\"}\\\"{\"} , \"completion_tokens\" : 3 } } ",
      R"({"choices":[],"usage":{"other":{"total_tokens":5,"a":[{"b":"]"}]},"total_tokens":7,"prompt_tokens_details":{"x":{"cached_tokens":9},"cached_tokens":4}}})",
      R"({"choices":[],"usage":{"prompt_tokens":9223372036854775807,"completion_tokens":-9223372036854775808}})",
      R"({"choices":[],"usage":{"nested":"\\","prompt_tokens":1}})",
  };
  for (const auto& a : sure) expect_same_answer_usage(a, true);
  // Unsure (the router parses then): escaped keys, duplicates of a key read, integers past int64.
  const std::vector<std::string> unsure = {
      R"({"choices":[],"usage":{"prompt\u005ftokens":9}})",
      R"({"choices":[],"usage":{"x\"y":1,"prompt_tokens":9}})",
      R"({"choices":[],"usage":{"prompt_tokens":9,"prompt_tokens":10}})",
      R"({"choices":[],"usage":{"prompt_tokens_details":{"cached_tokens":1,"cached_tokens":2}}})",
      R"({"choices":[],"usage":{"prompt_tokens_details":{"cached_tokens":1},"prompt_tokens_details":null}})",
      R"({"choices":[],"usage":{"prompt_tokens":9223372036854775808}})",
      R"({"choices":[],"usage":{"prompt_tokens":18446744073709551616}})",
      R"({"choices":[],"usage":{"prompt_tokens":-9223372036854775809}})",
  };
  for (const auto& a : unsure) {
    EXPECT_FALSE(scanned_usage(a).has_value()) << a;
    expect_same_answer_usage(a, false);
  }
}

// Seeded mutations of a realistic answer: whatever scan_usage reads, the full parse agrees with.
TEST(UsageScan, MutationsNeverDisagree) {
  const std::string seed =
      R"({"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":100,"completion_tokens":20,"total_tokens":120,"prompt_tokens_details":{"cached_tokens":64,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":10},"input_tokens":3,"output_tokens_details":{"reasoning_tokens":2}}})";
  const std::string alphabet = "{}[]\":,\\ u0123456789.eE+-tfnrl";
  std::mt19937 rng(1414);
  int read = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = seed;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = seed.find("usage") + rng() % (seed.size() - seed.find("usage"));  // mostly in usage
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: text[std::min(at, text.size() - 1)] = c; break;
        case 1: text.insert(std::min(at, text.size()), 1, c); break;
        default: text.erase(std::min(at, text.size() - 1), 1);
      }
    }
    if (auto s = scanned_usage(text)) {
      ++read;
      expect_same_usage(*s, parsed_usage(text), text);
    }
    if (HasFailure()) break;  // one counterexample is enough to read
  }
  EXPECT_GT(read, 1000);
}

}  // namespace
}  // namespace llmfailover
