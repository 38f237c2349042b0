// secret_set.hpp — credentials scrubbed from the upstream text a routed call keeps, and the one
// masking rule llmfailover has: the Python client masks its own key through it too
// (_core.scrub_text, bound in cpp/bindings/bind_secrets.cpp; errors.py keeps a pure-Python copy
// for a source tree without the built module, tested to agree).
//
// An upstream may echo what it was sent (a debugging proxy, a gateway's error page, a hostile
// server): a key inside an error body would reach the caller's str(e) and e.body, the route log
// and the callbacks. The plain client scrubs its own key in Python (errors.py _scrub); a routed
// call sends a different credential on every attempt, so the router scrubs in C++, once, where
// it records upstream text (routed_call.cpp: fail(), interrupted(), cannot_take()).
//
// What counts as a secret of an attempt: the target's configured key; every value of a header
// that carries credentials (Authorization and its scheme-less token, x-api-key, api-key,
// x-goog-api-key, X-Amz-Security-Token, any name with "key", "token", "secret" or "auth") as
// sent, so a Vertex/OAuth access token and a caller's extra header are covered; query values
// under such names (?key=) as given and percent-encoded; and the router-wide ones (AWS secret
// access key and session token from the environment when a Bedrock target exists).
// Where a secret is masked (scrub_text):
// - kMinSecret characters or more: everywhere, inside longer tokens too ("xsk-...", a URL's
//   "?key=sk-...&", "Bearer sk-..."): a string that long is no ordinary word, and an echo may
//   glue it to other characters.
// - shorter (a local server's "k", "none", "EMPTY", "dummy"): only where it stands as a whole
//   token, i.e. no key character ([A-Za-z0-9_-], or a '.' between two of them) touches it on
//   either side. "Bearer k", "key=k&", "'k'" and "k." are masked; "handshake" and
//   "k.example.com" are left readable. A short key inside a longer token is not masked: that
//   token is not the key, and masking every "k" would garble every message without hiding more.
// A short key spelled like a JSON number or literal (a key "null") would leave a JSON error body
// invalid; such a body is scrubbed as a document instead (strings and names by the rule above,
// a value spelled like a key becomes the string "***"), so it stays JSON.
//
// Cost: O(secrets x text) per scrub, only when an attempt fails. Thread safety: a value.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "llmfailover/http.hpp"

namespace llmfailover {

class SecretSet {
 public:
  static constexpr std::size_t kMinSecret = 8;
  static constexpr std::string_view kMask = "***";

  void add(std::string_view value);
  void add(const SecretSet& other);
  // The credentials `request` carries in its headers and its URL's query.
  void add_from_request(const HttpRequest& request);
  void clear() noexcept { values_.clear(); }
  bool empty() const noexcept { return values_.empty(); }

  // `text` with every secret replaced by kMask where the rule above says so (longest first, so a token inside a header
  // value that is itself a secret leaves no tail behind); a JSON document stays JSON (above).
  std::string scrub(std::string text) const;
  void scrub(Headers& headers) const;
  // The rule alone, on any text (no JSON fallback): what the Python client's errors.py applies to
  // each string it shows.
  std::string scrub_text(std::string text) const;

 private:
  std::string mask(std::string text, bool* short_masked) const;
  void scrub_json(nlohmann::ordered_json& value) const;

  std::vector<std::string> values_;
};

}  // namespace llmfailover
