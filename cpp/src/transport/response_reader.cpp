#include "response_reader.hpp"

#include "llmfailover/transport/response_parse.hpp"

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http.hpp>
#include <limits>

namespace llmfailover::transport::detail {

namespace beast = boost::beast;
namespace http = beast::http;

ResponseReader::ResponseReader(const ClientOptions& options, bool stream_body, std::string origin, Deliver deliver)
    : options_(options),
      stream_body_(stream_body),
      origin_(std::move(origin)),
      deliver_(std::move(deliver)),
      sse_([this](SseEvent&& e) { deliver_(Event::sse(std::move(e.event), std::move(e.data), std::move(e.id))); },
           SseLimits{options.max_sse_line_bytes, options.max_sse_event_bytes}) {}

void ResponseReader::head(int status, const http::fields& fields, bool replayed) {
  Headers headers;
  for (const auto& f : fields) headers.push_back({std::string(f.name_string()), std::string(f.value())});
  std::string_view type = fields[http::field::content_type];
  bool sse = type.size() >= 17 && iequals(type.substr(0, 17), "text/event-stream");
  // An error answer (status_class() says so from 400 on) is a document, never a stream: read
  // whole, capped (a 300 MB error must not become 300 MB in memory, and its status must still
  // reach the router).
  error_status_ = status < 200 || status >= 400;
  mode_ = error_status_ ? Mode::whole : sse ? Mode::sse : stream_body_ ? Mode::pieces : Mode::whole;
  Event e = Event::head(status, std::move(headers));
  e.replayed = replayed;
  deliver_(std::move(e));
}

Error ResponseReader::too_large(const std::string& what, std::size_t limit) const {
  return {Errc::body_too_large, what + " from " + origin_ + " exceeds the limit (" + std::to_string(limit) + " bytes)",
          true};
}

Error ResponseReader::sse_failed() const {
  bool line = sse_.error().find("line") != std::string::npos;
  return too_large(sse_.error(), line ? options_.max_sse_line_bytes : options_.max_sse_event_bytes);
}

Error ResponseReader::feed(std::string_view bytes) {
  if (truncated_) return {};
  switch (mode_) {
    case Mode::sse: return sse_.feed(bytes) ? Error{} : sse_failed();
    case Mode::pieces:
      ++pieces_;
      deliver_(Event::body(std::string(bytes)));
      return {};
    case Mode::whole: break;
  }
  std::size_t limit = error_status_ ? options_.max_error_body_bytes : options_.max_body_bytes;
  if (bytes.size() > limit - std::min(limit, body_.size())) {
    if (!error_status_) return too_large("the response body", limit);
    body_.append(bytes.substr(0, limit - body_.size()));
    truncated_ = true;
    return {};
  }
  body_.append(bytes);
  return {};
}

Error ResponseReader::finish() {
  if (mode_ == Mode::sse) {
    sse_.finish();
    if (!sse_.error().empty()) return sse_failed();
  } else if (mode_ == Mode::whole) {
    deliver_(Event::body(std::move(body_)));
  }
  return {};
}

Error read_error(boost::system::error_code ec, const std::string& origin, bool sent) {
  namespace asio = boost::asio;
  if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe)
    return {Errc::connection_reset, "connection reset by " + origin, sent};
  if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec == asio::error::eof ||
      ec == asio::ssl::error::stream_truncated)
    return {Errc::connection_closed, "connection closed by " + origin + " before the response was complete", sent};
  if (ec.category() == http::make_error_code(http::error::bad_version).category())
    return {Errc::protocol_error, "invalid HTTP response from " + origin + ": " + ec.message(), sent};
  return {Errc::connection_reset, "connection to " + origin + " failed: " + ec.message(), sent};
}

std::uint32_t header_limit(const ClientOptions& options) {
  return static_cast<std::uint32_t>(
      std::min<std::size_t>(options.max_header_bytes, std::numeric_limits<std::uint32_t>::max()));
}

}  // namespace llmfailover::transport::detail

namespace llmfailover::transport {

namespace beast = boost::beast;
namespace http = beast::http;
using detail::read_error;
using detail::ResponseReader;

void parse_response(std::string_view wire, const ClientOptions& options, bool stream_body, const EventSink& sink) {
  const std::string origin = "the peer";
  detail::ResponseParser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  parser.header_limit(detail::header_limit(options));
  ResponseReader reader(options, stream_body, origin, sink);
  char buf[16 * 1024];
  bool head_done = false, eof = false;
  int stalled = 0;
  beast::error_code ec;
  while (!parser.is_done() && !reader.satisfied()) {
    if (head_done) {
      parser.get().body().data = buf;
      parser.get().body().size = sizeof buf;
    }
    std::size_t used = 0;
    if (eof && !parser.got_some()) {
      return sink(Event::failure(read_error(http::error::end_of_stream, origin, true)));  // put_eof asserts got_some
    } else if (eof) {
      parser.put_eof(ec);
    } else {
      used = parser.put(boost::asio::buffer(wire.data(), wire.size()), ec);
      wire.remove_prefix(used);
    }
    if (head_done) {
      std::size_t got = sizeof buf - parser.get().body().size;
      if (Error e = got > 0 ? reader.feed({buf, got}) : Error{}) return sink(Event::failure(std::move(e)));
    }
    if (!head_done && parser.is_header_done()) {
      head_done = true;
      reader.head(static_cast<int>(parser.get().result_int()), parser.get().base(), false);
    }
    if (ec == http::error::need_buffer) ec = {};
    if (ec == http::error::need_more) {
      if (eof) ec = http::error::partial_message;
      else ec = {}, eof = true;
    }
    if (ec) return sink(Event::failure(read_error(ec, origin, true)));
    if (wire.empty()) eof = true;
    // Every round consumes bytes, fills the body buffer or moves to EOF; a few idle rounds in a
    // row would mean a parser state this loop does not know: refuse rather than spin.
    stalled = used == 0 && (!head_done || parser.get().body().size == sizeof buf) ? stalled + 1 : 0;
    if (stalled > 3) return sink(Event::failure({Errc::protocol_error, "unparsable response from " + origin, true}));
  }
  if (Error e = reader.finish()) return sink(Event::failure(std::move(e)));
  sink(Event::end());
}

}  // namespace llmfailover::transport
