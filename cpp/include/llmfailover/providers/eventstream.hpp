// eventstream.hpp — the AWS binary event-stream framing (`application/vnd.amazon.eventstream`),
// which Bedrock's ConverseStream uses instead of SSE (drop_in.md 4.4).
//
//   message = [u32 total_length][u32 headers_length][u32 prelude_crc]   all big-endian
//             [headers: (u8 name_len, name, u8 type, value)*][payload][u32 message_crc]
//   prelude_crc = CRC-32 of the first 8 bytes; message_crc = CRC-32 of everything before it.
//   Header value types: 0 true, 1 false, 2 byte, 3 short, 4 int, 5 long, 6 bytes (u16 length),
//   7 string (u16 length), 8 timestamp (i64 ms), 9 uuid (16 bytes).
//
// Decoder takes arbitrary splits of the byte stream (one byte at a time, several messages at
// once) and yields whole messages; a bad CRC or an impossible length throws DecodeError, after
// which the decoder stays failed (the stream cannot be resynchronised). encode() writes the same
// framing (used by the fake provider and tests).
// Limits follow botocore.eventstream: 128 KiB of headers, 24 MiB of payload.
//
// Thread safety: values and pure functions; a Decoder is used by one stream at a time.
// Cost: decoding copies each message once; CRC-32 is table-driven (boost::crc).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace llmfailover::providers::eventstream {

enum class HeaderType : std::uint8_t {
  bool_true = 0,
  bool_false = 1,
  byte = 2,
  int16 = 3,
  int32 = 4,
  int64 = 5,
  bytes = 6,
  string = 7,
  timestamp = 8,
  uuid = 9
};

struct Header {
  std::string name;
  HeaderType type = HeaderType::string;
  std::string value;  // string/bytes: the content; fixed-size types: their big-endian bytes; bools: ""
  bool operator==(const Header&) const = default;
};

struct Message {
  std::vector<Header> headers;
  std::string payload;
  // The value of a string header, or nullptr.
  const std::string* header(std::string_view name) const noexcept;
  bool operator==(const Message&) const = default;
};

class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr std::size_t kMaxHeadersLength = std::size_t{128} * 1024;
inline constexpr std::size_t kMaxPayloadLength = std::size_t{24} * 1024 * 1024;

// CRC-32 as zlib/gzip compute it (polynomial 0x04C11DB7, reflected).
std::uint32_t crc32(std::string_view bytes) noexcept;

// The framed bytes of `message` (only string and bytes headers are written from `value`; fixed-size
// types must already hold their big-endian bytes).
std::string encode(const Message& message);
// A string-headers-only message: the common case.
std::string encode(const std::vector<std::pair<std::string, std::string>>& string_headers, std::string_view payload);

class Decoder {
 public:
  // Appends every message completed by `bytes` to `out`. Throws DecodeError on a bad frame.
  void feed(std::string_view bytes, std::vector<Message>& out);
  // Bytes held that do not yet form a whole message (non-zero at the end = a truncated stream).
  std::size_t buffered() const noexcept { return buffer_.size(); }

 private:
  std::string buffer_;
  bool failed_ = false;
};

}  // namespace llmfailover::providers::eventstream
