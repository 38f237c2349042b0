// saturate.hpp — a double from outside (a header, a JSON number, a config value) to an integer
// without undefined behaviour: converting a floating value outside the integer's range is
// undefined (C++20 [conv.fpint]/1), and upstreams send 1e308 where a count or a delay belongs.
//
// Thread safety: pure functions.
#pragma once

#include <chrono>
#include <cmath>
#include <limits>

namespace llmfailover {

// NaN -> 0; beyond long long's range -> its minimum or maximum; otherwise truncated toward zero.
inline long long saturate_ll(double v) noexcept {
  if (std::isnan(v)) return 0;
  constexpr double kTop = 9223372036854775807.0;  // rounds to 2^63, the first value out of range
  if (v >= kTop) return std::numeric_limits<long long>::max();
  if (v <= -kTop) return std::numeric_limits<long long>::min();
  return static_cast<long long>(v);
}

// A duration in milliseconds from a double, clamped to +-1e12 ms (about 31 years): far beyond any
// wait that matters, and small enough that adding it to a steady_clock time point in nanoseconds
// cannot overflow. NaN -> 0.
inline std::chrono::milliseconds saturate_millis(double ms) noexcept {
  constexpr double kMax = 1e12;
  if (std::isnan(ms)) return std::chrono::milliseconds{0};
  return std::chrono::milliseconds{saturate_ll(ms < -kMax ? -kMax : ms > kMax ? kMax : ms)};
}

}  // namespace llmfailover
