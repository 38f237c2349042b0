#include "llmfailover/transport/sse.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace llmfailover::transport {

void PrintTo(const SseEvent& e, std::ostream* os) {
  *os << "{event='" << e.event << "', data='" << e.data << "', id='" << e.id << "'}";
}

namespace {

std::vector<SseEvent> parse_in_pieces(std::string_view text, std::size_t piece, bool finish = true) {
  std::vector<SseEvent> out;
  SseParser p([&](SseEvent&& e) { out.push_back(std::move(e)); });
  for (std::size_t i = 0; i < text.size(); i += piece) p.feed(text.substr(i, piece));
  if (finish) p.finish();
  return out;
}

// Every test runs the same input whole and split at every size from 1 byte up.
void expect_events(std::string_view text, const std::vector<SseEvent>& want, bool finish = true) {
  for (std::size_t piece = 1; piece <= text.size() + 1; ++piece)
    ASSERT_EQ(parse_in_pieces(text, piece, finish), want) << "split every " << piece << " bytes";
}

TEST(SseParser, OpenAIStreamWithDone) {
  expect_events("data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n",
                {{"", "{\"a\":1}", ""}, {"", "{\"b\":2}", ""}, {"", "[DONE]", ""}});
}

TEST(SseParser, CrLfAndLoneCrLineEnds) {
  expect_events("data: one\r\n\r\ndata: two\r\rdata: three\n\n", {{"", "one", ""}, {"", "two", ""}, {"", "three", ""}});
}

TEST(SseParser, CommentsAreIgnored) { expect_events(": OPENROUTER PROCESSING\n\n:ping\ndata: x\n\n", {{"", "x", ""}}); }

TEST(SseParser, MultiLineDataJoinsWithNewline) {
  expect_events("data: first\ndata: second\ndata\n\n", {{"", "first\nsecond\n", ""}});
}

TEST(SseParser, EventAndIdFieldsAndIdPersists) {
  expect_events("event: message_start\nid: 7\ndata: {}\n\nevent: ping\ndata: {}\n\n",
                {{"message_start", "{}", "7"}, {"ping", "{}", "7"}});
}

TEST(SseParser, OnlyOneLeadingSpaceIsStripped) {
  expect_events("data:  two spaces\n\ndata:none\n\n", {{"", " two spaces", ""}, {"", "none", ""}});
}

TEST(SseParser, EventWithoutDataIsNotDispatched) { expect_events("event: ping\n\ndata: real\n\n", {{"", "real", ""}}); }

TEST(SseParser, Utf8BomIsSkipped) {
  expect_events(
      "\xEF\xBB\xBF"
      "data: x\n\n",
      {{"", "x", ""}});
}

TEST(SseParser, StreamCutBeforeBlankLineIsFlushedByFinish) {
  expect_events("data: a\n\ndata: partial", {{"", "a", ""}, {"", "partial", ""}});
  expect_events("data: a\n\ndata: partial", {{"", "a", ""}}, /*finish=*/false);
}

TEST(SseParser, RetryFieldIsParsed) {
  std::vector<SseEvent> out;
  SseParser p([&](SseEvent&& e) { out.push_back(std::move(e)); });
  p.feed("retry: 1500\ndata: x\n\n");
  EXPECT_EQ(p.retry_ms(), 1500);
  EXPECT_EQ(p.events_dispatched(), 1u);
}

TEST(SseParser, FinishReportsWhetherSomethingWasPending) {
  SseParser p([](SseEvent&&) {});
  p.feed("data: x\n\n");
  EXPECT_FALSE(p.finish());
  p.feed("data: y");
  EXPECT_TRUE(p.finish());
}

// Issue 10 item 7b: a line or an event over its cap fails the parser instead of growing.
TEST(SseParser, LineOverTheCapFailsAndStopsGrowing) {
  std::vector<SseEvent> out;
  SseParser p([&](SseEvent&& e) { out.push_back(std::move(e)); }, SseLimits{100, 1000});
  EXPECT_TRUE(p.feed("data: ok\n\n"));
  EXPECT_TRUE(p.feed("data: " + std::string(90, 'a')));
  EXPECT_FALSE(p.feed(std::string(10, 'a')));  // 106 bytes without a line end
  EXPECT_NE(p.error().find("line"), std::string::npos);
  EXPECT_FALSE(p.feed("\n\ndata: later\n\n"));  // failed for good
  EXPECT_FALSE(p.finish());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "ok");
}

TEST(SseParser, EventOverTheCapFails) {
  std::vector<SseEvent> out;
  SseParser p([&](SseEvent&& e) { out.push_back(std::move(e)); }, SseLimits{100, 250});
  bool ok = true;
  for (int i = 0; i < 10 && ok; ++i) ok = p.feed("data: " + std::string(50, 'x') + "\n");
  EXPECT_FALSE(ok);
  EXPECT_NE(p.error().find("event"), std::string::npos);
  EXPECT_TRUE(out.empty());
  // A line exactly at the cap is fine, even split.
  SseParser q([&](SseEvent&& e) { out.push_back(std::move(e)); }, SseLimits{100, 250});
  EXPECT_TRUE(q.feed("data: " + std::string(50, 'y')));
  EXPECT_TRUE(q.feed(std::string(44, 'y') + "\n\n"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, std::string(94, 'y'));
}

}  // namespace
}  // namespace llmfailover::transport
