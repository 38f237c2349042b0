// ResponsesResume: a recovery attempt's Responses events renumbered as the delivered stream's.
#include "../../../cpp/src/router/responses_resume.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace llmfailover {
namespace {

using nlohmann::json;

json ev(const std::string& type, long long seq, json fields = json::object()) {
  fields["type"] = type;
  fields["sequence_number"] = seq;
  return fields;
}

json message(const std::string& id, const std::string& status = "in_progress", json content = json::array()) {
  return {{"type", "message"}, {"id", id}, {"status", status}, {"role", "assistant"}, {"content", content}};
}

json delta(const std::string& item, long long index, const std::string& text, long long seq) {
  return ev(
      "response.output_text.delta", seq,
      {{"item_id", item}, {"output_index", index}, {"content_index", 0}, {"delta", text}, {"logprobs", json::array()}});
}

json response(const std::string& id, long long created, const std::string& status = "in_progress",
              json output = json::array()) {
  return {{"id", id},         {"object", "response"}, {"created_at", created},
          {"status", status}, {"output", output},     {"model", "m"}};
}

// The first attempt: created, in_progress, the message and its part, "Hello" and " wor", then cut.
ResponsesResume delivered_hello_wor(std::size_t reasoning_items = 0) {
  ResponsesResume r;
  long long seq = 0;
  r.delivered(ev("response.created", seq++, {{"response", response("resp_A", 100)}}).dump());
  r.delivered(ev("response.in_progress", seq++, {{"response", response("resp_A", 100)}}).dump());
  for (std::size_t i = 0; i < reasoning_items; ++i) {
    const json item = {{"type", "reasoning"}, {"id", "rs_A"}, {"summary", json::array()}};
    r.delivered(ev("response.output_item.added", seq++, {{"output_index", i}, {"item", item}}).dump());
    r.delivered(ev("response.output_item.done", seq++, {{"output_index", i}, {"item", item}}).dump());
  }
  const long long mi = static_cast<long long>(reasoning_items);
  r.delivered(ev("response.output_item.added", seq++, {{"output_index", mi}, {"item", message("msg_A")}}).dump());
  r.delivered(ev("response.content_part.added", seq++,
                 {{"item_id", "msg_A"},
                  {"output_index", mi},
                  {"content_index", 0},
                  {"part", {{"type", "output_text"}, {"text", ""}, {"annotations", json::array()}}}})
                  .dump());
  r.delivered(delta("msg_A", mi, "Hello", seq++).dump());
  r.delivered(delta("msg_A", mi, " wor", seq++).dump());
  return r;
}

// A recovery attempt's whole stream: a reasoning item first (when asked), then "Hello world".
std::vector<json> restart_hello_world(bool reasoning, const std::vector<json>& after = {}) {
  std::vector<json> out;
  long long seq = 0;
  out.push_back(ev("response.created", seq++, {{"response", response("resp_B", 200)}}));
  out.push_back(ev("response.in_progress", seq++, {{"response", response("resp_B", 200)}}));
  const json rs = {{"type", "reasoning"}, {"id", "rs_B"}, {"summary", json::array()}};
  if (reasoning) {
    out.push_back(ev("response.output_item.added", seq++, {{"output_index", 0}, {"item", rs}}));
    out.push_back(ev("response.reasoning_summary_text.delta", seq++,
                     {{"item_id", "rs_B"}, {"output_index", 0}, {"summary_index", 0}, {"delta", "thinking"}}));
    out.push_back(ev("response.output_item.done", seq++, {{"output_index", 0}, {"item", rs}}));
  }
  const long long mi = reasoning ? 1 : 0;
  out.push_back(ev("response.output_item.added", seq++, {{"output_index", mi}, {"item", message("msg_B")}}));
  out.push_back(ev("response.content_part.added", seq++,
                   {{"item_id", "msg_B"},
                    {"output_index", mi},
                    {"content_index", 0},
                    {"part", {{"type", "output_text"}, {"text", ""}, {"annotations", json::array()}}}}));
  out.push_back(delta("msg_B", mi, "Hello", seq++));
  out.push_back(delta("msg_B", mi, " world", seq++));
  out.push_back(ev("response.output_text.done", seq++,
                   {{"item_id", "msg_B"}, {"output_index", mi}, {"content_index", 0}, {"text", "Hello world"}}));
  const json part = {{"type", "output_text"}, {"text", "Hello world"}, {"annotations", json::array()}};
  out.push_back(ev("response.content_part.done", seq++,
                   {{"item_id", "msg_B"}, {"output_index", mi}, {"content_index", 0}, {"part", part}}));
  const json done = message("msg_B", "completed", json::array({part}));
  out.push_back(ev("response.output_item.done", seq++, {{"output_index", mi}, {"item", done}}));
  json output = json::array();
  if (reasoning) output.push_back(rs);
  output.push_back(done);
  for (const auto& a : after) {
    json e = a;
    e["sequence_number"] = seq++;
    out.push_back(e);
    if (e["type"] == "response.output_item.done") output.push_back(e["item"]);
  }
  json completed = response("resp_B", 200, "completed", output);
  completed["usage"] = {{"input_tokens", 3}, {"output_tokens", 2}, {"total_tokens", 5}};
  out.push_back(ev("response.completed", seq++, {{"response", completed}}));
  return out;
}

// What the router does: swallow until "Hello wor" is matched (inside " world"), forward the rest.
std::vector<json> recover(ResponsesResume& r, const std::vector<json>& events) {
  r.restart();
  std::vector<json> out;
  const std::string delivered = "Hello wor";
  std::size_t matched = 0;
  bool live = false;
  for (const auto& e : events) {
    if (live) {
      for (const auto& d : r.forward(e.dump(), 0)) out.push_back(json::parse(d));
      continue;
    }
    r.swallow(e.dump());
    if (e["type"] != "response.output_text.delta") continue;
    const std::string piece = e["delta"];
    const std::size_t same = std::min(delivered.size() - matched, piece.size());
    EXPECT_EQ(delivered.compare(matched, same, piece, 0, same), 0);
    matched += same;
    if (matched < delivered.size()) continue;
    live = true;
    for (const auto& d : r.forward(e.dump(), same)) out.push_back(json::parse(d));
  }
  return out;
}

std::vector<std::string> types(const std::vector<json>& events) {
  std::vector<std::string> t;
  for (const auto& e : events) t.push_back(e["type"]);
  return t;
}

TEST(ResponsesResume, TheRestContinuesTheDeliveredMessageAndNumbering) {
  ResponsesResume r = delivered_hello_wor();
  EXPECT_EQ(r.blocker(), "");
  const auto out = recover(r, restart_hello_world(false));
  ASSERT_EQ(types(out), (std::vector<std::string>{"response.output_text.delta", "response.output_text.done",
                                                  "response.content_part.done", "response.output_item.done",
                                                  "response.completed"}));
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i]["sequence_number"], 6 + static_cast<long long>(i));
  EXPECT_EQ(out[0]["delta"], "ld");
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(out[i]["output_index"], 0);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(out[i]["item_id"], "msg_A");
  EXPECT_EQ(out[1]["text"], "Hello world");
  EXPECT_EQ(out[2]["part"]["text"], "Hello world");
  EXPECT_EQ(out[3]["item"]["id"], "msg_A");
  EXPECT_EQ(out[3]["item"]["status"], "completed");
  EXPECT_EQ(out[3]["item"]["content"][0]["text"], "Hello world");
  const json& done = out[4]["response"];
  EXPECT_EQ(done["id"], "resp_A");
  EXPECT_EQ(done["created_at"], 100);
  EXPECT_EQ(done["status"], "completed");
  EXPECT_EQ(done["usage"]["total_tokens"], 5);  // the recovery's usage, as reported
  ASSERT_EQ(done["output"].size(), 1u);
  EXPECT_EQ(done["output"][0]["id"], "msg_A");
  EXPECT_EQ(done["output"][0]["content"][0]["text"], "Hello world");
}

TEST(ResponsesResume, TheRecoverysReasoningIsDroppedAndLaterItemsFollowTheMessage) {
  ResponsesResume r = delivered_hello_wor(/*reasoning_items=*/1);  // the message is output 1
  const json fc = {{"type", "function_call"}, {"id", "fc_1"},         {"call_id", "call_1"}, {"name", "f"},
                   {"arguments", "{}"},       {"status", "completed"}};
  const std::vector<json> after = {
      ev("response.output_item.added", 0, {{"output_index", 2}, {"item", fc}}),
      ev("response.function_call_arguments.delta", 0, {{"item_id", "fc_1"}, {"output_index", 2}, {"delta", "{}"}}),
      ev("response.output_item.done", 0, {{"output_index", 2}, {"item", fc}}),
  };
  const auto out = recover(r, restart_hello_world(/*reasoning=*/true, after));
  ASSERT_EQ(out.size(), 8u);
  EXPECT_EQ(out[0]["sequence_number"], 8);  // 0..7 were delivered
  EXPECT_EQ(out[0]["output_index"], 1);
  EXPECT_EQ(out[4]["type"], "response.output_item.added");
  EXPECT_EQ(out[4]["output_index"], 2);  // after the delivered message: recovery's index 2 - 1 + 1
  EXPECT_EQ(out[5]["item_id"], "fc_1");
  const json& output = out[7]["response"]["output"];
  ASSERT_EQ(output.size(), 3u);
  EXPECT_EQ(output[0]["id"], "rs_A");  // the delivered reasoning, not the recovery's
  EXPECT_EQ(output[1]["id"], "msg_A");
  EXPECT_EQ(output[2]["id"], "fc_1");
  for (const auto& e : out)
    EXPECT_EQ(e.dump().find("rs_B"), std::string::npos) << "nothing of the recovery's reasoning";
  for (const auto& e : out) EXPECT_EQ(e.dump().find("msg_B"), std::string::npos);
}

TEST(ResponsesResume, APrefilledRecoverySendsOnlyTheRest) {
  ResponsesResume r = delivered_hello_wor();
  r.restart();
  r.swallow(ev("response.created", 0, {{"response", response("resp_C", 300)}}).dump());
  r.swallow(ev("response.output_item.added", 1, {{"output_index", 0}, {"item", message("msg_C")}}).dump());
  const auto out = r.forward(delta("msg_C", 0, "ld!", 3).dump(), 0);
  ASSERT_EQ(out.size(), 1u);
  const json d = json::parse(out[0]);
  EXPECT_EQ(d["delta"], "ld!");
  EXPECT_EQ(d["item_id"], "msg_A");
  EXPECT_EQ(d["sequence_number"], 6);
  const json t =
      json::parse(r.forward(ev("response.output_text.done", 4,
                               {{"item_id", "msg_C"}, {"output_index", 0}, {"content_index", 0}, {"text", "ld!"}})
                                .dump(),
                            0)
                      .at(0));
  EXPECT_EQ(t["text"], "Hello world!");
}

TEST(ResponsesResume, AWhollyMatchedDeltaForwardsNothing) {
  ResponsesResume r = delivered_hello_wor();
  r.restart();
  EXPECT_TRUE(r.forward(delta("msg_B", 0, " wor", 9).dump(), 4).empty());
}

TEST(ResponsesResume, ADeliveredFunctionCallCannotBeResumed) {
  ResponsesResume r;
  r.delivered(ev("response.created", 0, {{"response", response("resp_A", 1)}}).dump());
  const json fc = {{"type", "function_call"}, {"id", "fc_1"}, {"call_id", "call_9"}, {"name", "f"}, {"arguments", ""}};
  r.delivered(ev("response.output_item.added", 1, {{"output_index", 0}, {"item", fc}}).dump());
  r.delivered(
      ev("response.function_call_arguments.delta", 2, {{"item_id", "fc_1"}, {"output_index", 0}, {"delta", "{\"a"}})
          .dump());
  EXPECT_NE(r.blocker().find("function_call item (call_9) was delivered"), std::string::npos) << r.blocker();
  // ... even when a message was open after it
  ResponsesResume m = delivered_hello_wor();
  m.delivered(ev("response.output_item.added", 8, {{"output_index", 1}, {"item", fc}}).dump());
  EXPECT_NE(m.blocker().find("function_call"), std::string::npos);
}

TEST(ResponsesResume, CutsOutsideAnOpenOutputTextCannotBeResumed) {
  ResponsesResume none;
  EXPECT_NE(none.blocker(), "");  // nothing delivered at all
  ResponsesResume closed = delivered_hello_wor();
  closed.delivered(
      ev("response.output_item.done", 6, {{"output_index", 0}, {"item", message("msg_A", "completed")}}).dump());
  EXPECT_NE(closed.blocker().find("outside an output text"), std::string::npos);
  ResponsesResume thinking;
  thinking.delivered(
      ev("response.output_item.added", 0,
         {{"output_index", 0}, {"item", {{"type", "reasoning"}, {"id", "rs"}, {"summary", json::array()}}}})
          .dump());
  EXPECT_NE(thinking.blocker().find("inside a reasoning item"), std::string::npos) << thinking.blocker();
  ResponsesResume refused = delivered_hello_wor();
  refused.delivered(
      ev("response.refusal.delta", 6, {{"item_id", "msg_A"}, {"output_index", 0}, {"delta", "No"}}).dump());
  EXPECT_NE(refused.blocker().find("refusal"), std::string::npos);
}

TEST(ResponsesResume, ARecoveryThatStartsWithAToolCallDiverges) {
  ResponsesResume r = delivered_hello_wor();
  r.restart();
  r.swallow(ev("response.output_item.added", 0, {{"output_index", 0}, {"item", {{"type", "function_call"}}}}).dump());
  EXPECT_TRUE(r.diverged());
  r.restart();  // the next recovery attempt starts clean
  EXPECT_FALSE(r.diverged());
}

TEST(ResponsesResume, HostileEventsNeverThrow) {
  ResponsesResume r = delivered_hello_wor();
  for (const char* bad :
       {"", "{", "[]", "null", "{\"type\":7}", "{\"type\":\"response.output_item.added\",\"output_index\":-1}",
        "{\"type\":\"response.output_item.added\",\"output_index\":99999999999,\"item\":{\"type\":\"message\"}}",
        "{\"type\":\"response.output_item.done\",\"output_index\":\"0\",\"item\":3}",
        "{\"type\":\"response.content_part.added\",\"output_index\":0,\"part\":\"x\"}",
        "{\"type\":\"response.output_text.delta\",\"output_index\":0,\"delta\":5}",
        "{\"type\":\"response.created\",\"response\":[1]}", "{\"sequence_number\":\"x\",\"type\":\"x\"}"}) {
    EXPECT_NO_THROW(r.delivered(bad)) << bad;
    EXPECT_NO_THROW(r.swallow(bad)) << bad;
  }
  r.restart();
  for (const char* bad : {"{\"type\":\"response.output_text.delta\",\"output_index\":-5,\"delta\":\"x\"}",
                          "{\"type\":\"response.output_text.delta\",\"output_index\":0,\"delta\":null}",
                          "{\"type\":\"response.content_part.done\",\"output_index\":0,\"part\":7}",
                          "{\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":\"x\"}",
                          "{\"type\":\"response.completed\",\"response\":{\"output\":\"x\"}}",
                          "{\"type\":\"response.completed\"}", "{\"type\":\"error\",\"message\":\"boom\"}", "nonsense"})
    EXPECT_NO_THROW(r.forward(bad, 3)) << bad;
}

}  // namespace
}  // namespace llmfailover
