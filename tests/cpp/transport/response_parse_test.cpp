// parse_response(): the response path without a socket (the fuzzing seam). Whatever the bytes,
// exactly one terminal event and no throw.
#include "llmfailover/transport/response_parse.hpp"

#include <gtest/gtest.h>

#include <random>

namespace llmfailover::transport {
namespace {

using Kind = Event::Kind;

std::vector<Event> parse(std::string_view wire, ClientOptions o = {}, bool stream_body = false) {
  std::vector<Event> out;
  parse_response(wire, o, stream_body, [&](Event&& e) { out.push_back(std::move(e)); });
  return out;
}

std::size_t terminals(const std::vector<Event>& events) {
  std::size_t n = 0;
  for (auto& e : events) n += e.terminal();
  return n;
}

TEST(ResponseParse, WholeBodyChunkedSseAndTruncation) {
  auto a = parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].status, 200);
  EXPECT_EQ(a[1].data, "hello");
  EXPECT_EQ(a[2].kind, Kind::end);

  auto b = parse(
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
      "7\r\ndata: a\r\n3\r\n\n\n\r\n0\r\n\r\n");
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[1].kind, Kind::sse);
  EXPECT_EQ(b[1].data, "a");

  auto c = parse("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort");
  EXPECT_EQ(c.back().error.code, Errc::connection_closed);

  auto d = parse("HTTP/1.1 200 OK\r\n\r\nuntil eof");  // no length: the body ends at EOF
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[1].data, "until eof");

  ClientOptions small;
  small.max_error_body_bytes = 4;
  auto e = parse("HTTP/1.1 500 X\r\nContent-Length: 10\r\n\r\n0123456789", small);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[1].data, "0123");
  EXPECT_EQ(e[2].kind, Kind::end);

  EXPECT_EQ(parse("garbage\r\n\r\n").back().error.code, Errc::protocol_error);
  EXPECT_EQ(parse("").back().error.code, Errc::connection_closed);
}

TEST(ResponseParse, OversizedHeadIsRefused) {
  ClientOptions o;
  o.max_header_bytes = 1024;
  auto r = parse("HTTP/1.1 200 OK\r\nX: " + std::string(4096, 'a') + "\r\n\r\n", o);
  EXPECT_EQ(r.size(), 1u);
  EXPECT_EQ(r.back().kind, Kind::error);
}

// Beast's fields hold 16-bit lengths: with the head limit raised, a longer field value (in the
// head, or in a chunked body's trailer) is a protocol error, not an exception from the parser.
TEST(ResponseParse, AFieldTooLongForBeastIsAnErrorNotAThrow) {
  ClientOptions o;
  o.max_header_bytes = 256 << 10;
  const std::string big(70'000, 'v');
  auto head = parse("HTTP/1.1 200 OK\r\nX-Big: " + big + "\r\nContent-Length: 2\r\n\r\nok", o);
  ASSERT_EQ(terminals(head), 1u);
  EXPECT_EQ(head.back().error.code, Errc::protocol_error) << head.back().error.message;
  auto name = parse("HTTP/1.1 200 OK\r\n" + big + ": v\r\nContent-Length: 2\r\n\r\nok", o);
  EXPECT_EQ(name.back().error.code, Errc::protocol_error) << name.back().error.message;
  auto trailer = parse(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n2\r\nok\r\n0\r\nX-T: " + big + "\r\n\r\n",
      o);
  ASSERT_EQ(terminals(trailer), 1u);
  EXPECT_EQ(trailer.back().kind, Kind::error);
  // Just under Beast's bound still goes through.
  auto fits = parse("HTTP/1.1 200 OK\r\nX-Big: " + std::string(65'000, 'v') + "\r\nContent-Length: 2\r\n\r\nok", o);
  EXPECT_EQ(fits.back().kind, Kind::end);
}

// A poor man's fuzz run (the libFuzzer target lives with the fuzz infrastructure): random
// mutations of valid responses always end with exactly one terminal event.
TEST(ResponseParse, MutatedInputsEndOnce) {
  const std::string seeds[] = {
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n7\r\ndata: "
      "a\r\n3\r\n\n\n\r\n0\r\n\r\n",
      "HTTP/1.1 503 X\r\nContent-Type: text/event-stream\r\n\r\ndata: x\n\n",
  };
  std::mt19937 rng(1234);
  ClientOptions o;
  o.max_sse_line_bytes = 64;
  for (int i = 0; i < 20'000; ++i) {
    std::string s = seeds[i % 3];
    for (int m = rng() % 4; m >= 0; --m) {
      std::size_t at = rng() % (s.size() + 1);
      switch (rng() % 3) {
        case 0: s.insert(at, 1, static_cast<char>(rng())); break;
        case 1:
          if (at < s.size()) s.erase(at, 1);
          break;
        default:
          if (at < s.size()) s[at] = static_cast<char>(rng());
          break;
      }
    }
    auto events = parse(s, o, i % 2 == 0);
    ASSERT_EQ(terminals(events), 1u) << i;
    ASSERT_TRUE(events.back().terminal()) << i;
  }
}

}  // namespace
}  // namespace llmfailover::transport
