// sync_call.hpp — test helper: run one HttpClient exchange and collect its events.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <vector>

#include "llmfailover/channel.hpp"
#include "llmfailover/transport/http_client.hpp"

namespace llmfailover::test {

struct Collected {
  std::vector<Event> events;
  const Event& last() const { return events.back(); }
  int status() const { return !events.empty() && events.front().kind == Event::Kind::head ? events.front().status : 0; }
  std::size_t count(Event::Kind k) const {
    std::size_t n = 0;
    for (auto& e : events) n += e.kind == k;
    return n;
  }
};

// Starts `req`; events land in a Channel the caller can wait on.
inline std::pair<std::shared_ptr<transport::Exchange>, std::shared_ptr<Channel>> start(transport::HttpClient& client,
                                                                                       HttpRequest req) {
  auto ch = std::make_shared<Channel>();
  auto ex = client.start(std::move(req), [ch](Event&& e) { ch->push(std::move(e)); });
  return {ex, ch};
}

// Waits (at most `limit`) for the terminal event.
inline Collected drain(Channel& ch, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  Collected c;
  auto until = std::chrono::steady_clock::now() + limit;
  while (c.events.empty() || !c.events.back().terminal()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !ch.wait(c.events, left)) break;
  }
  return c;
}

inline Collected fetch(transport::HttpClient& client, HttpRequest req) {
  auto [ex, ch] = start(client, std::move(req));
  return drain(*ch);
}

}  // namespace llmfailover::test
