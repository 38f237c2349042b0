// response_reader.hpp (private) — what becomes of a response once its head is parsed: the head
// event, then the body as one whole body event, as pieces (HttpRequest::stream_body) or as SSE
// events, under the ClientOptions limits (see http_client.hpp for the rules).
//
// Shared by the exchange and parse_response() (llmfailover/transport/response_parse.hpp), the
// fuzzing seam: a fuzzer feeding raw response
// bytes drives exactly the code a socket does (Beast's parser, the limits, the SSE parser).
//
// Thread safety: none; one reader per response.
#pragma once

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "llmfailover/transport/http_client.hpp"
#include "llmfailover/transport/sse.hpp"

namespace llmfailover::transport::detail {

class ResponseReader {
 public:
  using Deliver = std::function<void(Event&&)>;
  // `origin` names the peer in messages.
  ResponseReader(const ClientOptions& options, bool stream_body, std::string origin, Deliver deliver);
  ResponseReader(const ResponseReader&) = delete;
  ResponseReader& operator=(const ResponseReader&) = delete;

  // Delivers the head event and decides how the body is read.
  void head(int status, const boost::beast::http::fields& fields, bool replayed);
  // Body bytes as they arrive; an Error once a limit is crossed (then nothing more is delivered).
  Error feed(std::string_view bytes);
  // True once no more bytes are wanted: a 4xx/5xx body was truncated at max_error_body_bytes.
  bool satisfied() const noexcept { return truncated_; }
  // Events delivered after the head so far (SSE events or body pieces; a whole body counts at
  // finish()): the exchange hands the first ones over (FlowControl::first_events_delivered).
  std::size_t delivered() const noexcept { return mode_ == Mode::sse ? sse_.events_dispatched() : pieces_; }
  // The body ended (complete, or satisfied()): delivers what was held back. An Error if the last
  // SSE line crosses a limit. The caller delivers the terminal event.
  Error finish();

 private:
  enum class Mode { whole, pieces, sse };
  Error too_large(const std::string& what, std::size_t limit) const;
  Error sse_failed() const;  // the SSE parser crossed a limit: which one, as body_too_large

  const ClientOptions& options_;
  bool stream_body_;
  std::string origin_;
  Deliver deliver_;
  SseParser sse_;
  Mode mode_ = Mode::whole;
  bool error_status_ = false;
  bool truncated_ = false;
  std::size_t pieces_ = 0;
  std::string body_;
};

// A beast error while reading a response, as an Error (`sent`: the request reached the peer).
Error read_error(boost::system::error_code ec, const std::string& origin, bool sent);

// Beast's response_parser, except that a field name or value longer than basic_fields can hold
// (its lengths are 16-bit: boost/beast/http/impl/fields.hpp, new_element) is
// http::error::header_limit instead of a std::length_error thrown from the parser. Thrown inside
// an async read's completion, that exception passes no coroutine: the exchange would never end.
// Trailer fields of a chunked body come through the same hook. (Beast 1.83 maps it the same way.)
template <class Body>
class ResponseParser final : public boost::beast::http::response_parser<Body> {
  void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, boost::beast::error_code& ec) override {
    constexpr std::size_t kMax = std::numeric_limits<std::uint16_t>::max() - 2;
    if (name_string.size() > kMax || value.size() > kMax) {
      ec = boost::beast::http::error::header_limit;
      return;
    }
    this->get().insert(name, name_string, value);
  }
};

// Beast's header_limit is 32-bit.
std::uint32_t header_limit(const ClientOptions& options);

}  // namespace llmfailover::transport::detail
