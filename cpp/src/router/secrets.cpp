// secrets.cpp — SecretSet (llmfailover/secret_set.hpp).
#include "llmfailover/secret_set.hpp"

#include <algorithm>
#include <cctype>

#include "llmfailover/json.hpp"

namespace llmfailover {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A header or query parameter name under which credentials travel.
bool credential_name(std::string_view name) {
  const std::string n = lower(name);
  for (const char* word : {"key", "token", "secret", "auth", "signature", "password", "cookie"})
    if (n.find(word) != std::string::npos) return true;
  return false;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

std::string percent_decoded(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

// A character keys are made of ([A-Za-z0-9_-], and '.' inside a token: see token_char_at).
bool key_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }

// Whether text[i] continues a token: a key character, or a '.' between key characters (so "k."
// at the end of a sentence still ends at the 'k', while "k.example.com" is one token).
bool token_char_at(std::string_view text, std::size_t i, bool leftward) {
  if (i >= text.size()) return false;
  if (key_char(text[i])) return true;
  if (text[i] != '.') return false;
  if (leftward) return i > 0 && key_char(text[i - 1]);
  return i + 1 < text.size() && key_char(text[i + 1]);
}

// `value` at `at` is a whole token: no token character touches it on either side.
bool whole_token(std::string_view text, std::size_t at, std::size_t size) {
  const bool left = at > 0 && token_char_at(text, at - 1, true);
  return !left && !token_char_at(text, at + size, false);
}

}  // namespace

void SecretSet::add(std::string_view value) {
  if (value.empty()) return;
  if (std::find(values_.begin(), values_.end(), value) != values_.end()) return;
  values_.emplace_back(value);
}

void SecretSet::add(const SecretSet& other) {
  for (const auto& v : other.values_) add(v);
}

void SecretSet::add_from_request(const HttpRequest& request) {
  for (const auto& h : request.headers) {
    if (!credential_name(h.name)) continue;
    add(h.value);
    // "Bearer <token>", "Basic <credentials>": the token alone is what an echo may show.
    if (auto space = h.value.find(' '); space != std::string::npos) add(std::string_view(h.value).substr(space + 1));
  }
  const auto q = request.url.find('?');
  if (q == std::string::npos) return;
  std::string_view query = std::string_view(request.url).substr(q + 1);
  if (auto hash = query.find('#'); hash != std::string_view::npos) query = query.substr(0, hash);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos || !credential_name(percent_decoded(pair.substr(0, eq)))) continue;
    std::string_view value = pair.substr(eq + 1);
    add(value);  // as sent (percent-encoded), which is how an echoed URL shows it
    add(percent_decoded(value));
  }
}

std::string SecretSet::mask(std::string text, bool* short_masked) const {
  std::vector<const std::string*> order;
  for (const auto& v : values_) order.push_back(&v);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->size() > b->size(); });
  for (const std::string* v : order) {
    const bool anywhere = v->size() >= kMinSecret;
    for (auto at = text.find(*v); at != std::string::npos;) {
      if (anywhere || whole_token(text, at, v->size())) {
        if (!anywhere) *short_masked = true;
        text.replace(at, v->size(), kMask);
        at = text.find(*v, at + kMask.size());
      } else {
        at = text.find(*v, at + 1);
      }
    }
  }
  return text;
}

// Strings and member names through scrub_text; a number or literal spelled like a secret becomes
// the string kMask. Recursion is bounded by parse_json's depth limit.
void SecretSet::scrub_json(nlohmann::ordered_json& value) const {
  bool ignored = false;
  if (value.is_string()) {
    value = mask(value.get<std::string>(), &ignored);
  } else if (value.is_array()) {
    for (auto& v : value) scrub_json(v);
  } else if (value.is_object()) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (auto& [k, v] : value.items()) {
      scrub_json(v);
      out[mask(k, &ignored)] = std::move(v);
    }
    value = std::move(out);
  } else if (std::find(values_.begin(), values_.end(), value.dump()) != values_.end()) {
    value = std::string(kMask);
  }
}

std::string SecretSet::scrub_text(std::string text) const {
  bool ignored = false;
  return mask(std::move(text), &ignored);
}

std::string SecretSet::scrub(std::string text) const {
  if (values_.empty() || text.empty()) return text;
  bool short_masked = false;
  std::string out = mask(text, &short_masked);
  if (!short_masked) return out;
  // A short secret masked as a token of a JSON document (a key "null" or "0") can leave it invalid
  // JSON: scrub the parsed document instead, so an error body stays JSON (re-serialized compactly).
  if (!parse_json<nlohmann::ordered_json>(out).is_discarded()) return out;
  auto doc = parse_json<nlohmann::ordered_json>(text);
  if (doc.is_discarded()) return out;
  scrub_json(doc);
  return doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void SecretSet::scrub(Headers& headers) const {
  for (auto& h : headers) h.value = scrub(std::move(h.value));
}

}  // namespace llmfailover
