// shard.hpp (private) — one io shard (an io_context run by one thread, its pool, its live tasks)
// and the tasks that live on it: exchanges and scheduled callbacks.
//
// Thread safety: every member of Shard is touched only on its thread; Task::cancel() may be
// called from any thread (it posts).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <functional>
#include <memory>
#include <thread>
#include <unordered_set>

#include "connection_pool.hpp"

namespace llmfailover::transport::detail {

class Task;  // an exchange or a scheduled callback living on a shard

struct Shard {
  explicit Shard(PoolLimits limits) : ioc(1), pool(limits) {}
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  ConnectionPool pool;
  std::unordered_set<Task*> live;  // for shutdown
  bool stopping = false;
  std::thread thread;
};

class Task : public Exchange, public std::enable_shared_from_this<Task> {
 public:
  explicit Task(Shard& shard) : shard_(shard) {}
  void cancel() override {
    asio::post(shard_.ioc, [self = shared_from_this()] { self->abort(); });
  }
  // On the shard thread: stop whatever the task is waiting on.
  virtual void abort() = 0;
  // On the shard thread, when the client closes: end promptly, so that nobody waits forever.
  virtual void shutdown() { abort(); }

 protected:
  Shard& shard_;
};

class Scheduled final : public Task {
 public:
  Scheduled(Shard& shard, std::function<void()> fn) : Task(shard), timer_(shard.ioc), fn_(std::move(fn)) {}
  void start(Millis delay) {
    shard_.live.insert(this);
    timer_.expires_at(deadline_after(delay));  // saturates: a huge delay must not wrap round
    timer_.async_wait([self = std::static_pointer_cast<Scheduled>(shared_from_this())](beast::error_code ec) {
      self->shard_.live.erase(self.get());
      if (!ec && !self->aborted_) self->fn_();
    });
  }
  void abort() override {
    aborted_ = true;
    timer_.cancel();
  }
  // Runs the callback early: what it starts fails fast on a closing client.
  void shutdown() override {
    if (aborted_) return;
    aborted_ = true;
    timer_.cancel();
    fn_();
  }

 private:
  asio::steady_timer timer_;
  std::function<void()> fn_;
  bool aborted_ = false;
};

// An exception escaping a handler must not end the process (std::terminate on a bare thread) nor
// the shard: it is reported and the loop goes on (Asio's documented pattern for io_context::run).
inline void run_io(asio::io_context& ioc) {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "llmfailover: an io handler threw (%s); the io thread goes on\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "llmfailover: an io handler threw; the io thread goes on\n");
    }
  }
}

}  // namespace llmfailover::transport::detail
