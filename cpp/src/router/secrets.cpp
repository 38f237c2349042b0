// secrets.cpp — SecretSet (secrets.hpp).
#include "secrets.hpp"

#include <algorithm>
#include <cctype>

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

}  // namespace

void SecretSet::add(std::string_view value) {
  if (value.size() < kMinSecret) return;
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

std::string SecretSet::scrub(std::string text) const {
  if (values_.empty() || text.empty()) return text;
  std::vector<const std::string*> order;
  for (const auto& v : values_) order.push_back(&v);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->size() > b->size(); });
  for (const std::string* v : order) {
    for (auto at = text.find(*v); at != std::string::npos; at = text.find(*v, at + kMask.size()))
      text.replace(at, v->size(), kMask);
  }
  return text;
}

void SecretSet::scrub(Headers& headers) const {
  for (auto& h : headers) h.value = scrub(std::move(h.value));
}

}  // namespace llmfailover
