// balancer_names.cpp — the printable names of balancer values and the routing_strategy parser.
#include "llmfailover/policy/balancer.hpp"

#include <cctype>
#include <functional>
#include <map>
#include <sstream>
#include <string>

namespace llmfailover::policy {

namespace {

std::string normalise_name(std::string_view name) {
  std::string s(name);
  for (char& c : s) c = c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string_view to_string(Strategy s) noexcept {
  switch (s) {
    case Strategy::weighted_random: return "weighted_random";
    case Strategy::round_robin: return "round_robin";
    case Strategy::least_in_flight: return "least_in_flight";
    case Strategy::latency_p2c: return "latency_p2c";
    case Strategy::lowest_cost: return "lowest_cost";
  }
  return "weighted_random";
}

std::optional<Strategy> parse_strategy(std::string_view name) noexcept {
  static const std::map<std::string, Strategy, std::less<>> names = {
      {"weighted_random", Strategy::weighted_random},
      {"simple_shuffle", Strategy::weighted_random},
      {"usage_based_routing", Strategy::weighted_random},
      {"usage_based_routing_v2", Strategy::weighted_random},
      {"round_robin", Strategy::round_robin},
      {"least_in_flight", Strategy::least_in_flight},
      {"least_busy", Strategy::least_in_flight},
      {"latency_p2c", Strategy::latency_p2c},
      {"latency_based_routing", Strategy::latency_p2c},
      {"lowest_cost", Strategy::lowest_cost},
      {"cost_based_routing", Strategy::lowest_cost},
  };
  auto it = names.find(normalise_name(name));
  if (it == names.end()) return std::nullopt;
  return it->second;
}

std::string_view to_string(Pick::Reason r) noexcept {
  switch (r) {
    case Pick::Reason::strategy: return "strategy";
    case Pick::Reason::reused: return "reused";
    case Pick::Reason::panic: return "panic";
  }
  return "strategy";
}

std::string to_string(const CandidateState& s) {
  std::ostringstream out;
  out << "weight=" << s.weight << " share=" << s.share << " priority=" << s.priority << " available=" << s.available
      << " in_flight=" << s.in_flight << " ewma_ms=" << s.ewma_ms << " cost=" << s.cost;
  return out.str();
}

}  // namespace llmfailover::policy
