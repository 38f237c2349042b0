// json.hpp — the one way llmfailover parses JSON it did not write itself (upstream answers, stream
// events, request bodies, configs): nlohmann's parser behind a nesting limit.
//
// Why a limit: nlohmann parses iteratively, but copying, comparing and dumping a value recurse once
// per level, so an answer nested ~70k levels deep (a tool call's `input`, a functionCall's `args`)
// overflows the io thread's stack. RFC 8259 section 9 lets a parser "set limits on the maximum depth
// of nesting"; real answers and configs need a handful of levels, tool arguments rarely more than
// 20, so the default of 256 refuses nothing useful and keeps every recursion far inside any thread's
// stack (a level costs nlohmann's dump or copy on the order of 100 bytes).
//
// parse_json first counts bracket depth outside strings (one linear pass, no allocation) and only
// then builds the value, so a hostile document costs O(size) time and never a deep value.
//
// Thread safety: parse_json is reentrant; max_json_depth / set_max_json_depth are atomic (a new
// limit applies to parses that start after it is set).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace llmfailover {

inline constexpr std::size_t kDefaultMaxJsonDepth = 256;

// The process-wide limit parse_json uses by default (kDefaultMaxJsonDepth until set).
std::size_t max_json_depth() noexcept;
// Throws std::invalid_argument unless 1 <= depth <= 10000 (deeper values would again risk the stack).
void set_max_json_depth(std::size_t depth);

struct JsonError {
  enum class Kind { syntax, too_deep };
  Kind kind = Kind::syntax;
  std::size_t byte = 0;   // offset in the text: where parsing failed, or the bracket one level too deep
  std::size_t limit = 0;  // the depth limit in force
  // "not valid JSON" / "nested deeper than 256 levels"; never quotes the text (it may hold a secret).
  std::string message() const;
};

// The offset of the first `[` or `{` outside a string that opens level `limit + 1`; nullopt when
// the text never nests deeper than `limit`. Exact for valid JSON; for invalid JSON it is exact up
// to the first error, which is all the parser ever builds.
std::optional<std::size_t> find_too_deep(std::string_view text, std::size_t limit) noexcept;

// The value in `text`, or a discarded value (is_discarded()) when it is not valid JSON or nests
// deeper than `max_depth`; `error`, when given, says which and where. Never throws.
// Instantiated for nlohmann::json and nlohmann::ordered_json.
template <class Json = nlohmann::json>
Json parse_json(std::string_view text, JsonError* error = nullptr, std::size_t max_depth = max_json_depth());

extern template nlohmann::json parse_json<nlohmann::json>(std::string_view, JsonError*, std::size_t);
extern template nlohmann::ordered_json parse_json<nlohmann::ordered_json>(std::string_view, JsonError*, std::size_t);

}  // namespace llmfailover
