// response_affinity.hpp (private) — which target served a Responses API response (or holds a
// conversation), so calls that depend on that server-side state (previous_response_id,
// conversation, GET / DELETE /responses/{id}, .../cancel, .../input_items) go back to it.
//
// A bounded LRU map id -> target id, filled when a native /responses answer passes through the
// router (its id, and its conversation's id). Forgotten ids (evicted, or from before the process
// started) are not guessed at: the call fails naming why, unless only one target can hold them.
// Cost: O(1) per remember / find. Thread safety: all members are safe from any thread.
#pragma once

#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace llmfailover {

class ResponseAffinity {
 public:
  static constexpr std::size_t kDefaultCapacity = 100000;  // ~10 MB at worst: ids are ~50 bytes
  explicit ResponseAffinity(std::size_t capacity = kDefaultCapacity) : capacity_(capacity ? capacity : 1) {}

  void remember(const std::string& id, const std::string& target) {
    if (id.empty() || id.size() > 256) return;  // not an id the API hands out
    std::lock_guard lock(mutex_);
    if (auto it = index_.find(id); it != index_.end()) {
      it->second->second = target;
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    order_.emplace_front(id, target);
    index_[id] = order_.begin();
    if (order_.size() > capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
  }

  std::optional<std::string> find(const std::string& id) {
    std::lock_guard lock(mutex_);
    auto it = index_.find(id);
    if (it == index_.end()) return std::nullopt;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->second;
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return order_.size();
  }

 private:
  using Order = std::list<std::pair<std::string, std::string>>;  // most recent first
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  Order order_;
  std::unordered_map<std::string, Order::iterator> index_;
};

}  // namespace llmfailover
