#include "llmfailover/policy/balancer.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <queue>
#include <set>
#include <tuple>

#include "balancer_index.hpp"

namespace llmfailover::policy {

namespace {

using detail::Fenwick;
using detail::scale_draw;
using detail::to_fixed;

constexpr Clock::rep kNeverFailed = std::numeric_limits<Clock::rep>::min();

}  // namespace

struct Balancer::Impl {
  struct Slot {
    CandidateSpec spec;
    double share = 1.0;
    std::optional<Clock::time_point> blocked_until;
    std::uint64_t fixed = 0;                 // the value currently in the tier's tree
    std::size_t tier = 0, pos = 0, cls = 0;  // cls: its price class in the tier
    int in_flight = 0;
    PeakEwma ewma;
    Clock::rep last_failure = kNeverFailed;
    double deadline = 0;  // round_robin
    bool in_edf = false;
    bool suppressed = false;  // excluded or avoided during the current pick
  };
  struct PriceClass {
    std::size_t begin, end;  // positions in the tier
    double input_price, output_price;
    std::uint64_t sum = 0;  // its members' weights in the tree: available when > 0
  };
  // Over a tier's price classes: per node the least input and the least output price among the
  // available classes below it (infinity when none). in * min_in + out * min_out bounds the cost
  // of every class below, so the cheapest class is found by branch and bound, O(log C) when the
  // bounds separate the classes (typical price tables), O(C) only when very many tie.
  struct PriceBounds {
    std::size_t leaves = 0;
    std::vector<std::pair<double, double>> node;  // 1-based heap layout, leaves at [leaves, 2 * leaves)
  };
  struct Tier {
    int priority = 0;
    std::vector<std::size_t> members;  // candidate index by position
    std::vector<PriceClass> classes;
    PriceBounds bounds;
    Fenwick tree;
    std::set<std::pair<double, std::size_t>> edf;
    double virtual_time = 0;
  };
  using Block = std::pair<Clock::rep, std::size_t>;

  Impl(BalancerConfig c, const std::vector<CandidateSpec>& candidates, const TimeSource& clk, Random& rnd);

  double effective_weight(const Slot& s, Clock::time_point now) const {
    if (s.blocked_until && *s.blocked_until > now) return 0;
    return std::clamp(s.spec.weight, 0.0, detail::kMaxWeight) * s.share;
  }
  void build_tiers();
  void refresh(std::size_t i, Clock::time_point now);
  void set_tree(std::size_t i, std::uint64_t value);
  void update_bounds(Tier& t, std::size_t cls);
  void release_due(Clock::time_point now);
  void suppress(std::span<const std::size_t> list, std::vector<std::size_t>& done);
  void restore(std::vector<std::size_t>& done);
  void record_failure(std::size_t i, Clock::time_point now);

  std::optional<std::size_t> pick_available(const PickOptions& o, Clock::time_point now);
  std::size_t draw(Tier& t) { return t.members[t.tree.find(scale_draw(random.uniform(), t.tree.total()))]; }
  std::size_t pick_round_robin(Tier& t);
  std::size_t pick_p2c(Tier& t, Clock::time_point now);
  std::size_t pick_lowest_cost(Tier& t, const PickOptions& o);
  double score(std::size_t i, Clock::time_point now) const;
  std::optional<std::size_t> pick_panic();

  const BalancerConfig cfg;
  const TimeSource& clock;
  Random& random;
  std::mutex mutex;
  std::vector<Slot> slots;
  std::vector<Tier> tiers;  // by ascending priority
  std::priority_queue<Block, std::vector<Block>, std::greater<>> blocks;
  std::set<std::tuple<Clock::rep, int, std::size_t>> failures;  // (last failure, priority, index)
};

Balancer::Impl::Impl(BalancerConfig c, const std::vector<CandidateSpec>& candidates, const TimeSource& clk, Random& rnd)
    : cfg(std::move(c)), clock(clk), random(rnd) {
  slots.resize(candidates.size());
  auto start = clock.now();
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    slots[i].spec = candidates[i];
    slots[i].ewma = PeakEwma(cfg.ewma, start);
    failures.emplace(kNeverFailed, candidates[i].priority, i);
  }
  build_tiers();
  auto now = clock.now();
  for (std::size_t i = 0; i < slots.size(); ++i) refresh(i, now);
}

// The tiers by priority, each's members sorted by price so each price class is a contiguous range
// of the tree; every slot out of the trees (refresh() puts it back).
void Balancer::Impl::build_tiers() {
  tiers.clear();
  std::map<int, std::vector<std::size_t>> by_priority;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    by_priority[slots[i].spec.priority].push_back(i);
    slots[i].fixed = 0;
    slots[i].in_edf = false;
  }
  for (auto& [priority, members] : by_priority) {
    Tier& t = tiers.emplace_back();
    t.priority = priority;
    std::stable_sort(members.begin(), members.end(), [&](std::size_t a, std::size_t b) {
      const auto &x = slots[a].spec, &y = slots[b].spec;
      return std::tie(x.input_price_per_mtok, x.output_price_per_mtok) <
             std::tie(y.input_price_per_mtok, y.output_price_per_mtok);
    });
    t.members = members;
    t.tree.resize(members.size());
    for (std::size_t p = 0; p < members.size(); ++p) {
      const auto& spec = slots[members[p]].spec;
      slots[members[p]].tier = tiers.size() - 1;
      slots[members[p]].pos = p;
      if (t.classes.empty() || t.classes.back().input_price != spec.input_price_per_mtok ||
          t.classes.back().output_price != spec.output_price_per_mtok)
        t.classes.push_back({p, p, spec.input_price_per_mtok, spec.output_price_per_mtok});
      t.classes.back().end = p + 1;
      slots[members[p]].cls = t.classes.size() - 1;
    }
    t.bounds.leaves = std::bit_ceil(std::max<std::size_t>(1, t.classes.size()));
    constexpr double inf = std::numeric_limits<double>::infinity();
    t.bounds.node.assign(2 * t.bounds.leaves, {inf, inf});
  }
}

void Balancer::Impl::set_tree(std::size_t i, std::uint64_t value) {
  Slot& s = slots[i];
  if (value == s.fixed) return;
  Tier& t = tiers[s.tier];
  t.tree.add(s.pos, static_cast<std::int64_t>(value - s.fixed));
  PriceClass& c = t.classes[s.cls];
  const bool was = c.sum > 0;
  c.sum += value - s.fixed;  // unsigned wrap-around, like the tree
  s.fixed = value;
  if ((c.sum > 0) != was) update_bounds(t, s.cls);
}

void Balancer::Impl::update_bounds(Tier& t, std::size_t cls) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  const PriceClass& c = t.classes[cls];
  auto& node = t.bounds.node;
  std::size_t i = t.bounds.leaves + cls;
  node[i] = c.sum > 0 ? std::pair{c.input_price, c.output_price} : std::pair{inf, inf};
  for (i /= 2; i > 0; i /= 2)
    node[i] = {std::min(node[2 * i].first, node[2 * i + 1].first),
               std::min(node[2 * i].second, node[2 * i + 1].second)};
}

// Brings the tree and the round-robin schedule in line with the candidate's effective weight.
void Balancer::Impl::refresh(std::size_t i, Clock::time_point now) {
  Slot& s = slots[i];
  Tier& t = tiers[s.tier];
  double w = effective_weight(s, now);
  std::uint64_t fixed = to_fixed(w);
  const bool unchanged = s.in_edf && fixed == s.fixed;
  if (s.suppressed) {
    s.fixed = fixed;  // restore() puts it into the tree
  } else {
    set_tree(i, fixed);
  }
  if (unchanged) return;  // keeps its place in the round-robin schedule
  if (s.in_edf) t.edf.erase({s.deadline, i});
  s.in_edf = fixed > 0;
  if (s.in_edf) {
    s.deadline = t.virtual_time + 0.5 / w;  // joins half a period in: interleaves sooner
    t.edf.emplace(s.deadline, i);
  }
}

void Balancer::Impl::release_due(Clock::time_point now) {
  while (!blocks.empty() && blocks.top().first <= now.time_since_epoch().count()) {
    auto [until, i] = blocks.top();
    blocks.pop();
    Slot& s = slots[i];
    if (s.blocked_until && s.blocked_until->time_since_epoch().count() == until) {
      s.blocked_until.reset();
      refresh(i, now);
    }
  }
}

void Balancer::Impl::suppress(std::span<const std::size_t> list, std::vector<std::size_t>& done) {
  for (std::size_t i : list) {
    if (i >= slots.size() || slots[i].suppressed) continue;
    Slot& s = slots[i];
    std::uint64_t keep = s.fixed;
    set_tree(i, 0);
    s.fixed = keep;
    s.suppressed = true;
    done.push_back(i);
  }
}

void Balancer::Impl::restore(std::vector<std::size_t>& done) {
  for (std::size_t i : done) {
    Slot& s = slots[i];
    s.suppressed = false;
    std::uint64_t want = s.fixed;
    s.fixed = 0;
    set_tree(i, want);
  }
  done.clear();
}

void Balancer::Impl::record_failure(std::size_t i, Clock::time_point now) {
  Slot& s = slots[i];
  failures.erase({s.last_failure, s.spec.priority, i});
  s.last_failure = now.time_since_epoch().count();
  failures.emplace(s.last_failure, s.spec.priority, i);
}

std::optional<std::size_t> Balancer::Impl::pick_available(const PickOptions& o, Clock::time_point now) {
  for (Tier& t : tiers) {
    if (t.tree.total() == 0) continue;
    switch (cfg.strategy) {
      case Strategy::weighted_random: return draw(t);
      case Strategy::round_robin: return pick_round_robin(t);
      case Strategy::least_in_flight:
      case Strategy::latency_p2c: return pick_p2c(t, now);
      case Strategy::lowest_cost: return pick_lowest_cost(t, o);
    }
  }
  return std::nullopt;
}

std::size_t Balancer::Impl::pick_round_robin(Tier& t) {
  // The tree's total is > 0, so some scheduled candidate is not suppressed.
  auto it = t.edf.begin();
  while (it != t.edf.end() && slots[it->second].suppressed) ++it;
  auto [deadline, i] = *it;
  t.edf.erase(it);
  t.virtual_time = deadline;
  Slot& s = slots[i];
  s.deadline = deadline + 1.0 / (static_cast<double>(s.fixed) / detail::kWeightScale);
  t.edf.emplace(s.deadline, i);
  return i;
}

double Balancer::Impl::score(std::size_t i, Clock::time_point now) const {
  const Slot& s = slots[i];
  double load = cfg.strategy == Strategy::latency_p2c
                    ? s.ewma.cost(now, s.in_flight)
                    : std::pow(static_cast<double>(std::max(0, s.in_flight) + 1), cfg.active_request_bias);
  return load / std::max(s.spec.weight, 1e-9);
}

std::size_t Balancer::Impl::pick_p2c(Tier& t, Clock::time_point now) {
  std::size_t first = draw(t);
  if (slots[first].share < 1.0) return first;  // capped at its weighted-random share
  Slot& f = slots[first];
  std::uint64_t keep = f.fixed;
  set_tree(first, 0);
  std::optional<std::size_t> second;
  if (t.tree.total() > 0) second = draw(t);
  set_tree(first, keep);
  if (!second || slots[*second].share < 1.0) return first;
  return score(*second, now) < score(first, now) ? *second : first;
}

std::size_t Balancer::Impl::pick_lowest_cost(Tier& t, const PickOptions& o) {
  double in = o.input_tokens, out = o.output_tokens;
  if (in <= 0 && out <= 0) in = out = 1;
  double best = std::numeric_limits<double>::infinity();
  std::vector<std::pair<const PriceClass*, std::uint64_t>> tied;
  const auto& node = t.bounds.node;
  auto bound = [&](std::size_t i) { return in * node[i].first + out * node[i].second; };
  auto eps = [&] { return 1e-12 * std::max(1.0, std::abs(best)); };
  // Depth first, the cheaper-looking child first; a subtree whose bound exceeds the best cost
  // found so far holds no class as cheap (ties within eps share the traffic, so they are kept).
  std::vector<std::size_t> stack{1};
  while (!stack.empty()) {
    const std::size_t i = stack.back();
    stack.pop_back();
    if (!std::isfinite(node[i].first) || (!tied.empty() && bound(i) > best + eps())) continue;
    if (i >= t.bounds.leaves) {
      const PriceClass& c = t.classes[i - t.bounds.leaves];
      const double cost = c.input_price * in + c.output_price * out;
      if (tied.empty() || cost < best - eps()) {
        best = cost;
        tied.clear();
      } else if (cost > best + eps()) {
        continue;
      }
      tied.emplace_back(&c, c.sum);
      continue;
    }
    const bool left_first = bound(2 * i) <= bound(2 * i + 1);
    stack.push_back(left_first ? 2 * i + 1 : 2 * i);
    stack.push_back(left_first ? 2 * i : 2 * i + 1);
  }
  // Tied classes in price order, as a scan would find them (the draw below is then the same).
  std::sort(tied.begin(), tied.end(), [](const auto& x, const auto& y) { return x.first->begin < y.first->begin; });
  std::uint64_t total = 0;
  for (const auto& [c, sum] : tied) total += sum;
  std::uint64_t target = scale_draw(random.uniform(), total);
  for (const auto& [c, sum] : tied) {
    if (target < sum) return t.members[t.tree.find(t.tree.prefix(c->begin) + target)];
    target -= sum;
  }
  return t.members[t.tree.find(t.tree.prefix(tied.back().first->begin))];  // not reached
}

std::optional<std::size_t> Balancer::Impl::pick_panic() {
  for (const auto& [when, priority, i] : failures)
    if (!slots[i].suppressed) return i;
  return std::nullopt;
}

Balancer::Balancer(BalancerConfig cfg, const std::vector<CandidateSpec>& candidates, const TimeSource& clock,
                   Random& random)
    : impl_(std::make_unique<Impl>(std::move(cfg), candidates, clock, random)) {}

Balancer::~Balancer() = default;

std::size_t Balancer::size() const noexcept { return impl_->slots.size(); }
Strategy Balancer::strategy() const noexcept { return impl_->cfg.strategy; }

std::optional<Pick> Balancer::pick(const PickOptions& options) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mutex);
  auto now = m.clock.now();
  m.release_due(now);
  std::vector<std::size_t> excluded, avoided;
  m.suppress(options.exclude, excluded);
  m.suppress(options.avoid, avoided);
  std::optional<Pick> out;
  if (auto i = m.pick_available(options, now)) out = Pick{*i, Pick::Reason::strategy};
  bool any_avoided = !avoided.empty();
  m.restore(avoided);
  if (!out && any_avoided) {
    if (auto i = m.pick_available(options, now)) out = Pick{*i, Pick::Reason::reused};
  }
  if (!out && !m.cfg.fail_fast) {
    if (auto i = m.pick_panic()) out = Pick{*i, Pick::Reason::panic};
  }
  m.restore(excluded);
  return out;
}

void Balancer::on_start(std::size_t i) {
  std::lock_guard lock(impl_->mutex);
  if (i < impl_->slots.size()) ++impl_->slots[i].in_flight;
}

void Balancer::on_finish(std::size_t i, const Outcome& o) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mutex);
  if (i >= m.slots.size()) return;
  auto now = m.clock.now();
  auto& s = m.slots[i];
  s.in_flight = std::max(0, s.in_flight - 1);
  switch (o.kind) {
    case Outcome::Kind::success: s.ewma.observe(now, o.latency); break;
    case Outcome::Kind::failure:
      s.ewma.observe_failure(now, o.latency.ttft);
      m.record_failure(i, now);
      break;
    case Outcome::Kind::rate_limited:
      s.ewma.observe_rate_limited(now, o.latency.ttft, o.retry_after);
      m.record_failure(i, now);
      break;
    case Outcome::Kind::cancelled: break;
  }
}

void Balancer::set_share(std::size_t i, double share) {
  std::lock_guard lock(impl_->mutex);
  if (i >= impl_->slots.size()) return;
  double s = std::isfinite(share) ? std::clamp(share, 0.0, 1.0) : 0.0;
  if (impl_->slots[i].share == s) return;  // the router may call this on every change notice
  impl_->slots[i].share = s;
  impl_->refresh(i, impl_->clock.now());
}

void Balancer::set_prices(std::span<const std::pair<double, double>> prices) {
  std::lock_guard lock(impl_->mutex);
  for (std::size_t i = 0; i < prices.size() && i < impl_->slots.size(); ++i) {
    const auto [in, out] = prices[i];
    impl_->slots[i].spec.input_price_per_mtok = std::isfinite(in) && in > 0 ? in : 0.0;
    impl_->slots[i].spec.output_price_per_mtok = std::isfinite(out) && out > 0 ? out : 0.0;
  }
  impl_->build_tiers();
  const auto now = impl_->clock.now();
  for (std::size_t i = 0; i < impl_->slots.size(); ++i) impl_->refresh(i, now);
}

void Balancer::set_weight(std::size_t i, double weight) {
  std::lock_guard lock(impl_->mutex);
  if (i >= impl_->slots.size()) return;
  impl_->slots[i].spec.weight = std::isfinite(weight) ? std::clamp(weight, 0.0, detail::kMaxWeight) : 0.0;
  impl_->refresh(i, impl_->clock.now());
}

void Balancer::block_until(std::size_t i, Clock::time_point until) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mutex);
  if (i >= m.slots.size()) return;
  auto now = m.clock.now();
  if (until <= now) {
    m.slots[i].blocked_until.reset();
  } else {
    m.slots[i].blocked_until = until;
    m.blocks.emplace(until.time_since_epoch().count(), i);
  }
  m.refresh(i, now);
}

std::optional<Clock::time_point> Balancer::next_unblock() {
  Impl& m = *impl_;
  std::lock_guard lock(m.mutex);
  m.release_due(m.clock.now());
  while (!m.blocks.empty()) {  // drop entries superseded by a later block_until
    auto [until, i] = m.blocks.top();
    const auto& b = m.slots[i].blocked_until;
    if (b && b->time_since_epoch().count() == until) return *b;
    m.blocks.pop();
  }
  return std::nullopt;
}

CandidateState Balancer::state(std::size_t i) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mutex);
  CandidateState out;
  if (i >= m.slots.size()) return out;
  auto now = m.clock.now();
  m.release_due(now);
  const auto& s = m.slots[i];
  out.weight = s.spec.weight;
  out.share = s.share;
  out.priority = s.spec.priority;
  out.available = m.effective_weight(s, now) > 0;
  out.in_flight = s.in_flight;
  out.ewma_ms = s.ewma.estimate(now);
  out.cost = s.ewma.cost(now, s.in_flight);
  out.blocked_until = s.blocked_until;
  if (s.last_failure != kNeverFailed) out.last_failure = Clock::time_point{Clock::duration{s.last_failure}};
  return out;
}

}  // namespace llmfailover::policy
