// responses_resume.hpp (private) — one coherent Responses event stream across a stream recovery.
//
// A routed Responses stream that breaks after its first text delta is finished on another attempt
// (routed_stream.cpp, stream_recovery: continue). That attempt numbers its events, items and
// response differently, so the caller would see two streams glued together. This rewriter keeps
// the first attempt's numbering: it reads every event the caller was given, then turns the
// recovery attempt's events (after the delivered text is matched, as the chat path does) into
// events of the delivered stream:
//   - sequence_number continues from the last delivered one;
//   - the text deltas, output_text.done, content_part.done and output_item.done of the recovery's
//     message carry the delivered message's item_id, output_index and content_index, and their
//     text / part / item is the delivered prefix plus the rest;
//   - the recovery's response.created / in_progress, its output_item.added / content_part.added
//     for that message, and items before it (reasoning) are dropped: the caller has their
//     counterparts; items after it keep their ids with output_index shifted to follow the message;
//   - response.completed (or incomplete) carries the first attempt's response id and created_at,
//     and an output of the delivered items before the message, the message, and the rest.
// Event shapes: openai-python src/openai/types/responses/response_stream_event.py and the
// Responses streaming reference (https://platform.openai.com/docs/api-reference/responses-streaming).
//
// What cannot be continued (blocker() says why): a delivered function call or other tool item (its
// call id and arguments are the caller's already; another attempt cannot promise the same call),
// a refusal, a cut outside an open output_text part (inside a reasoning item, between items).
//
// Call order: delivered() for each event given to the caller; at the cut blocker(); then per
// recovery attempt restart(), swallow() for its events until the delivered text is matched,
// forward() for the rest. Pure (no I/O, no clock); one per call, under the call's lock.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace llmfailover {

class ResponsesResume {
 public:
  ResponsesResume() : parts_done_(nlohmann::json::array()) {}  // may allocate: not noexcept
  // An event the caller was given (the first attempt's). Malformed events are ignored.
  void delivered(std::string_view data);
  // The same, already parsed (StreamInspector::last_event): no second parse per event.
  void delivered_parsed(const nlohmann::json& ev);
  // "" when a recovery can continue the delivered stream; else what prevents it.
  std::string blocker() const;
  // A recovery attempt begins: forgets what an earlier recovery attempt showed.
  void restart();
  // An event of the recovery attempt before the delivered text is matched: nothing is forwarded,
  // but its message's output_index is learnt.
  void swallow(std::string_view data);
  // True when the recovery attempt showed something the delivered stream cannot take (a tool-call
  // item before its text): it differs from what was delivered.
  bool diverged() const noexcept { return diverged_; }
  // An event of the recovery attempt after the match: what the caller gets instead (zero or one
  // event). `strip`: bytes at the start of this event's text delta that the caller has already.
  std::vector<std::string> forward(std::string_view data, std::size_t strip);

 private:
  nlohmann::json rewrite_message_event(nlohmann::json ev, const std::string& type);
  std::string emit(nlohmann::json ev);

  // The delivered stream.
  long long next_seq_ = 0;
  nlohmann::json response_;            // from response.created / in_progress
  std::vector<nlohmann::json> items_;  // by output_index, as last shown
  std::optional<std::size_t> msg_;     // output_index of the open message item
  std::string msg_id_;
  bool part_open_ = false;
  std::string part_type_;
  long long part_index_ = 0;
  std::string part_text_;            // the open part's text: delivered, then with the rest
  nlohmann::json parts_done_;        // the message's closed content parts
  std::optional<std::size_t> open_;  // output_index of an open item that is not the message
  std::string blocker_;
  // The recovery attempt.
  std::optional<long long> cm_;  // its message's output_index
  bool diverged_ = false;
};

}  // namespace llmfailover
