#include "llmfailover/channel.hpp"

namespace llmfailover {

void Channel::push(Event event) {
  std::function<void()> notify;
  {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    finished_ = event.terminal();
    events_.push_back(std::move(event));
    notify = notify_;
  }
  ready_.notify_all();
  if (notify) notify();
}

bool Channel::wait(std::vector<Event>& out, std::optional<Millis> max_wait) {
  std::unique_lock lock(mutex_);
  auto has_events = [this] { return !events_.empty(); };
  if (max_wait) {
    if (!ready_.wait_for(lock, *max_wait, has_events)) return false;
  } else {
    ready_.wait(lock, has_events);
  }
  for (auto& e : events_) out.push_back(std::move(e));
  events_.clear();
  return true;
}

void Channel::poll(std::vector<Event>& out) {
  std::lock_guard lock(mutex_);
  for (auto& e : events_) out.push_back(std::move(e));
  events_.clear();
}

void Channel::set_notify(std::function<void()> fn) {
  bool pending;
  {
    std::lock_guard lock(mutex_);
    notify_ = fn;
    pending = !events_.empty();
  }
  if (pending && fn) fn();
}

void Channel::cancel() {
  std::function<void()> hook;
  {
    std::lock_guard lock(mutex_);
    if (cancelled_) return;
    cancelled_ = true;
    hook = std::move(cancel_hook_);
  }
  if (hook) hook();
  push(Event::failure({Errc::cancelled, "cancelled by the caller", false}));
}

void Channel::on_cancel(std::function<void()> fn) {
  bool run_now;
  {
    std::lock_guard lock(mutex_);
    run_now = cancelled_;
    if (!run_now) cancel_hook_ = std::move(fn);
  }
  if (run_now && fn) fn();
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
