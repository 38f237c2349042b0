// eventstream.cpp — AWS event-stream framing: CRC-32, encoder, incremental decoder.
// Reference: botocore/eventstream.py (EventStreamBuffer, _parse_prelude, _validate_checksum) and the
// Transcribe streaming docs ("Event stream encoding").
#include "llmfailover/providers/eventstream.hpp"

#include <boost/crc.hpp>

namespace llmfailover::providers::eventstream {
namespace {

constexpr std::size_t kPrelude = 12;   // total length, headers length, prelude CRC
constexpr std::size_t kOverhead = 16;  // prelude + message CRC

std::uint32_t read_u32(std::string_view b, std::size_t at) {
  return (std::uint32_t(std::uint8_t(b[at])) << 24) | (std::uint32_t(std::uint8_t(b[at + 1])) << 16) |
         (std::uint32_t(std::uint8_t(b[at + 2])) << 8) | std::uint32_t(std::uint8_t(b[at + 3]));
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_u16(std::string& out, std::size_t v) {
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

std::size_t fixed_size(HeaderType t) {
  switch (t) {
    case HeaderType::bool_true:
    case HeaderType::bool_false: return 0;
    case HeaderType::byte: return 1;
    case HeaderType::int16: return 2;
    case HeaderType::int32: return 4;
    case HeaderType::int64:
    case HeaderType::timestamp: return 8;
    case HeaderType::uuid: return 16;
    default: return SIZE_MAX;  // variable (bytes, string)
  }
}

std::vector<Header> parse_headers(std::string_view h) {
  std::vector<Header> out;
  std::size_t at = 0;
  auto need = [&](std::size_t n) {
    if (h.size() - at < n) throw DecodeError("event stream: a header runs past the headers block");
  };
  while (at < h.size()) {
    Header header;
    need(1);
    const std::size_t name_len = std::uint8_t(h[at++]);
    need(name_len + 1);
    header.name = std::string(h.substr(at, name_len));
    at += name_len;
    const auto type = std::uint8_t(h[at++]);
    if (type > 9) throw DecodeError("event stream: unknown header type " + std::to_string(type));
    header.type = static_cast<HeaderType>(type);
    std::size_t len = fixed_size(header.type);
    if (len == SIZE_MAX) {
      need(2);
      len = (std::size_t(std::uint8_t(h[at])) << 8) | std::uint8_t(h[at + 1]);
      at += 2;
    }
    need(len);
    header.value = std::string(h.substr(at, len));
    at += len;
    out.push_back(std::move(header));
  }
  return out;
}

}  // namespace

const std::string* Message::header(std::string_view name) const noexcept {
  for (const auto& h : headers) {
    if (h.name == name && h.type == HeaderType::string) return &h.value;
  }
  return nullptr;
}

std::uint32_t crc32(std::string_view bytes) noexcept {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

std::string encode(const Message& message) {
  std::string headers;
  for (const auto& h : message.headers) {
    headers.push_back(static_cast<char>(h.name.size()));
    headers += h.name;
    headers.push_back(static_cast<char>(h.type));
    if (fixed_size(h.type) == SIZE_MAX) put_u16(headers, h.value.size());
    headers += h.value;
  }
  std::string out;
  put_u32(out, static_cast<std::uint32_t>(kOverhead + headers.size() + message.payload.size()));
  put_u32(out, static_cast<std::uint32_t>(headers.size()));
  put_u32(out, crc32(out));
  out += headers;
  out += message.payload;
  put_u32(out, crc32(out));
  return out;
}

std::string encode(const std::vector<std::pair<std::string, std::string>>& string_headers, std::string_view payload) {
  Message m;
  for (const auto& [name, value] : string_headers) m.headers.push_back({name, HeaderType::string, value});
  m.payload = std::string(payload);
  return encode(m);
}

void Decoder::feed(std::string_view bytes, std::vector<Message>& out) {
  if (failed_) throw DecodeError("event stream: the stream already failed");
  buffer_.append(bytes);
  std::size_t at = 0;
  try {
    while (buffer_.size() - at >= kPrelude) {
      const std::string_view rest(buffer_.data() + at, buffer_.size() - at);
      const std::uint32_t total = read_u32(rest, 0), headers_len = read_u32(rest, 4);
      if (crc32(rest.substr(0, 8)) != read_u32(rest, 8)) throw DecodeError("event stream: prelude CRC mismatch");
      if (headers_len > kMaxHeadersLength) throw DecodeError("event stream: headers longer than 128 KiB");
      if (total < kOverhead + headers_len || total - kOverhead - headers_len > kMaxPayloadLength) {
        throw DecodeError("event stream: impossible message length " + std::to_string(total));
      }
      if (rest.size() < total) break;
      if (crc32(rest.substr(0, total - 4)) != read_u32(rest, total - 4))
        throw DecodeError("event stream: message CRC mismatch");
      Message m;
      m.headers = parse_headers(rest.substr(kPrelude, headers_len));
      m.payload = std::string(rest.substr(kPrelude + headers_len, total - kOverhead - headers_len));
      out.push_back(std::move(m));
      at += total;
    }
  } catch (const DecodeError&) {
    failed_ = true;
    buffer_.clear();
    throw;
  }
  buffer_.erase(0, at);
}

}  // namespace llmfailover::providers::eventstream
