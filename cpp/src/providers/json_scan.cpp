// json_scan.cpp — one-pass validating scans of requests and answers (json_scan.hpp).
//
// The grammar is RFC 8259's; strings are checked as nlohmann's lexer checks them (control
// characters refused, escapes of section 7, \u surrogates paired, raw bytes well-formed UTF-8 per
// RFC 3629 section 4), so a text this accepts is one parse_json accepts, and the reverse.
#include "llmfailover/json_scan.hpp"

#include <array>
#include <charconv>
#include <nlohmann/json.hpp>
#include <string>

namespace llmfailover {

namespace {

constexpr std::size_t kOwnDepth = 512;  // the scan recurses once per level: bound its stack

// The keys of one object seen so far; a repeated one (or more than N) makes the scan unsure.
template <std::size_t N>
class Keys {
 public:
  bool add(std::string_view k) {
    for (std::size_t i = 0; i < n_; ++i)
      if (seen_[i] == k) return false;
    if (n_ == N) return false;  // an object this wide is not the hot path
    seen_[n_++] = k;
    return true;
  }

 private:
  std::array<std::string_view, N> seen_{};
  std::size_t n_ = 0;
};

class Scanner {
 public:
  Scanner(std::string_view text, std::size_t max_depth)
      : b_(text.data()), p_(text.data()), e_(text.data() + text.size()), limit_(std::min(max_depth, kOwnDepth)) {}

  std::size_t offset() const { return static_cast<std::size_t>(p_ - b_); }
  bool at_end() {
    ws();
    return p_ == e_;
  }
  void ws() {
    while (p_ < e_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool peek(char c) {
    ws();
    return p_ < e_ && *p_ == c;
  }

  // A string at the cursor. `decoded`: its UTF-8 bytes once unescaped; `escaped`: it held a `\`;
  // `out`: gets the unescaped string appended (as nlohmann's lexer decodes it).
  bool string(std::size_t* decoded, bool* escaped, std::string* out = nullptr) {
    if (p_ == e_ || *p_ != '"') return false;
    ++p_;
    std::size_t n = 0;
    bool esc = false;
    const char* run = p_;  // the raw bytes not yet appended to `out`
    while (p_ < e_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        if (out) out->append(run, static_cast<std::size_t>(p_ - run));
        ++p_;
        if (decoded) *decoded = n;
        if (escaped) *escaped = esc;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (out) out->append(run, static_cast<std::size_t>(p_ - run));
        esc = true;
        if (++p_ == e_) return false;
        const char x = *p_++;
        if (x == 'u') {
          unsigned cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // a high surrogate: a low one must follow
            unsigned lo = 0;
            if (e_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
            p_ += 2;
            if (!hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return false;
          }
          n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
          if (out) append_utf8(*out, cp);
        } else if (const char d = unescape(x)) {
          ++n;
          if (out) out->push_back(d);
        } else {
          return false;
        }
        run = p_;
        continue;
      }
      if (c < 0x80) {
        ++p_, ++n;
        continue;
      }
      const std::size_t len = utf8(reinterpret_cast<const unsigned char*>(p_));
      if (!len) return false;
      p_ += len, n += len;
    }
    return false;
  }

  // A number at the cursor; `integer`: no fraction and no exponent.
  bool number(bool* integer) {
    const char* s = p_;
    if (p_ < e_ && *p_ == '-') ++p_;
    if (p_ == e_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ < e_ && digit(*p_)) ++p_;
    } else {
      return false;
    }
    bool whole = true;
    if (p_ < e_ && *p_ == '.') {
      whole = false;
      if (++p_ == e_ || !digit(*p_)) return false;
      while (p_ < e_ && digit(*p_)) ++p_;
    }
    if (p_ < e_ && (*p_ == 'e' || *p_ == 'E')) {
      whole = false;
      ++p_;
      if (p_ < e_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == e_ || !digit(*p_)) return false;
      while (p_ < e_ && digit(*p_)) ++p_;
    }
    if (integer) *integer = whole;
    return p_ > s;
  }

  // Any value at the cursor (after white space). With `count`, adds the unescaped bytes of every
  // string in it, skipping the values of the keys "role" and "type" (routed_call.cpp's text_chars).
  bool value(std::size_t depth, std::size_t* count) {
    ws();
    if (p_ == e_) return false;
    switch (*p_) {
      case '{': {
        if (!count) return object(depth, [&](std::string_view) { return value(depth + 1, nullptr); });
        // Counted: a repeated key would count twice where nlohmann keeps one value.
        Keys<16> keys;
        return object(depth, [&](std::string_view key) {
          if (!keys.add(key)) return false;
          return value(depth + 1, key != "role" && key != "type" ? count : nullptr);
        });
      }
      case '[': return array(depth, [&] { return value(depth + 1, count); });
      case '"': {
        std::size_t n = 0;
        if (!string(&n, nullptr)) return false;
        if (count) *count += n;
        return true;
      }
      case 't': return word("true");
      case 'f': return word("false");
      case 'n': return word("null");
      default: return number(nullptr);
    }
  }

  // An object at the cursor (after white space), at nesting level depth + 1; `member(key)` reads
  // each member's value. Keys with escapes are unsure (false).
  template <class F>
  bool object(std::size_t depth, F&& member) {
    if (depth + 1 > limit_) return false;
    ++p_;  // '{'
    if (peek('}')) {
      ++p_;
      return true;
    }
    while (true) {
      ws();
      const char* k = p_ + 1;
      bool escaped = false;
      if (!string(nullptr, &escaped) || escaped) return false;
      const std::string_view key(k, static_cast<std::size_t>(p_ - 1 - k));
      if (!peek(':')) return false;
      ++p_;
      if (!member(key)) return false;
      ws();
      if (p_ == e_) return false;
      if (*p_ == '}') {
        ++p_;
        return true;
      }
      if (*p_++ != ',') return false;
    }
  }

  template <class F>
  bool array(std::size_t depth, F&& element) {
    if (depth + 1 > limit_) return false;
    ++p_;  // '['
    if (peek(']')) {
      ++p_;
      return true;
    }
    while (true) {
      if (!element()) return false;
      ws();
      if (p_ == e_) return false;
      if (*p_ == ']') {
        ++p_;
        return true;
      }
      if (*p_++ != ',') return false;
    }
  }

  bool word(std::string_view w) {
    if (static_cast<std::size_t>(e_ - p_) < w.size() || std::string_view(p_, w.size()) != w) return false;
    p_ += w.size();
    return true;
  }

  // An integer value at the cursor into `out` (nullopt for another type); false when unsure.
  // `depth` as value()'s: the nesting level of the member.
  bool integer(std::optional<std::int64_t>& out, std::size_t depth = 1) {
    ws();
    const char* s = p_;
    if (p_ < e_ && (*p_ == '-' || digit(*p_))) {
      bool whole = false;
      if (!number(&whole)) return false;
      if (!whole) return out.reset(), true;
      std::int64_t v = 0;
      auto [end, ec] = std::from_chars(s, p_, v);
      if (ec != std::errc() || end != p_) return false;  // beyond int64: nlohmann keeps it otherwise
      out = v;
      return true;
    }
    out.reset();
    return value(depth, nullptr);
  }

  const char* b_;
  const char* p_;
  const char* e_;
  std::size_t limit_;

  // A value at the cursor (after white space) into `nonempty`: false for null, "", [] and {}, true
  // for anything else (stream_inspect.cpp's non_empty).
  bool nonempty_value(std::size_t depth, bool& nonempty) {
    ws();
    if (p_ == e_) return false;
    if (*p_ == 'n') {
      nonempty = false;
      return word("null");
    }
    if (*p_ == '"') {
      std::size_t n = 0;
      if (!string(&n, nullptr)) return false;
      nonempty = n > 0;
      return true;
    }
    if (*p_ == '[' || *p_ == '{') {
      const char close = *p_ == '[' ? ']' : '}';
      const char* q = p_ + 1;
      while (q < e_ && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t')) ++q;
      nonempty = q < e_ && *q != close;
    } else {
      nonempty = true;
    }
    return value(depth, nullptr);
  }

 private:
  static bool digit(char c) { return c >= '0' && c <= '9'; }
  // The character an escape `\x` stands for (RFC 8259 section 7), 0 for none (`u` is separate).
  static char unescape(char x) {
    switch (x) {
      case '"': return '"';
      case '\\': return '\\';
      case '/': return '/';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      default: return 0;
    }
  }
  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  bool hex4(unsigned& cp) {
    if (e_ - p_ < 4) return false;
    for (int i = 0; i < 4; ++i) {
      const char h = *p_++;
      cp <<= 4;
      if (h >= '0' && h <= '9') cp |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f') cp |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') cp |= static_cast<unsigned>(h - 'A' + 10);
      else return false;
    }
    return true;
  }
  // The length of the well-formed UTF-8 sequence at s (RFC 3629 section 4), 0 when ill-formed.
  std::size_t utf8(const unsigned char* s) const {
    const auto left = static_cast<std::size_t>(reinterpret_cast<const unsigned char*>(e_) - s);
    auto in = [&](std::size_t i, unsigned lo, unsigned hi) { return i < left && s[i] >= lo && s[i] <= hi; };
    const unsigned c = s[0];
    if (c >= 0xC2 && c <= 0xDF) return in(1, 0x80, 0xBF) ? 2 : 0;
    if (c == 0xE0) return in(1, 0xA0, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
    if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
    if (c == 0xED) return in(1, 0x80, 0x9F) && in(2, 0x80, 0xBF) ? 3 : 0;
    if (c == 0xF0) return in(1, 0x90, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
    if (c >= 0xF1 && c <= 0xF3) return in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
    if (c == 0xF4) return in(1, 0x80, 0x8F) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
    return 0;
  }
};

}  // namespace

std::optional<RequestScan> scan_request(std::string_view body, std::size_t max_depth) {
  Scanner s(body, max_depth);
  RequestScan out;
  if (!s.peek('{')) return std::nullopt;
  out.open = s.offset();
  Keys<64> keys;
  const bool ok = s.object(0, [&](std::string_view key) {
    if (!keys.add(key)) return false;
    out.empty = false;
    if (key == "model") {
      s.ws();
      out.model.begin = s.offset();
      const char* v = s.p_ + 1;
      if (s.p_ < s.e_ && *s.p_ == '"') {
        bool escaped = false;
        if (!s.string(nullptr, &escaped)) return false;
        if (!escaped) out.model_text = std::string_view(v, static_cast<std::size_t>(s.p_ - 1 - v));
      } else if (!s.value(1, nullptr)) {
        return false;
      }
      out.model.end = s.offset();
      return true;
    }
    if (key == "stream") {
      s.ws();
      if (s.word("true")) out.stream = RequestScan::Flag::is_true;
      else if (s.word("false")) out.stream = RequestScan::Flag::is_false;
      else out.stream = RequestScan::Flag::other;
      return out.stream != RequestScan::Flag::other || s.value(1, nullptr);
    }
    if (key == "stream_options") {
      if (!s.peek('{')) return s.value(1, nullptr);
      Keys<16> inner;
      return s.object(1, [&](std::string_view k) {
        if (!inner.add(k)) return false;
        if (k != "include_usage") return s.value(2, nullptr);
        s.ws();
        out.include_usage = s.word("true");
        return out.include_usage || s.value(2, nullptr);
      });
    }
    if (key == "messages" || key == "input") return s.value(1, &out.text_chars);
    if (key == "max_completion_tokens") return s.integer(out.max_completion_tokens);
    if (key == "max_tokens") return s.integer(out.max_tokens);
    if (key == "max_output_tokens") return s.integer(out.max_output_tokens);
    return s.value(1, nullptr);
  });
  if (!ok || !s.at_end()) return std::nullopt;
  return out;
}

std::optional<AnswerScan> scan_answer(std::string_view body, std::size_t max_depth) {
  Scanner s(body, max_depth);
  AnswerScan out;
  if (!s.peek('{')) return std::nullopt;
  Keys<64> keys;
  const bool ok = s.object(0, [&](std::string_view key) {
    if (!keys.add(key)) return false;
    if (key == "usage") {
      s.ws();
      out.usage.begin = s.offset();
      if (!s.value(1, nullptr)) return false;
      out.usage.end = s.offset();
      return true;
    }
    if (key == "error") out.error = true;
    if (key == "object" && s.peek('"')) {
      std::size_t n = 0;
      if (!s.string(&n, nullptr)) return false;
      out.object_empty = n == 0;
      return true;
    }
    if (key != "choices" || !s.peek('[')) return s.value(1, nullptr);
    out.choices_array = true;
    return s.array(1, [&] {
      if (!s.peek('{')) return s.value(2, nullptr);
      bool seen = false;
      return s.object(2, [&](std::string_view k) {
        if (k != "finish_reason") return s.value(3, nullptr);
        if (seen) return false;  // which one nlohmann keeps is not ours to guess
        seen = true;
        if (!s.peek('"')) return s.value(3, nullptr);
        const char* v = s.p_ + 1;
        bool escaped = false;
        if (!s.string(nullptr, &escaped) || escaped) return false;
        out.finish_reasons.emplace_back(v, static_cast<std::size_t>(s.p_ - 1 - v));
        return true;
      });
    });
  });
  if (!ok || !s.at_end()) return std::nullopt;
  return out;
}

namespace {

// One choice object of a chunk (the cursor at its `{`, nesting level 3), into `out`.
bool scan_choice(Scanner& s, ChunkScan& out) {
  Keys<16> keys;
  std::int64_t index = 0;  // stream_inspect.cpp's choice_index: 0 when absent, -1 when no integer
  const std::size_t mark = out.text.size();
  const bool ok = s.object(2, [&](std::string_view key) {
    if (!keys.add(key)) return false;
    if (key == "finish_reason") {
      bool nonempty = false;
      if (!s.nonempty_value(3, nonempty)) return false;
      out.finished = out.finished || nonempty;
      return true;
    }
    if (key == "index") {
      std::optional<std::int64_t> v;
      if (!s.integer(v, 3)) return false;
      index = v.value_or(-1);
      return true;
    }
    if (key == "text") {  // a legacy /completions chunk
      if (!s.peek('"')) return s.value(3, nullptr);
      std::size_t n = 0;
      if (!s.string(&n, nullptr)) return false;
      out.content_chars += n;
      out.content = out.content || n > 0;
      return true;
    }
    if (key != "delta" || !s.peek('{')) return s.value(3, nullptr);
    Keys<16> delta;
    return s.object(3, [&](std::string_view k) {
      if (!delta.add(k)) return false;
      if (k == "content" && s.peek('"')) {
        std::size_t n = 0;
        if (!s.string(&n, nullptr, &out.text)) return false;
        out.content_chars += n;
        out.content = out.content || n > 0;
        return true;
      }
      if (k == "tool_calls" && s.peek('[')) {
        bool any = false;
        const bool read = s.array(4, [&] {
          any = true;
          if (!s.peek('{')) return s.value(5, nullptr);
          Keys<16> call;
          return s.object(5, [&](std::string_view ck) {
            if (!call.add(ck)) return false;
            if (ck != "function" || !s.peek('{')) return s.value(6, nullptr);
            Keys<16> fn;
            return s.object(6, [&](std::string_view fk) {
              if (!fn.add(fk)) return false;
              if (fk != "arguments" || !s.peek('"')) return s.value(7, nullptr);
              std::size_t n = 0;
              if (!s.string(&n, nullptr)) return false;
              out.tool_chars += n;
              return true;
            });
          });
        });
        out.content = out.content || any;
        return read;
      }
      if (k == "content" || k == "tool_calls" || k == "refusal" || k == "function_call") {
        bool nonempty = false;
        if (!s.nonempty_value(4, nonempty)) return false;
        out.content = out.content || nonempty;
        return true;
      }
      return s.value(4, nullptr);
    });
  });
  if (index != 0) out.text.resize(mark);  // only choice 0's text is kept
  return ok;
}

}  // namespace

std::optional<ChunkScan> scan_chunk(std::string_view data, std::size_t max_depth) {
  Scanner s(data, max_depth);
  ChunkScan out;
  if (!s.peek('{')) return std::nullopt;
  Keys<64> keys;
  const bool ok = s.object(0, [&](std::string_view key) {
    if (!keys.add(key)) return false;
    if (key == "error") {  // null is no error; anything else the full parse classifies
      s.ws();
      return s.word("null");
    }
    if (key == "usage") {
      s.ws();
      out.usage.begin = s.offset();
      if (!s.value(1, nullptr)) return false;
      out.usage.end = s.offset();
      return true;
    }
    if (key != "choices" || !s.peek('[')) return s.value(1, nullptr);
    return s.array(1, [&] {
      if (!s.peek('{')) return s.value(2, nullptr);
      return scan_choice(s, out);
    });
  });
  if (!ok || !s.at_end()) return std::nullopt;
  return out;
}

std::string with_model(std::string_view body, const RequestScan& scan, std::string_view model) {
  const std::string value = nlohmann::json(std::string(model)).dump();  // throws on invalid UTF-8
  std::string out;
  if (scan.model.found()) {
    out.reserve(body.size() - (scan.model.end - scan.model.begin) + value.size());
    out.append(body.substr(0, scan.model.begin)).append(value).append(body.substr(scan.model.end));
    return out;
  }
  out.reserve(body.size() + value.size() + 10);
  out.append(body.substr(0, scan.open + 1)).append("\"model\":").append(value);
  if (!scan.empty) out += ',';
  out.append(body.substr(scan.open + 1));
  return out;
}

}  // namespace llmfailover
