// fuzz_input.hpp — small helpers shared by the libFuzzer targets in this directory.
//
// A target reads a few control bytes from the front of its input (which dialect, how to split
// the rest) and treats the remainder as the bytes an upstream sent. Splitting the same bytes
// differently must not change what a streaming parser yields: several targets check that
// (differential fuzzing, as in libFuzzer's docs "Fuzzing with structure-aware inputs").
//
// Thread safety: none needed; libFuzzer calls LLVMFuzzerTestOneInput from one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace llmf_fuzz {

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}
  // The next control byte (0 once the input is exhausted).
  std::uint8_t byte() {
    if (rest_.empty()) return 0;
    auto b = static_cast<std::uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return b;
  }
  std::string_view rest() const { return rest_; }

 private:
  std::string_view rest_;
};

// `bytes` cut into pieces of 1..step bytes, the size of each piece varying with `seed`, so one
// control byte explores one-byte feeds, large feeds and uneven ones.
inline std::vector<std::string_view> pieces(std::string_view bytes, std::uint8_t seed) {
  std::vector<std::string_view> out;
  std::size_t step = (seed & 0x3f) + 1;
  unsigned state = seed | 1u;
  while (!bytes.empty()) {
    std::size_t n = step;
    if (seed & 0x40) {  // uneven: a small LCG picks each piece's size in 1..step
      state = state * 1103515245u + 12345u;
      n = 1 + (state >> 16) % step;
    }
    n = n < bytes.size() ? n : bytes.size();
    out.push_back(bytes.substr(0, n));
    bytes.remove_prefix(n);
  }
  return out;
}

// A property the target checks failed: print it and abort, so libFuzzer saves the input.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "llmf_fuzz: property violated: %s\n", what);
  std::abort();
}

}  // namespace llmf_fuzz
