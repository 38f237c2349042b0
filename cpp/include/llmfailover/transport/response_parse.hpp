// response_parse.hpp — the HTTP response path without a socket, for fuzzing and tests.
//
// parse_response() runs raw response bytes through exactly the code an exchange uses once the
// bytes are read (Beast's response parser with ClientOptions::max_header_bytes, the body limits,
// the SSE parser and its caps) and delivers the same events: head, body or sse events, then end
// or one error. It never throws on any input (the sink may) and holds at most the limits.
//
// Thread safety: pure function of its arguments.
#pragma once

#include <string_view>

#include "llmfailover/transport/http_client.hpp"

namespace llmfailover::transport {

// `wire` is one response as a peer would send it, followed by EOF; `stream_body` as in
// HttpRequest (a 2xx non-SSE body is then delivered in pieces).
void parse_response(std::string_view wire, const ClientOptions& options, bool stream_body, const EventSink& sink);

}  // namespace llmfailover::transport
