#include "responses_resume.hpp"

#include <algorithm>

#include "llmfailover/json.hpp"  // parse_json: nlohmann with a nesting limit

namespace llmfailover {

namespace {

using nlohmann::json;

std::string str(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<long long> integer(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<long long>();
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

void ResponsesResume::delivered(std::string_view data) { delivered_parsed(parse_json(data)); }

void ResponsesResume::delivered_parsed(const json& ev) {
  if (!ev.is_object()) return;
  if (auto s = integer(ev, "sequence_number")) next_seq_ = *s + 1;
  else ++next_seq_;
  const std::string type = str(ev, "type");
  const auto oi = integer(ev, "output_index");
  const bool in_msg = oi && msg_ && static_cast<std::size_t>(*oi) == *msg_;
  if (type == "response.created" || type == "response.in_progress" || type == "response.queued") {
    if (auto r = ev.find("response"); r != ev.end() && r->is_object()) response_ = *r;
  } else if (type == "response.output_item.added" && oi && *oi >= 0 && *oi < (1 << 20)) {
    const json item = ev.value("item", json::object());
    const auto at = static_cast<std::size_t>(*oi);
    if (items_.size() <= at) items_.resize(at + 1);
    items_[at] = item;
    const std::string kind = item.is_object() ? str(item, "type") : "";
    if (kind == "message") {
      msg_ = at, msg_id_ = str(item, "id"), part_open_ = false, parts_done_ = json::array(), open_.reset();
    } else {
      open_ = at;
      if (kind != "reasoning" && blocker_.empty()) {
        const std::string call = str(item, "call_id");
        blocker_ = "a " + (kind.empty() ? std::string("tool") : kind) + " item" +
                   (call.empty() ? std::string() : " (" + call + ")") +
                   " was delivered, and another attempt cannot resume it";
      }
    }
  } else if (type == "response.content_part.added" && in_msg) {
    const json part = ev.value("part", json::object());
    part_open_ = true;
    part_type_ = part.is_object() ? str(part, "type") : "";
    part_index_ = integer(ev, "content_index").value_or(0);
    part_text_.clear();
  } else if (type == "response.output_text.delta" && in_msg) {
    part_text_ += str(ev, "delta");
  } else if (type == "response.refusal.delta" && blocker_.empty()) {
    blocker_ = "a refusal was delivered, and another attempt cannot resume it";
  } else if (type == "response.content_part.done" && in_msg) {
    parts_done_.push_back(ev.value("part", json::object()));
    part_open_ = false;
  } else if (type == "response.output_item.done" && oi && *oi >= 0 && static_cast<std::size_t>(*oi) < items_.size()) {
    items_[static_cast<std::size_t>(*oi)] = ev.value("item", json::object());
    if (in_msg) msg_.reset();
    if (open_ && *open_ == static_cast<std::size_t>(*oi)) open_.reset();
  }
}

std::string ResponsesResume::blocker() const {
  if (!blocker_.empty()) return blocker_;
  if (open_) return "the stream was cut inside a " + str(items_[*open_], "type") + " item, which cannot be resumed";
  if (!msg_ || !part_open_ || part_type_ != "output_text")
    return "the stream was cut outside an output text, which cannot be resumed";
  return {};
}

void ResponsesResume::restart() {
  cm_.reset();
  diverged_ = false;
}

void ResponsesResume::swallow(std::string_view data) {
  json ev = parse_json(data);
  if (!ev.is_object()) return;
  const std::string type = str(ev, "type");
  if (type == "response.output_text.delta" && !cm_) cm_ = integer(ev, "output_index").value_or(0);
  if (type == "response.output_item.added") {
    const json item = ev.value("item", json::object());
    const std::string kind = item.is_object() ? str(item, "type") : "";
    if (kind == "message" && !cm_) cm_ = integer(ev, "output_index").value_or(0);
    else if (kind != "message" && kind != "reasoning") diverged_ = true;
  }
  if (type == "response.refusal.delta" || type == "response.function_call_arguments.delta") diverged_ = true;
}

std::string ResponsesResume::emit(json ev) {
  ev["sequence_number"] = next_seq_++;
  return dump(ev);
}

json ResponsesResume::rewrite_message_event(json ev, const std::string& type) {
  ev["output_index"] = *msg_;
  if (ev.contains("item_id")) ev["item_id"] = msg_id_;
  if (ev.contains("content_index")) ev["content_index"] = part_index_;
  if (type == "response.output_text.done") ev["text"] = part_text_;
  if (type == "response.content_part.done") {
    json part = ev.value("part", json::object());
    if (!part.is_object()) part = json::object();
    part["type"] = "output_text";
    part["text"] = part_text_;
    if (!part.contains("annotations")) part["annotations"] = json::array();
    ev["part"] = part;
    parts_done_.push_back(part);
    part_open_ = false;
  }
  if (type == "response.output_item.done") {
    json item = items_[*msg_].is_object() ? items_[*msg_] : json::object();
    const json theirs = ev.value("item", json::object());
    item["id"] = msg_id_;
    item["type"] = "message";
    item["role"] = "assistant";
    if (theirs.is_object() && theirs.contains("status")) item["status"] = theirs["status"];
    json content = parts_done_;
    if (part_open_) content.push_back({{"type", "output_text"}, {"text", part_text_}, {"annotations", json::array()}});
    item["content"] = std::move(content);
    items_[*msg_] = item;
    ev["item"] = std::move(item);
  }
  return ev;
}

std::vector<std::string> ResponsesResume::forward(std::string_view data, std::size_t strip) {
  json ev = parse_json(data);
  if (!ev.is_object() || !msg_) return {std::string(data)};
  const std::string type = str(ev, "type");
  if (type == "response.created" || type == "response.in_progress" || type == "response.queued") return {};
  if (type == "response.completed" || type == "response.incomplete" || type == "response.failed") {
    json r = ev.value("response", json::object());
    if (!r.is_object()) r = json::object();
    for (const char* key : {"id", "created_at"})
      if (response_.is_object() && response_.contains(key)) r[key] = response_[key];
    json output = json::array();
    for (std::size_t i = 0; i < *msg_ && i < items_.size(); ++i) output.push_back(items_[i]);
    output.push_back(items_[*msg_]);
    if (auto theirs = r.find("output"); theirs != r.end() && theirs->is_array() && cm_)
      for (std::size_t i = static_cast<std::size_t>(*cm_) + 1; i < theirs->size(); ++i) output.push_back((*theirs)[i]);
    r["output"] = std::move(output);
    ev["response"] = std::move(r);
    return {emit(std::move(ev))};
  }
  const auto oi = integer(ev, "output_index");
  if (!oi) return {emit(std::move(ev))};  // error and other events that name no item
  if (!cm_) cm_ = *oi;                    // the match completed on this event: its message
  if (*oi < *cm_) return {};              // an item before the message (reasoning): the caller has its own
  if (*oi > *cm_) {
    ev["output_index"] = static_cast<long long>(*msg_) + (*oi - *cm_);
    return {emit(std::move(ev))};
  }
  if (type == "response.output_item.added" || type == "response.content_part.added") return {};
  if (type == "response.output_text.delta") {
    std::string piece = str(ev, "delta");
    piece.erase(0, std::min(strip, piece.size()));
    if (piece.empty()) return {};
    part_text_ += piece;
    ev["delta"] = std::move(piece);
  }
  return {emit(rewrite_message_event(std::move(ev), type))};
}

}  // namespace llmfailover
