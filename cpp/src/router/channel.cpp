#include "llmfailover/channel.hpp"

#include <algorithm>
#include <thread>
#include <utility>

namespace llmfailover {

void Channel::push(Event event) {
  std::function<void()> notify;
  bool wake;
  {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    finished_ = event.terminal();
    if (finished_ && finish_hook_) {
      auto hook = std::exchange(finish_hook_, nullptr);
      try {
        hook();
      } catch (...) {  // an observer's failure never loses the event
      }
    }
    // Only a push that makes events available tells the consumer: one into a queue that is not
    // empty finds it told already (or not asleep: wait() sleeps only on an empty queue). Under a
    // hold, the telling waits for the release; the end never waits.
    const bool fresh = events_.empty();
    stats_.bytes += event.data.size();
    events_.push_back(std::move(event));
    stats_.events = events_.size();
    stats_.peak_events = std::max(stats_.peak_events, stats_.events);
    stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.bytes);
    const bool tell = finished_ || (fresh && holds_ == 0);
    if (fresh && holds_ > 0 && !finished_) owed_ = true;
    if (finished_) owed_ = false;
    if (tell) notify = notify_;
    wake = finished_ || (tell && event_waiters_ > 0);
  }
  if (wake) ready_.notify_all();
  if (notify) notify();
}

void Channel::hold_wakeups() {
  std::lock_guard lock(mutex_);
  ++holds_;
}

void Channel::release_wakeups() {
  std::function<void()> notify;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (holds_ > 0) --holds_;
    if (holds_ > 0 || !owed_) return;
    owed_ = false;
    if (events_.empty()) return;  // a poll() took them meanwhile
    notify = notify_;
    wake = event_waiters_ > 0;
  }
  if (wake) ready_.notify_all();
  if (notify) notify();
}

template <class Ready>
bool Channel::wait_for(std::unique_lock<std::mutex>& lock, std::optional<Millis> max_wait, Ready ready) {
  // Saturating: a huge max_wait means forever, not a wrapped-round instant in the past.
  Clock::time_point until = max_wait ? deadline_after(*max_wait) : Clock::time_point::max();
  if (until == Clock::time_point::max()) {
    ready_.wait(lock, ready);
    return true;
  }
  return ready_.wait_until(lock, until, ready);
}

bool Channel::wait(std::vector<Event>& out, std::optional<Millis> max_wait) {
  std::function<void()> resume;
  {
    std::unique_lock lock(mutex_);
    ++event_waiters_;
    bool ready = wait_for(lock, max_wait, [this] { return !events_.empty(); });
    --event_waiters_;
    if (!ready) return false;
    resume = take_all(out);
  }
  if (resume) resume();
  return true;
}

bool Channel::wait_end(std::vector<Event>& out, std::optional<Millis> max_wait) {
  std::function<void()> resume;
  {
    std::unique_lock lock(mutex_);
    wait_for(lock, max_wait, [this] { return finished_ || resume_; });
    if (events_.empty()) return false;
    resume = take_all(out);
  }
  if (resume) resume();
  return true;
}

void Channel::poll(std::vector<Event>& out) {
  std::function<void()> resume;
  {
    std::lock_guard lock(mutex_);
    resume = take_all(out);
  }
  if (resume) resume();
}

std::function<void()> Channel::take_all(std::vector<Event>& out) {
  for (auto& e : events_) out.push_back(std::move(e));
  events_.clear();
  stats_.events = stats_.bytes = 0;
  return std::exchange(resume_, nullptr);
}

void Channel::set_limits(std::size_t max_events, std::size_t max_bytes) {
  std::lock_guard lock(mutex_);
  max_events_ = max_events;
  max_bytes_ = max_bytes;
}

bool Channel::pause_if_behind(std::function<void()> resume) {
  std::lock_guard lock(mutex_);
  bool behind = (max_events_ > 0 && events_.size() >= max_events_) || (max_bytes_ > 0 && stats_.bytes >= max_bytes_);
  if (!behind || cancelled_ || finished_) return false;
  resume_ = std::move(resume);
  ++stats_.pauses;
  ready_.notify_all();  // a wait_end() consumer must take events now, or the producer stays paused
  return true;
}

void Channel::first_events_delivered() {
  bool pending;
  {
    std::lock_guard lock(mutex_);
    pending = !events_.empty() && !cancelled_;
  }
  if (pending) std::this_thread::yield();
}

Channel::QueueStats Channel::queue_stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void Channel::set_notify(std::function<void()> fn) {
  std::function<void()> now;  // events already queued: notify once, outside the lock
  {
    std::lock_guard lock(mutex_);
    notify_ = std::move(fn);
    if (!events_.empty()) now = notify_;
  }
  if (now) now();
}

void Channel::cancel() {
  std::function<void()> hook, resume;
  {
    std::lock_guard lock(mutex_);
    if (cancelled_) return;
    cancelled_ = true;
    hook = std::move(cancel_hook_);
    resume = std::exchange(resume_, nullptr);
  }
  if (hook) hook();
  if (resume) resume();
  push(Event::failure({Errc::cancelled, "cancelled by the caller", false}));
}

void Channel::on_finish(std::function<void()> fn) {
  std::lock_guard lock(mutex_);
  if (!finished_) finish_hook_ = std::move(fn);
}

void Channel::on_cancel(std::function<void()> fn) {
  {
    std::lock_guard lock(mutex_);
    if (!cancelled_) {
      cancel_hook_ = std::move(fn);
      return;
    }
  }
  if (fn) fn();  // already cancelled: run it now, outside the lock
}

bool Channel::cancelled() const {
  std::lock_guard lock(mutex_);
  return cancelled_;
}

bool Channel::finished() const {
  std::lock_guard lock(mutex_);
  return finished_;
}

}  // namespace llmfailover
