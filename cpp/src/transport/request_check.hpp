// request_check.hpp (private) — the one check every request passes before anything is sent.
//
// What it refuses, and why: a method that is not an RFC 9110 token (section 9.1); a URL that is
// not absolute http(s) or that holds a control character or a space anywhere (a CR/LF in the
// target would end the request line early, one in the host the Host header); a
// header name that is not a token (section 5.1); a header value with CR, LF, NUL or any other
// control but HTAB (section 5.5: field-value = *field-content of VCHAR, SP, HTAB, obs-text); a
// value over Beast's 65,000-byte field limit; a head over ClientOptions::max_header_bytes; a
// negative timeout; a user agent that is not a valid field value. CR/LF in a value is exactly HTTP request smuggling
// (RFC 9112 section 11.2).
//
// Messages name the method, header or timeout at fault, never a header value or the URL (either
// may carry a credential: an Authorization value, Gemini's ?key=).
//
// Thread safety: pure function.
#pragma once

#include "llmfailover/transport/http_client.hpp"

namespace llmfailover::transport::detail {

// Beast stores a field's offsets in 16 bits; longer values make it throw.
inline constexpr std::size_t kMaxFieldValueBytes = 65'000;

Error check_request(const HttpRequest& request, const ClientOptions& options);

}  // namespace llmfailover::transport::detail
