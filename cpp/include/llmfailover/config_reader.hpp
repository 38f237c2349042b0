// config_reader.hpp — typed, path-carrying reads of a config document: the config layer's reading
// API for parsers of config sections that live in layers above it (the cache's `cache` objects).
//
// A Node is a JSON value plus its path in the user's document; every typed read either returns a
// C++ value or throws ConfigError(path, "expected ..."). Messages never contain a string value
// from the document (it may be a secret), only paths, types, ranges and variable names.
//
// Call order: parse the text (parse_json<Json>), make a Reader (the environment references
// resolve through its EnvLookup) and a root Node("", reader); read with get/require/as_*.
//
// Thread safety: a Reader and its Nodes belong to one parse; the free functions are pure.
#pragma once

#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmfailover/config.hpp"
#include "llmfailover/state/redis.hpp"

namespace llmfailover::config_reader {

using Json = nlohmann::ordered_json;  // keeps document order: groups() and warnings follow the file

// `parent.key`, or `parent["a.b"]` when the key is not a plain identifier.
std::string key_path(const std::string& parent, std::string_view key);
std::string index_path(const std::string& parent, std::size_t index);
std::string json_type_name(const Json& j);

// Warnings, each listed once: a dedupe key (e.g. `model_list[*].litellm_params.seed`) folds the
// same finding in many entries into the first one's path plus a count.
class Warnings {
 public:
  void add(const std::string& path, const std::string& message, const std::string& dedupe = {});
  std::vector<std::string> take() const;

 private:
  struct Entry {
    std::string path, message;
    int more = 0;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::size_t> seen_;
};

struct Reader {
  EnvLookup env;
  Warnings warnings;
};

// `os.environ/NAME` (whole value) or `${NAME}` (anywhere; `$${` is a literal `${`), via env.
std::string resolve_env(const std::string& raw, const std::string& path, const EnvLookup& env);

// Durations: a number of seconds, or a string of <number><unit> parts: "500ms", "30s", "2m", "1h30m".
std::optional<Millis> parse_duration_text(std::string_view text);
std::string format_duration(Millis d);  // "30s", "500ms", "2m"

class Node {
 public:
  Node(const Json& json, std::string path, Reader& reader) : json_(&json), path_(std::move(path)), r_(&reader) {}

  const std::string& path() const noexcept { return path_; }
  const Json& json() const noexcept { return *json_; }
  Reader& reader() const noexcept { return *r_; }
  [[noreturn]] void fail(const std::string& message) const;

  // Objects and lists. A key whose value is null counts as absent (YAML `key:` with no value).
  const Node& expect_object() const;
  std::optional<Node> get(std::string_view key) const;
  Node require(std::string_view key) const;                   // error when absent
  std::vector<Node> items() const;                            // a list's elements, each with its [i] path
  std::vector<std::pair<std::string, Node>> members() const;  // an object's (key, value) pairs

  // Warn about keys outside `used` (unknown) and name `ignored` ones ("*": all others) as known but not used.
  // `dedupe` is the path pattern used to list a key once, e.g. "model_list[*].litellm_params".
  void check_keys(std::initializer_list<std::string_view> used, std::initializer_list<std::string_view> ignored = {},
                  const std::string& dedupe = {}, std::string_view ignored_why = {}) const;

  // Scalars. Strings have environment references resolved; numbers may be given as a reference too.
  // as_string refuses CR, LF and NUL (after resolving): its values may reach a header, a URL or a
  // path, where they would split the request (RFC 9110 section 5.5). as_text allows them, for
  // values only ever sent inside a JSON body or read as a document (answers, prompts, credentials).
  std::string as_string() const;
  std::string as_text() const;
  std::string as_nonempty_string() const;
  std::string as_name()
      const;  // a group, provider or strategy name: non-empty, no environment references, no CR/LF/NUL
  double as_number(double min, double max) const;
  int as_int(int min, int max) const;
  bool as_bool() const;
  Millis as_duration(Millis min = Millis{0}) const;
  std::string as_enum(std::initializer_list<std::string_view> allowed) const;
  std::vector<std::string> as_string_list(bool allow_single = false) const;

  // Fails at this node when `s` has a CR, LF or NUL (for names that are keys, not values).
  void check_single_line(std::string_view s) const;

 private:
  std::optional<double> number_value() const;
  const Json* json_;
  std::string path_;
  Reader* r_;
};

// `ca_file` and `tls_skip_verify` of an object with a Redis `url` (state.redis, cache) into `tls`;
// only with a rediss:// url, and the CA file must be readable.
void parse_redis_tls(const Node& node, const std::string& url, state::RedisTls& tls);

}  // namespace llmfailover::config_reader
