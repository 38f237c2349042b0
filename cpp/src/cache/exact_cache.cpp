// exact_cache.cpp — the LRU + TTL store, the request key and the answer encoding (exact_cache.hpp).
#include "llmfailover/cache/exact_cache.hpp"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

namespace llmfailover::cache {

namespace {

std::size_t size_of(const std::string& key, const std::string& value) { return key.size() + value.size(); }

std::string sha256_hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) return {};
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

}  // namespace

void ExactCache::drop(std::list<Entry>::iterator it) {
  stats_.bytes -= size_of(it->key, it->value);
  index_.erase(it->key);
  lru_.erase(it);
}

void ExactCache::put(const std::string& key, std::string value, Millis ttl) {
  const std::size_t size = size_of(key, value);
  std::lock_guard lock(mutex_);
  if (auto it = index_.find(key); it != index_.end()) drop(it->second);
  if (size > max_bytes_ || ttl <= Millis{0}) return;
  while (!lru_.empty() && stats_.bytes + size > max_bytes_) {
    drop(std::prev(lru_.end()));
    ++stats_.evictions;
  }
  lru_.push_front({key, std::move(value), deadline_after(ttl, time_.now())});
  index_[key] = lru_.begin();
  stats_.bytes += size;
}

std::optional<std::string> ExactCache::get(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = index_.find(key);
  if (it == index_.end()) {
    ++stats_.misses;
    return std::nullopt;
  }
  if (time_.now() >= it->second->expires) {
    drop(it->second);
    ++stats_.expired;
    ++stats_.misses;
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);  // iterators stay valid
  ++stats_.hits;
  return lru_.front().value;
}

void ExactCache::erase(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (auto it = index_.find(key); it != index_.end()) drop(it->second);
}

ExactCache::Stats ExactCache::stats() const {
  std::lock_guard lock(mutex_);
  Stats s = stats_;
  s.entries = lru_.size();
  return s;
}

std::optional<std::string> cache_key(const std::string& ns, const std::string& group, const std::string& method,
                                     const std::string& path, bool stream, const std::string& body) {
  if (method != "POST" || (path != "/chat/completions" && path != "/embeddings")) return std::nullopt;
  auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return std::nullopt;
  for (const char* f : kIgnoredFields) doc.erase(f);
  doc.erase("model");  // the group is the model the caller asked for
  // nlohmann::json objects are std::map: dump() writes the keys sorted, so the text is canonical.
  std::string text = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string material;
  for (const std::string* part : {&ns, &group, &path}) material += std::to_string(part->size()) + ":" + *part + "|";
  material += stream ? "stream|" : "whole|";
  material += text;
  return sha256_hex(material);
}

std::string request_namespace(const std::string& caller_ns, const std::string& body) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  std::string user;
  if (doc.is_object())
    if (auto it = doc.find("user"); it != doc.end() && it->is_string()) user = it->get<std::string>();
  return std::to_string(caller_ns.size()) + ":" + caller_ns + "|" + user;
}

std::string encode_answer(const Answer& a) {
  nlohmann::json j;
  j["v"] = 1;
  j["status"] = a.status;
  j["headers"] = nlohmann::json::array();
  for (const auto& h : a.headers) j["headers"].push_back({h.name, h.value});
  j["events"] = nlohmann::json::array();
  for (const auto& e : a.events) {
    if (e.kind == Event::Kind::body) j["events"].push_back({"body", e.data});
    else if (e.kind == Event::Kind::sse) j["events"].push_back({"sse", e.event, e.data, e.id});
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<Answer> decode_answer(const std::string& bytes) {
  auto j = nlohmann::json::parse(bytes, nullptr, false);
  auto field = [&](const char* name) -> const nlohmann::json* {
    if (!j.is_object()) return nullptr;
    auto it = j.find(name);
    return it == j.end() ? nullptr : &*it;
  };
  const auto *v = field("v"), *status = field("status"), *headers = field("headers"), *events = field("events");
  if (!v || *v != 1 || !status || !status->is_number_integer() || !headers || !headers->is_array() || !events ||
      !events->is_array())
    return std::nullopt;
  Answer a;
  a.status = status->get<int>();
  if (a.status < 200 || a.status > 299) return std::nullopt;
  for (const auto& h : *headers) {
    if (!h.is_array() || h.size() != 2 || !h[0].is_string() || !h[1].is_string()) return std::nullopt;
    a.headers.push_back({h[0].get<std::string>(), h[1].get<std::string>()});
  }
  for (const auto& e : *events) {
    if (!e.is_array() || e.empty() || !e[0].is_string()) return std::nullopt;
    for (const auto& part : e)
      if (!part.is_string()) return std::nullopt;
    const auto kind = e[0].get<std::string>();
    if (kind == "body" && e.size() == 2) a.events.push_back(Event::body(e[1].get<std::string>()));
    else if (kind == "sse" && e.size() == 4)
      a.events.push_back(Event::sse(e[1].get<std::string>(), e[2].get<std::string>(), e[3].get<std::string>()));
    else return std::nullopt;
  }
  return a;
}

}  // namespace llmfailover::cache
