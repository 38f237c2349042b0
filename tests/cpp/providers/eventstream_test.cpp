// eventstream_test.cpp — the AWS event-stream framing: frames built by hand in Python (zlib.crc32)
// and decoded by botocore (fixtures/providers/bedrock/eventstream_frames.jsonl) decode the same
// here, whole, a byte at a time and at every split point; our encoder writes the same bytes; bad
// CRCs and impossible lengths fail.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "llmfailover/providers/eventstream.hpp"

namespace llmfailover::providers::eventstream {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::vector<json> cases() {
  std::ifstream in(fs::path(__FILE__).parent_path().parent_path() /
                   "fixtures/providers/bedrock/eventstream_frames.jsonl");
  std::vector<json> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

std::string unhex(std::string_view h) {
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

std::string to_hex(std::string_view b) {
  static constexpr char d[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) out += {d[c >> 4], d[c & 15]};
  return out;
}

long long be_int(const std::string& v) {
  long long x = static_cast<signed char>(v[0]);
  for (std::size_t i = 1; i < v.size(); ++i) x = (x << 8) | static_cast<unsigned char>(v[i]);
  return x;
}

// A header as botocore's decoder presents it (bytes and uuids as hex, numbers as integers).
json botocore_view(const Header& h) {
  switch (h.type) {
    case HeaderType::bool_true: return {h.name, true};
    case HeaderType::bool_false: return {h.name, false};
    case HeaderType::byte:
    case HeaderType::int16:
    case HeaderType::int32:
    case HeaderType::int64:
    case HeaderType::timestamp: return {h.name, be_int(h.value)};
    case HeaderType::bytes:
    case HeaderType::uuid: return {h.name, to_hex(h.value)};
    case HeaderType::string: return {h.name, h.value};
  }
  return nullptr;
}

json view(const std::vector<Message>& ms) {
  json out = json::array();
  for (const auto& m : ms) {
    json headers = json::array();
    for (const auto& h : m.headers) headers.push_back(botocore_view(h));
    std::string latin1;  // botocore's fixture decoded the payload as latin-1
    for (unsigned char c : m.payload) {
      if (c < 0x80) latin1.push_back(static_cast<char>(c));
      else latin1 += {static_cast<char>(0xC0 | (c >> 6)), static_cast<char>(0x80 | (c & 0x3F))};
    }
    out.push_back({{"headers", headers}, {"payload", latin1}});
  }
  return out;
}

// Decodes `bytes` fed in pieces of `step` (0 = whole); returns the messages or the error.
json decode(const std::string& bytes, std::size_t step) {
  Decoder d;
  std::vector<Message> out;
  try {
    if (step == 0) d.feed(bytes, out);
    for (std::size_t at = 0; step && at < bytes.size(); at += step)
      d.feed(std::string_view(bytes).substr(at, step), out);
  } catch (const DecodeError& e) {
    return {{"error", e.what()}};
  }
  EXPECT_EQ(d.buffered(), 0u);
  return {{"messages", view(out)}};
}

TEST(EventStream, DecodesLikeBotocoreUnderEverySplit) {
  const auto all = cases();
  ASSERT_GE(all.size(), 8u);
  for (const auto& c : all) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const std::string bytes = unhex(c["hex"].get<std::string>());
    for (std::size_t step : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{7}, std::size_t{64}}) {
      const json got = decode(bytes, step);
      if (c["expected"].contains("error")) {
        EXPECT_TRUE(got.contains("error")) << "step " << step;
      } else {
        EXPECT_EQ(got, c["expected"]) << "step " << step;
      }
    }
    // Two pieces at every split point.
    for (std::size_t cut = 1; cut < bytes.size(); cut += 5) {
      Decoder d;
      std::vector<Message> out;
      try {
        d.feed(std::string_view(bytes).substr(0, cut), out);
        d.feed(std::string_view(bytes).substr(cut), out);
        EXPECT_EQ(json({{"messages", view(out)}}), c["expected"]) << "cut " << cut;
      } catch (const DecodeError&) {
        EXPECT_TRUE(c["expected"].contains("error")) << "cut " << cut;
      }
    }
  }
}

TEST(EventStream, OurEncoderWritesTheSameBytes) {
  for (const auto& c : cases()) {
    if (c["expected"].contains("error")) continue;
    SCOPED_TRACE(c["name"].get<std::string>());
    const std::string bytes = unhex(c["hex"].get<std::string>());
    Decoder d;
    std::vector<Message> ms;
    d.feed(bytes, ms);
    std::string again;
    for (const auto& m : ms) again += encode(m);
    EXPECT_EQ(to_hex(again), c["hex"].get<std::string>());
  }
}

TEST(EventStream, Crc32IsZlibs) {
  EXPECT_EQ(crc32(""), 0u);
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);  // the CRC-32 check value
}

TEST(EventStream, ErrorsAreSticky) {
  std::string f = encode({{":event-type", "x"}}, "{}");
  f[f.size() - 1] ^= 1;
  Decoder d;
  std::vector<Message> out;
  EXPECT_THROW(d.feed(f, out), DecodeError);
  EXPECT_THROW(d.feed(encode({}, ""), out), DecodeError);  // cannot resynchronise
  EXPECT_TRUE(out.empty());
}

TEST(EventStream, ImpossibleLengthsFail) {
  auto prelude = [](std::uint32_t total, std::uint32_t headers) {
    std::string p;
    for (std::uint32_t v : {total, headers}) {
      for (int s = 24; s >= 0; s -= 8) p.push_back(static_cast<char>((v >> s) & 0xff));
    }
    const std::uint32_t crc = crc32(p);
    for (int s = 24; s >= 0; s -= 8) p.push_back(static_cast<char>((crc >> s) & 0xff));
    return p;
  };
  for (auto [total, headers] : {std::pair{15u, 0u}, {20u, 10u}, {200u * 1024 * 1024, 0u}, {300000u, 200000u}}) {
    Decoder d;
    std::vector<Message> out;
    EXPECT_THROW(d.feed(prelude(total, headers), out), DecodeError) << total << "/" << headers;
  }
  // A header that runs past its block.
  Message m;
  m.headers.push_back({"name", HeaderType::string, "value"});
  std::string f = encode(m);
  f[12 + 6] = 0x7f;  // the string length now exceeds the headers block (and the CRC is recomputed below)
  std::string body = f.substr(0, f.size() - 4);
  const std::uint32_t crc = crc32(body);
  for (int s = 24; s >= 0; s -= 8) body.push_back(static_cast<char>((crc >> s) & 0xff));
  Decoder d;
  std::vector<Message> out;
  EXPECT_THROW(d.feed(body, out), DecodeError);
}

TEST(EventStream, HeaderLookupIsForStrings) {
  Message m;
  m.headers = {{":event-type", HeaderType::string, "messageStop"},
               {"n", HeaderType::int32, std::string("\0\0\0\1", 4)}};
  ASSERT_NE(m.header(":event-type"), nullptr);
  EXPECT_EQ(*m.header(":event-type"), "messageStop");
  EXPECT_EQ(m.header("n"), nullptr);
  EXPECT_EQ(m.header("absent"), nullptr);
}

}  // namespace
}  // namespace llmfailover::providers::eventstream
