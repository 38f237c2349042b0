#include "llmfailover/transport/sse.hpp"

#include <charconv>

namespace llmfailover::transport {

bool SseParser::feed(std::string_view bytes) {
  if (!error_.empty()) return false;
  if (!bom_checked_) {
    // The BOM may itself arrive split; wait until three bytes (or a line end) are known.
    std::string head = partial_ + std::string(bytes.substr(0, 3));
    if (head.size() < 3 && head.find_first_of("\r\n") == std::string::npos) {
      partial_ += bytes;
      return true;
    }
    bom_checked_ = true;
    if (head.rfind("\xEF\xBB\xBF", 0) == 0) {
      std::size_t from_partial = std::min<std::size_t>(partial_.size(), 3);
      partial_.erase(0, from_partial);
      bytes.remove_prefix(3 - from_partial);
    }
  }
  std::size_t start = 0;
  if (skip_lf_ && !bytes.empty()) {
    if (bytes[0] == '\n') start = 1;
    skip_lf_ = false;
  }
  for (std::size_t i = start; i < bytes.size(); ++i) {
    char c = bytes[i];
    if (c != '\r' && c != '\n') continue;
    std::string_view piece = bytes.substr(start, i - start);
    if (partial_.size() + piece.size() > limits_.line_bytes) return fail("an SSE line exceeds the limit");
    if (partial_.empty()) {
      line(piece);
    } else {
      partial_ += piece;
      line(partial_);
      partial_.clear();
    }
    if (c == '\r') {
      if (i + 1 < bytes.size()) {
        if (bytes[i + 1] == '\n') ++i;
      } else {
        skip_lf_ = true;
      }
    }
    if (!error_.empty()) return false;
    start = i + 1;
  }
  if (partial_.size() + (bytes.size() - start) > limits_.line_bytes) return fail("an SSE line exceeds the limit");
  partial_.append(bytes.substr(start));
  return true;
}

bool SseParser::fail(std::string why) {
  error_ = std::move(why);
  partial_ = std::string();  // give the memory back at once
  current_ = SseEvent{};
  has_data_ = false;
  return false;
}

bool SseParser::finish() {
  if (!error_.empty()) return false;
  if (!partial_.empty()) {
    line(partial_);
    partial_.clear();
  }
  if (!error_.empty()) return false;
  bool flushed = has_data_;
  dispatch();
  return flushed;
}

void SseParser::line(std::string_view text) {
  if (text.empty()) {
    dispatch();
    return;
  }
  if (text[0] == ':') return;  // comment, e.g. OpenRouter's ": OPENROUTER PROCESSING"
  std::string_view field = text, value;
  if (auto colon = text.find(':'); colon != std::string_view::npos) {
    field = text.substr(0, colon);
    value = text.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (current_.data.size() + value.size() + 1 > limits_.event_bytes) {
      fail("an SSE event's data exceeds the limit");
      return;
    }
    if (has_data_) current_.data += '\n';
    current_.data += value;
    has_data_ = true;
  } else if (field == "event") {
    current_.event.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) current_.id.assign(value);
  } else if (field == "retry") {
    long ms = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
    if (ec == std::errc{} && end == value.data() + value.size()) retry_ms_ = ms;
  }
}

void SseParser::dispatch() {
  std::string keep_id = current_.id;  // the last event id persists across events
  if (has_data_) {
    ++dispatched_;
    on_event_(std::move(current_));
  }
  current_ = SseEvent{};
  current_.id = std::move(keep_id);
  has_data_ = false;
}

}  // namespace llmfailover::transport
