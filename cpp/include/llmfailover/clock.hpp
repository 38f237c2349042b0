// clock.hpp — injected time and randomness, so every policy is a fast deterministic unit test
// (envoy TimeSource, resilience4j MockClock).
//
// Policies read time only through a TimeSource and draw jitter only through a Random. Production
// uses SteadyTimeSource and SeededRandom; tests use ManualClock and SequenceRandom.
// Thread safety: all four are safe to share between threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>
#include <vector>

namespace llmfailover {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

class TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual Clock::time_point now() const = 0;
};

class SteadyTimeSource final : public TimeSource {
 public:
  Clock::time_point now() const override { return Clock::now(); }
};

// A clock that moves only when told to.
class ManualClock final : public TimeSource {
 public:
  explicit ManualClock(Clock::time_point start = Clock::time_point{} + std::chrono::hours(1))
      : now_(start.time_since_epoch().count()) {}
  Clock::time_point now() const override { return Clock::time_point{Clock::duration{now_.load()}}; }
  void advance(Clock::duration d) { now_ += d.count(); }
  void set(Clock::time_point t) { now_ = t.time_since_epoch().count(); }

 private:
  std::atomic<Clock::rep> now_;
};

class Random {
 public:
  virtual ~Random() = default;
  virtual double uniform() = 0;  // in [0, 1)
};

class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed = std::random_device{}()) : gen_(seed) {}
  double uniform() override {
    std::lock_guard lock(mutex_);
    return std::uniform_real_distribution<double>(0.0, 1.0)(gen_);
  }

 private:
  std::mutex mutex_;
  std::mt19937_64 gen_;
};

// Returns the given values in order, cycling.
class SequenceRandom final : public Random {
 public:
  explicit SequenceRandom(std::vector<double> values) : values_(std::move(values)) {}
  double uniform() override {
    std::lock_guard lock(mutex_);
    if (values_.empty()) return 0.0;
    double v = values_[next_ % values_.size()];
    ++next_;
    return v;
  }

 private:
  std::mutex mutex_;
  std::vector<double> values_;
  std::size_t next_ = 0;
};

}  // namespace llmfailover
