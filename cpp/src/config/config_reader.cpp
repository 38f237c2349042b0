// config_reader.cpp — typed, path-carrying reads of a JSON document (llmfailover/config_reader.hpp).
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include "llmfailover/config_reader.hpp"

namespace llmfailover::config_reader {

namespace {

bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; });
}

bool is_env_name(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

std::string lookup(const std::string& name, const std::string& path, const EnvLookup& env) {
  if (!is_env_name(name)) throw ConfigError(path, "malformed environment reference: expected a variable name");
  auto value = env ? env(name) : std::nullopt;
  if (!value) throw ConfigError(path, "environment variable " + name + " is not set");
  return *value;
}

std::string format_number(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  auto s = std::to_string(v);
  s.erase(s.find_last_not_of('0') + 1);
  return s;
}

std::string range_text(double min, double max) {
  if (max >= 1e300) return ">= " + format_number(min);
  return "in [" + format_number(min) + ", " + format_number(max) + "]";
}

}  // namespace

std::string key_path(const std::string& parent, std::string_view key) {
  std::string quoted;
  if (!is_identifier(key)) {
    quoted = "[\"";
    for (char c : key) quoted += (c == '"' || c == '\\') ? std::string{'\\', c} : std::string{c};
    quoted += "\"]";
    return parent + quoted;
  }
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string index_path(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

std::string json_type_name(const Json& j) {
  switch (j.type()) {
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "a list";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::null: return "null";
    default: return "a number";
  }
}

void Warnings::add(const std::string& path, const std::string& message, const std::string& dedupe) {
  if (!dedupe.empty()) {
    if (auto it = seen_.find(dedupe); it != seen_.end()) {
      ++entries_[it->second].more;
      return;
    }
    seen_.emplace(dedupe, entries_.size());
  }
  entries_.push_back({path, message, 0});
}

std::vector<std::string> Warnings::take() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) {
    auto line = e.path + ": " + e.message;
    if (e.more > 0) line += " (also in " + std::to_string(e.more) + " more " + (e.more == 1 ? "entry)" : "entries)");
    out.push_back(std::move(line));
  }
  return out;
}

std::string resolve_env(const std::string& raw, const std::string& path, const EnvLookup& env) {
  static constexpr std::string_view kLiteLlm = "os.environ/";
  if (raw.starts_with(kLiteLlm)) return lookup(raw.substr(kLiteLlm.size()), path, env);
  if (raw.find("${") == std::string::npos) return raw;
  std::string out;
  for (std::size_t i = 0; i < raw.size();) {
    if (raw.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
    } else if (raw.compare(i, 2, "${") == 0) {
      auto end = raw.find('}', i + 2);
      if (end == std::string::npos) throw ConfigError(path, "malformed environment reference: '${' without '}'");
      out += lookup(raw.substr(i + 2, end - i - 2), path, env);
      i = end + 1;
    } else {
      out += raw[i++];
    }
  }
  return out;
}

std::optional<Millis> parse_duration_text(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  double total_ms = 0;
  bool bare_number_allowed = true;
  while (!text.empty()) {
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end == text.data() || !std::isfinite(value) || value < 0) return std::nullopt;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    std::size_t unit_len = 0;
    while (unit_len < text.size() && std::isalpha(static_cast<unsigned char>(text[unit_len]))) ++unit_len;
    auto unit = text.substr(0, unit_len);
    text.remove_prefix(unit_len);
    double scale = 0;
    if (unit == "s" || (unit.empty() && bare_number_allowed && text.empty())) scale = 1000;  // "30" = seconds
    else if (unit == "ms") scale = 1;
    else if (unit == "m") scale = 60'000;
    else if (unit == "h") scale = 3'600'000;
    else return std::nullopt;
    bare_number_allowed = false;
    total_ms += value * scale;
  }
  if (total_ms > 1e12) return std::nullopt;
  return Millis{static_cast<Millis::rep>(std::llround(total_ms))};
}

std::string format_duration(Millis d) {
  auto ms = d.count();
  if (ms == 0) return "0s";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

void Node::fail(const std::string& message) const { throw ConfigError(path_, message); }

const Node& Node::expect_object() const {
  if (!json_->is_object()) fail("expected an object, got " + json_type_name(*json_));
  return *this;
}

std::optional<Node> Node::get(std::string_view key) const {
  expect_object();
  auto it = json_->find(key);
  if (it == json_->end() || it->is_null()) return std::nullopt;
  return Node(*it, key_path(path_, key), *r_);
}

Node Node::require(std::string_view key) const {
  auto n = get(key);
  if (!n) throw ConfigError(key_path(path_, key), "required");
  return *n;
}

std::vector<Node> Node::items() const {
  if (!json_->is_array()) fail("expected a list, got " + json_type_name(*json_));
  std::vector<Node> out;
  for (std::size_t i = 0; i < json_->size(); ++i) out.emplace_back((*json_)[i], index_path(path_, i), *r_);
  return out;
}

std::vector<std::pair<std::string, Node>> Node::members() const {
  expect_object();
  std::vector<std::pair<std::string, Node>> out;
  for (auto it = json_->begin(); it != json_->end(); ++it)
    out.emplace_back(it.key(), Node(it.value(), key_path(path_, it.key()), *r_));
  return out;
}

void Node::check_keys(std::initializer_list<std::string_view> used, std::initializer_list<std::string_view> ignored,
                      const std::string& dedupe, std::string_view ignored_why) const {
  expect_object();
  auto contains = [](auto list, std::string_view k) { return std::find(list.begin(), list.end(), k) != list.end(); };
  for (auto it = json_->begin(); it != json_->end(); ++it) {
    const auto& key = it.key();
    if (contains(used, key)) continue;
    auto path = key_path(path_, key);
    auto folded = dedupe.empty() ? std::string{} : key_path(dedupe, key);
    if (contains(ignored, key) || contains(ignored, "*"))
      r_->warnings.add(path,
                       ignored_why.empty() ? "ignored (known setting, not used by llmfailover)"
                                           : "ignored (" + std::string(ignored_why) + ")",
                       folded);
    else r_->warnings.add(path, "unknown key, ignored", folded);
  }
}

std::string Node::as_text() const {
  if (!json_->is_string()) fail("expected a string, got " + json_type_name(*json_));
  return resolve_env(json_->get<std::string>(), path_, r_->env);
}

std::string Node::as_string() const {
  auto s = as_text();
  check_single_line(s);
  return s;
}

void Node::check_single_line(std::string_view s) const {
  // The value is never quoted: it may be a key read from the environment.
  if (s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
    fail("contains a CR, LF or NUL character, which a header, URL or path cannot carry");
}

std::string Node::as_nonempty_string() const {
  auto s = as_string();
  if (s.empty()) fail("expected a non-empty string");
  return s;
}

std::string Node::as_name() const {
  if (!json_->is_string()) fail("expected a string, got " + json_type_name(*json_));
  auto s = json_->get<std::string>();
  if (s.empty()) fail("expected a non-empty string");
  check_single_line(s);
  return s;
}

std::optional<double> Node::number_value() const {
  if (json_->is_number()) return json_->get<double>();
  if (!json_->is_string()) return std::nullopt;
  const auto& raw = json_->get_ref<const std::string&>();
  if (!raw.starts_with("os.environ/") && raw.find("${") == std::string::npos) return std::nullopt;
  auto text = resolve_env(raw, path_, r_->env);
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) fail("expected a number (from the environment variable)");
  return v;
}

double Node::as_number(double min, double max) const {
  auto v = number_value();
  if (!v) fail("expected a number, got " + json_type_name(*json_));
  if (!std::isfinite(*v) || *v < min || *v > max) fail("expected a number " + range_text(min, max));
  return *v;
}

int Node::as_int(int min, int max) const {
  auto v = number_value();
  if (!v || *v != std::floor(*v)) fail("expected an integer, got " + json_type_name(*json_));
  if (*v < min || *v > max) fail("expected an integer " + range_text(min, max >= 1 << 30 ? 1e301 : max));
  return static_cast<int>(*v);
}

bool Node::as_bool() const {
  if (!json_->is_boolean()) fail("expected true or false, got " + json_type_name(*json_));
  return json_->get<bool>();
}

Millis Node::as_duration(Millis min) const {
  static const std::string kExpected =
      "expected a duration: seconds as a number, or a string like \"500ms\", \"30s\", \"2m\", \"1h\"";
  std::optional<Millis> d;
  if (json_->is_number()) {
    auto s = json_->get<double>();
    if (std::isfinite(s) && s >= 0 && s < 1e9) d = Millis{static_cast<Millis::rep>(std::llround(s * 1000))};
  } else if (json_->is_string()) {
    d = parse_duration_text(as_string());
  } else {
    fail(kExpected + ", got " + json_type_name(*json_));
  }
  if (!d) fail(kExpected);
  if (*d < min) fail("expected a duration >= " + format_duration(min));
  return *d;
}

std::string Node::as_enum(std::initializer_list<std::string_view> allowed) const {
  std::string list;
  for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  if (!json_->is_string()) fail("expected one of " + list + ", got " + json_type_name(*json_));
  auto s = json_->get<std::string>();
  if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) fail("expected one of " + list);
  return s;
}

std::vector<std::string> Node::as_string_list(bool allow_single) const {
  if (allow_single && json_->is_string()) return {as_string()};
  std::vector<std::string> out;
  for (const auto& item : items()) out.push_back(item.as_string());
  return out;
}

void parse_redis_tls(const Node& node, const std::string& url, state::RedisTls& tls) {
  const bool rediss = url.rfind("rediss://", 0) == 0;
  if (auto n = node.get("ca_file")) {
    if (!rediss) n->fail("only with a rediss:// (TLS) url");
    tls.ca_file = n->as_nonempty_string();
    if (!std::ifstream(tls.ca_file)) n->fail("cannot read the CA file '" + tls.ca_file + "'");
  }
  if (auto n = node.get("tls_skip_verify")) {
    if (!rediss) n->fail("only with a rediss:// (TLS) url");
    tls.skip_verify = n->as_bool();
  }
}

}  // namespace llmfailover::config_reader
