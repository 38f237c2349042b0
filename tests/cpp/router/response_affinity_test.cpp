// response_affinity_test.cpp — the bounded id -> target map behind stateful Responses calls.
#include "../../../cpp/src/router/response_affinity.hpp"

#include <gtest/gtest.h>

namespace llmfailover {
namespace {

TEST(ResponseAffinity, RemembersAndEvictsTheLeastRecentlyUsed) {
  ResponseAffinity map(2);
  map.remember("resp_1", "a");
  map.remember("resp_2", "b");
  EXPECT_EQ(map.find("resp_1"), "a");  // now the most recent
  map.remember("resp_3", "c");         // evicts resp_2
  EXPECT_EQ(map.find("resp_2"), std::nullopt);
  EXPECT_EQ(map.find("resp_1"), "a");
  EXPECT_EQ(map.find("resp_3"), "c");
  map.remember("resp_1", "b");  // a later answer with the same id moves it
  EXPECT_EQ(map.find("resp_1"), "b");
  EXPECT_EQ(map.size(), 2u);
}

TEST(ResponseAffinity, IgnoresWhatIsNoId) {
  ResponseAffinity map(4);
  map.remember("", "a");
  map.remember(std::string(300, 'x'), "a");
  EXPECT_EQ(map.size(), 0u);
}

TEST(ResponseAffinity, StaysBoundedUnderManyIds) {
  ResponseAffinity map(100);
  for (int i = 0; i < 10000; ++i) map.remember("resp_" + std::to_string(i), "t");
  EXPECT_EQ(map.size(), 100u);
  EXPECT_EQ(map.find("resp_9999"), "t");
  EXPECT_EQ(map.find("resp_0"), std::nullopt);
}

}  // namespace
}  // namespace llmfailover
