// balancer_index.hpp (private) — the Fenwick tree the Balancer draws from.
//
// Weights are kept as fixed-point integers (weight * 2^20) so that millions of updates cannot
// drift the sums the way doubles would: a zero weight stays exactly zero and is never drawn.
// Thread safety: none (used under the Balancer's lock).
// Cost: add, prefix and find are O(log n).
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace llmfailover::policy::detail {

inline constexpr double kWeightScale = 1048576.0;  // 2^20
inline constexpr double kMaxWeight = 1e6;          // 1e6 * 2^20 * 1e6 candidates < 2^64

// A positive weight never rounds to 0.
inline std::uint64_t to_fixed(double weight) noexcept {
  if (!(weight > 0)) return 0;
  double w = weight > kMaxWeight ? kMaxWeight : weight;
  auto v = static_cast<std::uint64_t>(std::llround(w * kWeightScale));
  return v == 0 ? 1 : v;
}

class Fenwick {
 public:
  void resize(std::size_t n) {
    tree_.assign(n + 1, 0);
    total_ = 0;
    top_ = n == 0 ? 0 : std::bit_floor(n);
  }
  std::size_t size() const noexcept { return tree_.empty() ? 0 : tree_.size() - 1; }
  std::uint64_t total() const noexcept { return total_; }

  // Unsigned wrap-around makes a negative delta work.
  void add(std::size_t pos, std::int64_t delta) noexcept {
    auto d = static_cast<std::uint64_t>(delta);
    total_ += d;
    for (std::size_t i = pos + 1; i < tree_.size(); i += i & (~i + 1)) tree_[i] += d;
  }

  // Sum of positions [0, end).
  std::uint64_t prefix(std::size_t end) const noexcept {
    std::uint64_t s = 0;
    for (std::size_t i = end; i > 0; i -= i & (~i + 1)) s += tree_[i];
    return s;
  }

  // The smallest position whose inclusive prefix sum exceeds `target` (target < total()).
  std::size_t find(std::uint64_t target) const noexcept {
    std::size_t pos = 0;
    for (std::size_t step = top_; step > 0; step >>= 1) {
      if (pos + step < tree_.size() && tree_[pos + step] <= target) {
        pos += step;
        target -= tree_[pos];
      }
    }
    return pos;
  }

 private:
  std::vector<std::uint64_t> tree_;
  std::uint64_t total_ = 0;
  std::size_t top_ = 0;
};

// floor(u * total) kept below total.
inline std::uint64_t scale_draw(double u, std::uint64_t total) noexcept {
  if (total == 0) return 0;
  double x = u * static_cast<double>(total);
  if (!(x >= 0)) return 0;
  if (x >= static_cast<double>(total)) return total - 1;
  auto v = static_cast<std::uint64_t>(x);
  return v >= total ? total - 1 : v;
}

}  // namespace llmfailover::policy::detail
