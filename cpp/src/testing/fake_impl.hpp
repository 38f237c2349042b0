// fake_impl.hpp — (private) FakeProvider's shared state, and the server that consults it.
//
// The state (scripts, counters, records) lives here behind one mutex; fake_server.cpp owns the
// sockets and asks plan() what to do with each request, then reports with add_record().
//
// Thread safety: every member function locks `mutex`; the server calls them from io threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dialect.hpp"
#include "llmfailover/testing/fake_provider.hpp"

namespace llmfailover::testing {

// The io side: acceptor, sessions and io threads (fake_server.cpp).
class FakeServer {
 public:
  virtual ~FakeServer() = default;
  virtual std::uint16_t port() const noexcept = 0;
  virtual void stop() = 0;  // idempotent; closes every connection and joins the threads
};

struct FakeProvider::Impl {
  // What to do with one request, decided when it arrives.
  struct Plan {
    int attempt = 0;
    Fault fault;
    std::string content;                        // the reply text
    std::optional<detail::ToolCall> tool_call;  // set: the chat answer is this call, not `content`
    std::string request_id;
    std::int64_t created = 0;  // unix seconds
  };

  explicit Impl(Options opts);

  Clock::time_point now() const;
  double since_start() const;
  Plan plan(const std::string& model);  // counts the attempt
  void add_record(AttemptRecord record);
  std::vector<std::string> model_list() const;

  const Options options;
  const std::unique_ptr<detail::Dialect> dialect;
  const Clock::time_point started;

  mutable std::mutex mutex;
  // A script starts at the attempt after script() was called: entry i is for the attempt whose
  // per-model count is base[model] + i + 1 (base: the counters then; "*" covers every model).
  struct Script {
    std::vector<Fault> faults;
    std::map<std::string, int, std::less<>> base;
  };
  std::map<std::string, Script, std::less<>> scripts;
  std::map<std::string, Fault, std::less<>> defaults;
  std::map<std::string, std::string, std::less<>> replies;
  std::map<std::string, detail::ToolCall, std::less<>> tool_calls;
  struct Outage {
    Clock::time_point until;
    Fault fault;
  };
  std::map<std::string, Outage, std::less<>> outages;
  std::map<std::string, int, std::less<>> counters;
  std::vector<AttemptRecord> records;
  std::uint64_t next_request = 0;

  std::unique_ptr<FakeServer> server;  // last member: stopped first
};

std::unique_ptr<FakeServer> make_fake_server(FakeProvider::Impl& impl);

}  // namespace llmfailover::testing
