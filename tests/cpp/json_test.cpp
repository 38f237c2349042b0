// json_test.cpp — parse_json: the nesting limit (RFC 8259 section 9), its pre-scan, and errors.
#include "llmfailover/json.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

namespace llmfailover {
namespace {

std::string nested(std::size_t depth, std::string_view open = "[", std::string_view close = "]") {
  std::string s;
  s.reserve(depth * (open.size() + close.size()));
  for (std::size_t i = 0; i < depth; ++i) s += open;
  for (std::size_t i = 0; i < depth; ++i) s += close;
  return s;
}

// Restores the process-wide limit whatever the test does.
struct DepthGuard {
  std::size_t saved = max_json_depth();
  ~DepthGuard() { set_max_json_depth(saved); }
};

TEST(ParseJson, DefaultLimitIs256) {
  EXPECT_EQ(kDefaultMaxJsonDepth, 256u);
  EXPECT_EQ(max_json_depth(), kDefaultMaxJsonDepth);
}

TEST(ParseJson, ExactlyAtTheLimitParsesOneDeeperIsRefused) {
  const auto ok = parse_json(nested(256));
  ASSERT_FALSE(ok.is_discarded());
  EXPECT_TRUE(ok.is_array());
  JsonError error;
  EXPECT_TRUE(parse_json(nested(257), &error).is_discarded());
  EXPECT_EQ(error.kind, JsonError::Kind::too_deep);
  EXPECT_EQ(error.byte, 256u);  // the 257th '['
  EXPECT_EQ(error.message(), "nested deeper than 256 levels");
}

TEST(ParseJson, ObjectsCountLikeArrays) {
  std::string doc;
  for (int i = 0; i < 300; ++i) doc += "{\"a\":";
  doc += "1";
  for (int i = 0; i < 300; ++i) doc += "}";
  JsonError error;
  EXPECT_TRUE(parse_json(doc, &error).is_discarded());
  EXPECT_EQ(error.kind, JsonError::Kind::too_deep);
}

// Brackets inside strings (escaped quotes included) are text, not nesting.
TEST(ParseJson, BracketsInStringsDoNotCount) {
  const std::string text = "{\"s\": \"" + std::string(5000, '[') + "\\\"" + std::string(5000, '{') + "\"}";
  const auto doc = parse_json(text);
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc["s"].get<std::string>().size(), 10001u);
  EXPECT_EQ(find_too_deep(R"(["\\", [[1]]])", 3), std::nullopt);  // "\\" ends the string
  EXPECT_EQ(find_too_deep(R"(["\\", [[1]]])", 2), 8u);
}

// The regression: nlohmann builds a value this deep, then copying or dumping it recurses once per
// level and overflows the stack (a segfault before parse_json). Now: refused, fast, nothing built.
TEST(ParseJson, AMillionLevelsAreRefusedQuickly) {
  const std::string text = nested(1'000'000);
  const auto t0 = std::chrono::steady_clock::now();
  JsonError error;
  const auto doc = parse_json(text, &error);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(doc.is_discarded());
  EXPECT_EQ(error.kind, JsonError::Kind::too_deep);
  EXPECT_LT(took, std::chrono::seconds(1));
  // Unbalanced (an attacker does not close): the same.
  EXPECT_TRUE(parse_json(std::string(1'000'000, '[')).is_discarded());
}

TEST(ParseJson, SyntaxErrorsSayWhere) {
  JsonError error;
  EXPECT_TRUE(parse_json("{\"a\": tru}", &error).is_discarded());
  EXPECT_EQ(error.kind, JsonError::Kind::syntax);
  EXPECT_GT(error.byte, 5u);
  EXPECT_EQ(error.message(), "not valid JSON");
  EXPECT_TRUE(parse_json("").is_discarded());
  EXPECT_TRUE(parse_json("[1] [2]").is_discarded());
}

TEST(ParseJson, OrderedJsonKeepsOrder) {
  const auto doc = parse_json<nlohmann::ordered_json>(R"({"b": 1, "a": 2})");
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc.begin().key(), "b");
  EXPECT_TRUE(parse_json<nlohmann::ordered_json>(nested(300)).is_discarded());
}

TEST(ParseJson, TheLimitIsConfigurable) {
  DepthGuard guard;
  set_max_json_depth(1000);
  EXPECT_FALSE(parse_json(nested(1000)).is_discarded());
  EXPECT_TRUE(parse_json(nested(1001)).is_discarded());
  set_max_json_depth(2);
  EXPECT_FALSE(parse_json("[[1]]").is_discarded());
  EXPECT_TRUE(parse_json("[[[1]]]").is_discarded());
  EXPECT_FALSE(parse_json(nested(10), nullptr, 10).is_discarded());  // an explicit limit wins
  EXPECT_THROW(set_max_json_depth(0), std::invalid_argument);
  EXPECT_THROW(set_max_json_depth(10001), std::invalid_argument);
  EXPECT_EQ(max_json_depth(), 2u);
}

}  // namespace
}  // namespace llmfailover
