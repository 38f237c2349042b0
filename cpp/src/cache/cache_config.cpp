// cache_config.cpp — the `cache` object of the config (top level or a group's policy;
// docs/config.md "cache").
#include <cctype>
#include <cmath>
#include <optional>

#include "llmfailover/cache/cache_config.hpp"
#include "llmfailover/cache/redis_cache.hpp"
#include "llmfailover/config_reader.hpp"
#include "llmfailover/json.hpp"

namespace llmfailover::cache {

using config_reader::Json;
using config_reader::Node;

namespace {

constexpr double kMaxCacheBytes = double(std::size_t{1} << 40);  // 1 TiB: anything larger is a typo

// A number of bytes, or a string "<number><unit>" with unit B, KB, MB, GB (powers of 1000) or
// KiB, MiB, GiB (powers of 1024): "64MiB", "500KB", "1048576".
std::size_t parse_bytes(const Node& n) {
  if (!n.json().is_string()) return static_cast<std::size_t>(n.as_number(1, kMaxCacheBytes));
  const std::string text = n.as_string();
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  std::string unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  double scale = 0;
  for (auto [name, s] : {std::pair{"", 1.0},
                         {"B", 1.0},
                         {"KB", 1e3},
                         {"MB", 1e6},
                         {"GB", 1e9},
                         {"KiB", 1024.0},
                         {"MiB", 1048576.0},
                         {"GiB", 1073741824.0}})
    if (unit == name) scale = s;
  double value = 0;
  try {
    value = i ? std::stod(text.substr(0, i)) : -1;
  } catch (const std::exception&) {
    value = -1;
  }
  if (scale == 0 || !(value > 0) || value * scale > kMaxCacheBytes)
    n.fail("expected a size such as 64MiB, 500KB or a number of bytes (1 B to 1 TiB), not '" + text + "'");
  return static_cast<std::size_t>(value * scale);
}

// The keys of `type: semantic` (cache_config.hpp); the embeddings group is checked against the
// config's groups by parse_cache_config.
void parse_semantic(const Node& node, CacheConfig& c) {
  const bool semantic = c.type == "semantic";
  for (const char* key : {"embeddings", "threshold", "max_entries", "allow_tools"})
    if (auto n = node.get(key); n && !semantic) n->fail("only for type: semantic (this cache is " + c.type + ")");
  if (!semantic) return;
  if (auto n = node.get("embeddings")) c.embeddings = n->as_name();
  if (auto n = node.get("threshold")) {
    c.threshold = n->as_number(-1e9, 1e9);
    if (!(c.threshold > 0 && c.threshold <= 1))
      n->fail("expected a cosine similarity in (0, 1], such as 0.95, not " + n->json().dump());
  }
  if (auto n = node.get("max_entries")) c.max_entries = static_cast<std::size_t>(n->as_int(1, 10'000'000));
  if (auto n = node.get("allow_tools")) c.allow_tools = n->as_bool();
  if (auto n = node.get("max_bytes")) n->fail("not for type: semantic (its size is max_entries)");
  if (auto n = node.get("url")) n->fail("not for type: semantic (it is kept in memory)");
  if (c.embeddings.empty()) node.fail("type: semantic needs `embeddings`: the group that embeds the prompts");
}

}  // namespace

CacheConfig parse_cache(const Node& node, const CacheConfig& base) {
  node.expect_object().check_keys({"enabled", "type", "ttl", "max_bytes", "url", "timeout", "embeddings", "threshold",
                                   "max_entries", "allow_tools", "ca_file", "tls_skip_verify"});
  CacheConfig c = base;
  c.enabled = true;  // a cache object turns it on unless it says otherwise
  if (auto n = node.get("enabled")) c.enabled = n->as_bool();
  if (auto n = node.get("type")) c.type = n->as_enum({"memory", "redis", "semantic"});
  if (auto n = node.get("ttl")) {
    c.ttl = n->as_duration(Millis{1});
    if (c.ttl <= Millis{0}) n->fail("expected a positive duration");
  }
  if (auto n = node.get("max_bytes")) c.max_bytes = parse_bytes(*n);
  if (auto n = node.get("url")) {
    c.url = n->as_string();
    std::string why;
    if (!cache::parse_redis_url(c.url, &why)) n->fail(why);
  }
  if (auto n = node.get("timeout")) {
    c.timeout = n->as_duration(Millis{1});
    if (c.timeout > Millis{5000}) n->fail("expected at most 5s: a cache must never hold a request up for long");
  }
  if (c.type == "redis" && c.url.empty()) node.fail("type: redis needs a url (redis://host:port)");
  config_reader::parse_redis_tls(node, c.url, c.tls);
  parse_semantic(node, c);
  return c;
}

std::map<std::string, CacheConfig> parse_cache_config(const std::string& json_text, const EnvLookup& env) {
  std::map<std::string, CacheConfig> out;
  const Json doc = parse_json<Json>(json_text, nullptr);
  if (!doc.is_object() || doc.contains("model_list")) return out;
  config_reader::Reader reader{env, {}};
  Node root(doc, "", reader);
  CacheConfig base;
  if (auto d = root.get("defaults"))
    if (auto n = d->get("cache")) base = parse_cache(*n, base);
  if (auto n = root.get("cache")) base = parse_cache(*n, base);
  auto groups = root.get("groups");
  if (!groups) return out;
  const auto members = groups->members();
  for (const auto& [name, g] : members) {
    CacheConfig c = base;
    std::optional<Node> at;
    if (auto p = g.get("policy"))
      if ((at = p->get("cache"))) c = parse_cache(*at, base);
    if (!c.enabled) continue;
    if (c.type == "semantic" && !groups->get(c.embeddings)) {
      // Named where the embeddings were set: the group's policy, else the top level, else defaults.
      std::optional<Node> where = at ? at->get("embeddings") : std::nullopt;
      if (auto n = root.get("cache"); !where && n) where = n->get("embeddings");
      if (auto d = root.get("defaults"); !where && d)
        if (auto n = d->get("cache")) where = n->get("embeddings");
      const std::string why = "unknown group '" + c.embeddings + "': embeddings must name a group of this config";
      if (where) where->fail(why);
      groups->fail(why);
    }
    out[name] = c;
  }
  return out;
}

}  // namespace llmfailover::cache
