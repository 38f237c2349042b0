// dialect_text.cpp — how the dialects cut a reply (text or tool-call arguments) into stream pieces
// and count its tokens.
#include <algorithm>

#include "dialect.hpp"

namespace llmfailover::testing::detail {

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t next = text.find(' ', start + 1);
    if (next == std::string::npos) next = text.size();
    out.push_back(text.substr(start, next - start));  // keeps the leading space: chunks concatenate
    start = next;
  }
  if (out.empty()) out.emplace_back();
  return out;
}

int count_words(std::string_view text) {
  int n = 0;
  bool in_word = false;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

std::vector<std::string> split_arguments(std::string_view arguments) {
  constexpr std::size_t kPiece = 8;
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < arguments.size()) {
    std::size_t end = std::min(start + kPiece, arguments.size());
    // Back off to a code point's first byte (never past `start` + 1: a piece is never empty).
    while (end < arguments.size() && end > start + 1 && (static_cast<unsigned char>(arguments[end]) & 0xC0) == 0x80)
      --end;
    out.emplace_back(arguments.substr(start, end - start));
    start = end;
  }
  if (out.empty()) out.emplace_back();
  return out;
}

std::string percent_decode(std::string_view s, bool plus_is_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += plus_is_space && s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

int tool_call_tokens(const ToolCall& call) { return static_cast<int>(split_arguments(call.arguments).size()) + 1; }

}  // namespace llmfailover::testing::detail
