// fuzz_sse.cpp — the SSE parser (transport/sse.hpp) on arbitrary bytes.
//
// Input: [split byte][stream bytes]. Checks: no crash/UB/leak (ASan, UBSan), and the events are
// the same whether the stream arrives in one piece or split as the split byte says (the parser
// promises "split anywhere, even inside a CRLF").
#include <cstdint>
#include <vector>

#include "fuzz_input.hpp"
#include "llmfailover/transport/sse.hpp"

using llmfailover::transport::SseEvent;
using llmfailover::transport::SseParser;

namespace {

struct Result {
  std::vector<SseEvent> events;
  bool flushed = false;
  long retry = -1;
};

template <typename Pieces>
Result parse(const Pieces& pieces) {
  Result r;
  SseParser parser([&](SseEvent&& e) { r.events.push_back(std::move(e)); });
  for (auto piece : pieces) parser.feed(piece);
  r.flushed = parser.finish();
  r.retry = parser.retry_ms();
  if (parser.events_dispatched() != r.events.size()) llmf_fuzz::fail("events_dispatched() != events delivered");
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  llmf_fuzz::Input in(data, size);
  std::uint8_t split = in.byte();
  std::string_view stream = in.rest();
  Result whole = parse(std::vector<std::string_view>{stream});
  Result split_up = parse(llmf_fuzz::pieces(stream, split));
  if (whole.events != split_up.events) llmf_fuzz::fail("SSE events depend on how the bytes were split");
  if (whole.flushed != split_up.flushed) llmf_fuzz::fail("finish() result depends on the split");
  if (whole.retry != split_up.retry) llmf_fuzz::fail("retry_ms() depends on the split");
  return 0;
}
