// Fleet-wide quotas spent from leased slices (policy/lease.hpp), against a fake store that does
// what the Redis script does (state/shared_state.cpp): grant min(asked, limit - used) per window.
#include "llmfailover/policy/lease.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <vector>

namespace llmfailover::policy {
namespace {

struct FakeStore {
  QuotaLimits limits;
  std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> used;  // window -> requests, tokens
  int takes = 0;

  void serve(QuotaLease& lease, std::int64_t window) {
    auto want = lease.wanted(window);
    if (!want) return;
    ++takes;
    auto& [r, t] = used[want->window];
    auto grant = [](std::int64_t limit, std::int64_t asked, std::int64_t& u) {
      std::int64_t g = limit > 0 ? std::max<std::int64_t>(0, std::min(asked, limit - u)) : 0;
      u += g;
      return g;
    };
    std::int64_t gr = grant(limits.rpm, want->requests, r);
    std::int64_t gt = grant(limits.tpm, want->tokens, t);
    lease.granted(*want, gr, gt);
  }
};

// `processes` leases taking turns; each process's refresher answers after every `lag` requests
// (1: at once). Returns the requests admitted in window 0 out of `attempts` tries.
int run_fleet(int processes, int rpm, int lag, int attempts, FakeStore& store) {
  std::vector<std::unique_ptr<QuotaLease>> fleet;
  for (int i = 0; i < processes; ++i) fleet.push_back(std::make_unique<QuotaLease>(QuotaLimits{rpm, 0}));
  int admitted = 0;
  for (int i = 0; i < attempts; ++i) {
    QuotaLease& lease = *fleet[i % processes];
    if (lease.try_spend(0, 100)) ++admitted;
    if ((i / processes) % lag == 0) store.serve(lease, 0);
  }
  return admitted;
}

TEST(QuotaLease, SlicesAreFivePercentAndAtLeastOne) {
  EXPECT_EQ(QuotaLease(QuotaLimits{200, 0}).slice_requests(), 10);
  EXPECT_EQ(QuotaLease(QuotaLimits{3, 0}).slice_requests(), 1);
  EXPECT_EQ(QuotaLease(QuotaLimits{0, 100000}).slice_tokens(), 5000);
  EXPECT_EQ(QuotaLease(QuotaLimits{0, 100000}).slice_requests(), 0);
}

TEST(QuotaLease, FourProcessesHoldTheFleetLimitWhenGrantsKeepUp) {
  FakeStore store{{200, 0}};
  const int admitted = run_fleet(4, 200, 1, 2000, store);
  EXPECT_LE(admitted, 200);
  EXPECT_GE(admitted, 190);  // within 5%: only what is left in other processes' slices is lost
  EXPECT_EQ(store.used[0].first, 200);
  // One take per slice (and the refusals that found the window full), not one per request.
  EXPECT_LE(store.takes, 200 / 10 + 4 * 2 + 4);
}

TEST(QuotaLease, SlowGrantsOvershootAtMostOneSlicePerProcess) {
  FakeStore store{{200, 0}};
  const int admitted = run_fleet(4, 200, 25, 4000, store);
  EXPECT_LE(admitted, 200 + 4 * 10);
  EXPECT_GE(admitted, 180);
}

TEST(QuotaLease, CreditCoversTheFirstRequestsBeforeAnyGrant) {
  QuotaLease lease(QuotaLimits{100, 0});  // slice 5
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(lease.try_spend(7, 0)) << i;
  EXPECT_FALSE(lease.try_spend(7, 0));  // one slice of credit, no more
  auto want = lease.wanted(7);
  ASSERT_TRUE(want);
  EXPECT_EQ(want->requests, 5 + 5);  // a slice plus the credit to pay back
  EXPECT_FALSE(lease.wanted(7));     // pending: asked once
  lease.granted(*want, 10, 0);
  EXPECT_EQ(lease.state().requests_left, 5);
  EXPECT_TRUE(lease.try_spend(7, 0));
}

TEST(QuotaLease, AFullWindowRefusesUntilTheNextWindow) {
  QuotaLease lease(QuotaLimits{20, 0});  // slice 1
  auto want = lease.wanted(3);
  ASSERT_TRUE(want);
  lease.granted(*want, 0, 0);  // the fleet used it all
  EXPECT_TRUE(lease.state().exhausted);
  EXPECT_FALSE(lease.try_spend(3, 0));  // no credit once the store said full
  EXPECT_FALSE(lease.wanted(3));        // and no more asking in this window
  EXPECT_TRUE(lease.try_spend(4, 0));   // a new window: credit again
  EXPECT_FALSE(lease.state().exhausted);
  ASSERT_TRUE(lease.wanted(4));
}

TEST(QuotaLease, AGrantForAnOldWindowIsIgnored) {
  QuotaLease lease(QuotaLimits{20, 0});
  auto want = lease.wanted(1);
  ASSERT_TRUE(want);
  EXPECT_TRUE(lease.try_spend(2, 0));
  lease.granted(*want, 1, 0);
  EXPECT_EQ(lease.state().requests_left, -1);
  EXPECT_EQ(lease.state().window, 2);
}

TEST(QuotaLease, StoreDownAdmitsLocallyUntilAGrantComesBack) {
  QuotaLease lease(QuotaLimits{20, 0});
  auto want = lease.wanted(1);
  lease.unavailable(*want);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(lease.try_spend(1, 0));  // the router's own window still holds
  EXPECT_TRUE(lease.state().local);
  auto again = lease.wanted(1);  // still asks, so a store that is back is noticed
  ASSERT_TRUE(again);
  lease.granted(*again, 1, 0);
  EXPECT_FALSE(lease.state().local);
}

TEST(QuotaLease, GiveBackAndCorrectMoveTheLocalBalance) {
  QuotaLease lease(QuotaLimits{100, 10000});  // slices 5 and 500
  auto want = lease.wanted(0);
  lease.granted(*want, 5, 500);
  ASSERT_TRUE(lease.try_spend(0, 200));
  lease.correct(0, 100);  // the answer used 300
  EXPECT_EQ(lease.state().tokens_left, 200);
  ASSERT_TRUE(lease.try_spend(0, 100));
  lease.give_back(0, 100);  // never sent
  EXPECT_EQ(lease.state().requests_left, 4);
  EXPECT_EQ(lease.state().tokens_left, 200);
  lease.give_back(1, 100);  // another window: nothing
  EXPECT_EQ(lease.state().requests_left, 4);
}

TEST(QuotaLease, ARequestLargerThanASliceAsksForEnough) {
  QuotaLease lease(QuotaLimits{0, 10000});  // slice 500
  auto want = lease.wanted(0);
  lease.granted(*want, 0, 500);
  bool refill = false;
  EXPECT_TRUE(lease.try_spend(0, 2000, &refill));  // a whole slice is there: taken on credit
  EXPECT_TRUE(refill);
  EXPECT_FALSE(lease.try_spend(0, 2000));  // the credit is spent
  auto next = lease.wanted(0);
  ASSERT_TRUE(next);
  EXPECT_GE(next->tokens, 2000 + 1500);  // room for the large request plus the debt
}

}  // namespace
}  // namespace llmfailover::policy
