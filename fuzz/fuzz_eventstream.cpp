// fuzz_eventstream.cpp — the AWS event-stream decoder (providers/eventstream.hpp), Bedrock's
// ConverseStream framing, on arbitrary bytes.
//
// Input: [split byte][stream bytes]. Checks: no crash/UB/leak; DecodeError is the only exception;
// the messages decoded do not depend on the split; every decoded message re-encodes to bytes that
// decode to the same message (encode() and Decoder agree).
#include <cstdint>
#include <vector>

#include "fuzz_input.hpp"
#include "llmfailover/providers/eventstream.hpp"

namespace es = llmfailover::providers::eventstream;

namespace {

struct Result {
  std::vector<es::Message> messages;
  bool failed = false;
  std::size_t buffered = 0;
};

Result decode(const std::vector<std::string_view>& pieces) {
  Result r;
  es::Decoder decoder;
  try {
    for (auto piece : pieces) decoder.feed(piece, r.messages);
  } catch (const es::DecodeError&) {
    r.failed = true;
  }
  r.buffered = decoder.buffered();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  llmf_fuzz::Input in(data, size);
  std::uint8_t split = in.byte();
  std::string_view stream = in.rest();
  Result whole = decode({stream});
  Result split_up = decode(llmf_fuzz::pieces(stream, split));
  if (whole.failed != split_up.failed)
    llmf_fuzz::fail("event-stream: a bad frame is detected or not depending on the split");
  if (whole.messages != split_up.messages) llmf_fuzz::fail("event-stream: messages depend on the split");
  if (!whole.failed && whole.buffered != split_up.buffered)
    llmf_fuzz::fail("event-stream: buffered() depends on the split");
  for (const auto& m : whole.messages) {
    std::vector<es::Message> again;
    es::Decoder d;
    try {
      d.feed(es::encode(m), again);
    } catch (const es::DecodeError&) {
      llmf_fuzz::fail("event-stream: a decoded message does not re-encode to a valid frame");
    }
    if (again.size() != 1 || !(again[0] == m) || d.buffered() != 0)
      llmf_fuzz::fail("event-stream: encode(decode(x)) does not decode to the same message");
  }
  return 0;
}
