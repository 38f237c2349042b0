// channel.hpp — the pull-based hand-off of response events from io threads to a consumer.
//
// Producers (io threads) push Events; a consumer (a Python thread with the GIL released, or an
// asyncio loop woken through a Notifier) takes them in batches. io threads never block on the
// consumer and never touch Python: a notify callback only flags that events are waiting.
//
// Call order: producer: push()* (the last one terminal); consumer: wait()/poll() until a terminal
// event is taken; either side may cancel() at any time; on_cancel() registers the producer's hook.
// Thread safety: every member is safe to call from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "llmfailover/http.hpp"

namespace llmfailover {

class Channel : public FlowControl {
 public:
  Channel() = default;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Producer side. Events after the terminal one are dropped.
  void push(Event event);

  // Consumer side. Moves every pending event into `out`; waits up to `max_wait` (forever when
  // nullopt) for the first one. Returns false on time-out with nothing taken.
  bool wait(std::vector<Event>& out, std::optional<Millis> max_wait);
  // Like wait(), but sleeps until the terminal event is queued (or the producer pauses behind the
  // high-water marks, so a large body cannot stall it), then takes everything: a non-streamed
  // call wakes its consumer once instead of once per event (issue 14: head, body and end were
  // three futex wake-ups and context switches). On time-out it takes what is pending, if any.
  bool wait_end(std::vector<Event>& out, std::optional<Millis> max_wait);
  // Non-blocking variant of wait().
  void poll(std::vector<Event>& out);

  // `fn` runs on the producing thread after each push that made events available (and at once if
  // some already are). It must be cheap and must not call back into this channel.
  void set_notify(std::function<void()> fn);

  // Cancels the producer (runs its hook once) and, if nothing terminal was pushed yet, queues an
  // `cancelled` error so the consumer always sees an end.
  void cancel();
  // Producer's cancellation hook; runs at once if cancel() already happened.
  void on_cancel(std::function<void()> fn);
  // Runs once, inside the push() of the first terminal event, before a consumer can see it (so a
  // router's metrics count a call before its caller learns it ended); on the pushing thread with
  // this channel's lock held: it must not call back into the channel. Set before the first push.
  void on_finish(std::function<void()> fn);

  bool cancelled() const;
  bool finished() const;  // a terminal event was pushed

  // High-water marks for pause_if_behind(); 0 = no limit (the default: never pauses).
  void set_limits(std::size_t max_events, std::size_t max_bytes);
  bool pause_if_behind(std::function<void()> resume) override;
  // Between these (they nest: one hold per producer), push() queues without waking a wait()ing
  // consumer or running the notify callback; the last release does both once if events are
  // queued. A terminal event wakes at once, held or not.
  void hold_wakeups() override;
  void release_wakeups() override;
  // Yields the producer's vCPU (sched_yield) when the events it delivered are still queued: a
  // consumer woken on the same vCPU takes the head and the first events now, instead of after the
  // producer parsed a whole burst (a 49 KB stream read at once: ~110 us). Nothing when the
  // consumer already took them or the channel is cancelled; on another vCPU the yield returns at
  // once (nothing else is runnable there).
  void first_events_delivered() override;

  struct QueueStats {
    std::size_t events = 0, bytes = 0;            // queued now
    std::size_t peak_events = 0, peak_bytes = 0;  // most ever queued at once
    std::size_t pauses = 0;                       // times the producer was paused
  };
  QueueStats queue_stats() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Event> events_;
  std::function<void()> notify_;
  std::function<void()> cancel_hook_;
  std::function<void()> finish_hook_;
  std::function<void()> resume_;  // a paused producer's wake-up
  std::size_t max_events_ = 0, max_bytes_ = 0;
  int event_waiters_ = 0;  // consumers in wait(): woken when events arrive; wait_end() only by the last
  int holds_ = 0;          // hold_wakeups() not yet released
  bool owed_ = false;      // a push under a hold made events available: release wakes
  QueueStats stats_;
  bool cancelled_ = false;
  bool finished_ = false;

  std::function<void()> take_all(std::vector<Event>& out);  // under mutex_; returns resume_ to run
  template <class Ready>
  bool wait_for(std::unique_lock<std::mutex>& lock, std::optional<Millis> max_wait, Ready ready);
};

}  // namespace llmfailover
