// fuzz_http_response.cpp — the HTTP response path of the transport on arbitrary bytes from a peer:
// Beast's response_parser<buffer_body> configured as cpp/src/transport/http_client.cpp configures
// it (no body limit from Beast, 64 KiB header limit, a 16 KiB body window), fed the bytes in
// pieces as async_read_some would, the body then going to the SSE parser when the content type
// says text/event-stream, or into a capped buffer otherwise.
//
// Input: [split byte][response bytes]. Checks: no crash/UB/leak; the parser never writes more
// than its window; a parse error is an error code, never an exception.
#include <cstdint>
#include <cstring>
#include <string>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "fuzz_input.hpp"
#include "llmfailover/transport/sse.hpp"

namespace http = boost::beast::http;

namespace {

constexpr std::size_t kWindow = 16 * 1024;  // http_client.cpp reads the body 16 KiB at a time
constexpr std::size_t kBodyCap = 1 << 20;   // stands in for HttpClientOptions::max_body_bytes

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  llmf_fuzz::Input in(data, size);
  std::uint8_t split = in.byte();
  auto pieces = llmf_fuzz::pieces(in.rest(), split);

  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  parser.header_limit(64 * 1024);
  boost::beast::flat_buffer buffer;  // the connection's read buffer
  std::size_t next = 0;
  boost::beast::error_code ec;

  // Header phase: feed pieces until the header is complete or the parser refuses it.
  while (!parser.is_header_done()) {
    if (buffer.size() == 0 || ec == http::error::need_more) {
      if (next == pieces.size()) return 0;  // peer closed before the header: a connection error
      auto piece = pieces[next++];
      auto room = buffer.prepare(piece.size());
      std::memcpy(room.data(), piece.data(), piece.size());
      buffer.commit(piece.size());
    }
    ec = {};
    std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec && ec != http::error::need_more) return 0;  // a malformed header: refused
  }

  auto& res = parser.get();
  bool sse = res[http::field::content_type].substr(0, 17) == "text/event-stream";
  std::size_t events = 0;
  llmfailover::transport::SseParser sse_parser([&](llmfailover::transport::SseEvent&&) { ++events; });
  std::string body;
  char window[kWindow];
  bool want_more = buffer.size() == 0;
  while (!parser.is_done()) {
    res.body().data = window;
    res.body().size = sizeof window;
    if (want_more) {
      if (next == pieces.size()) {
        parser.put_eof(ec);  // the peer closed: complete only for a close-delimited body
        break;
      }
      auto piece = pieces[next++];
      auto room = buffer.prepare(piece.size());
      std::memcpy(room.data(), piece.data(), piece.size());
      buffer.commit(piece.size());
    }
    ec = {};
    std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    want_more = ec == http::error::need_more || buffer.size() == 0;
    if (ec == http::error::need_buffer || ec == http::error::need_more) ec = {};
    if (res.body().size > sizeof window) llmf_fuzz::fail("body window size grew");
    std::size_t got = sizeof window - res.body().size;
    if (sse) {
      sse_parser.feed({window, got});
    } else if (body.size() + got > kBodyCap) {
      return 0;  // body_too_large
    } else {
      body.append(window, got);
    }
    if (ec) return 0;
    if (!want_more && used == 0 && got == 0 && !parser.is_done()) llmf_fuzz::fail("parser made no progress");
  }
  if (sse) sse_parser.finish();
  (void)parser.keep_alive();
  return 0;
}
