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

}  // namespace llmfailover::testing::detail
