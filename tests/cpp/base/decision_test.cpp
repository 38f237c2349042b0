// decision.hpp: every route log word the router writes is one of the enums' (the binding refuses
// any other), and parse_* inverts to_string.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "llmfailover/decision.hpp"

namespace llmfailover {
namespace {

template <typename E>
void round_trips(std::span<const E> all, std::optional<E> (*parse)(std::string_view)) {
  std::set<std::string> words;
  for (E e : all) {
    std::string word(to_string(e));
    EXPECT_TRUE(words.insert(word).second) << "duplicate word " << word;
    EXPECT_EQ(parse(word), e) << word;
  }
  EXPECT_EQ(parse("no_such_word"), std::nullopt);
}

TEST(Decision, WordsRoundTrip) {
  round_trips<Decision>(all_decisions(), parse_decision);
  round_trips<Errc>(all_errcs(), parse_errc);
  round_trips<ErrorClass>(all_error_classes(), parse_error_class);
  EXPECT_EQ(to_string(Decision::pending), "");
  EXPECT_EQ(parse_decision(""), Decision::pending);
}

// The words the router writes into RouteAttempt::decision (policy/failover.cpp FailoverDecision::log,
// router/routed_*.cpp, cache/router_cache.cpp). A new word must be added to Decision first.
TEST(Decision, EveryWordTheRouterWritesParses) {
  for (const char* word :
       {"served", "retry", "retry_transparent", "retry_after", "failover", "next_group", "context_window_fallback",
        "content_policy_fallback", "budget_exhausted", "restart_without_prefill", "continuation_prompt", "interrupted",
        "recover", "served_recovered", "recovery_failed", "give_up", "cancelled", "skip", "cache_hit"})
    EXPECT_TRUE(parse_decision(word).has_value()) << word;
}

}  // namespace
}  // namespace llmfailover
