// validate.hpp — the checks every client option and request argument passes once, below both
// Python clients (the plain OpenAI() and the routed one) and the C++ API alike.
//
// Each function checks one kind of value and throws InvalidArgument whose message starts with
// the field's name ("timeout must be > 0 seconds ..."), never echoing a header value (often a
// credential). InvalidArgument is a std::invalid_argument, which pybind11 turns into ValueError
// (pybind11 docs/advanced/exceptions.rst, "Built-in C++ to Python exception translation").
//
// Thread safety: pure functions.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace llmfailover {

class InvalidArgument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Durations cross the API as float seconds. Casting a double beyond the integer's range is
// undefined behaviour ([conv.fpint]): 1e17 s or inf used to become a garbage (often negative)
// count, so a call timed out at once. Values at or beyond kNoLimitSeconds (~31.7 years; inf
// included) saturate to nullopt, "no limit". NaN and negatives (and 0 unless allow_zero) throw.
inline constexpr double kNoLimitSeconds = 1e9;
inline constexpr std::chrono::milliseconds kNoLimit{static_cast<long long>(kNoLimitSeconds * 1000)};
std::optional<std::chrono::milliseconds> checked_seconds(double seconds, std::string_view field,
                                                         bool allow_zero = false);
// The same where "no limit" has no encoding of its own: saturated to kNoLimit.
std::chrono::milliseconds checked_seconds_or_no_limit(double seconds, std::string_view field, bool allow_zero = false);

// io threads of a client: each is an OS thread, so a typo must not ask for millions (1..64).
unsigned checked_io_threads(long long n);
// Connections open at once to one origin: at least one (a pool of none would queue forever).
std::size_t checked_max_connections(long long n);
// Retries after the first attempt (openai-python's max_retries, which has no upper bound; ours
// keeps the count an int): 0..kMaxRetries.
inline constexpr long long kMaxRetries = 1000000;
int checked_max_retries(long long n);
// A routed call's attempts override (extra_body llmfailover.max_attempts): 1..5.
int checked_max_attempts(long long n);

// An http:// or https:// URL without control characters, refused with httpx's words ("Invalid
// non-printable ASCII character in <field>, '\r' at position 5."). Messages show the URL without
// its userinfo.
void check_base_url(std::string_view field, std::string_view url);
// Only the control characters (a URL part: an Azure endpoint, a deployment name).
void check_url_characters(std::string_view field, std::string_view url);

// Why a header cannot be sent, naming the header but never showing its value, else nullopt:
// a name that is not an RFC 9110 §5.6.2 token, or a value with CR, LF or NUL (§5.5: a CR or LF
// would end the header line and start another, header smuggling).
std::optional<std::string> header_problem(std::string_view name, std::string_view value);
// Throws InvalidArgument "<field>: <problem>" for the first bad header.
void check_header(std::string_view field, std::string_view name, std::string_view value);

}  // namespace llmfailover
