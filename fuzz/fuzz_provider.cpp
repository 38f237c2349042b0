// fuzz_provider.cpp — every provider's answer translators on arbitrary upstream bytes: the
// non-streamed answer (chat_response, embeddings_response), the stream translator (SSE events, or
// raw bytes for Bedrock's event stream), error classification and retry hints, and the OpenAI
// error classifiers used by the plain client.
//
// Input: [provider][mode][flags][split][bytes]. Checks: no crash/UB/leak/stack overflow; a bad
// answer is an exception (the router catches std::exception: TranslationError, or nlohmann's
// errors on a wrong type); every chunk and answer a translator returns is valid JSON (or the
// stream's "[DONE]"), since the router and the Python layer parse them.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_input.hpp"
#include "llmfailover/providers/openai.hpp"
#include "llmfailover/providers/provider.hpp"
#include "llmfailover/transport/sse.hpp"

namespace p = llmfailover::providers;

namespace {

// Fixed order: a seed's first byte keeps naming the same provider when the registry grows.
constexpr std::array<const char*, 8> kProviders = {"openai", "azure",   "anthropic", "gemini",
                                                   "vertex", "bedrock", "cohere",    "mistral"};
enum Mode : std::uint8_t {
  chat = 0,
  embeddings = 1,
  stream = 2,
  classify = 3,
  retry_hint = 4,
  openai_errors = 5,
  kModes
};

bool g_passthrough_flag = false;  // set per input: see run()

void expect_json(const std::string& text, const char* what) {
  if (text == "[DONE]" || g_passthrough_flag) return;
  if (!nlohmann::json::accept(text)) llmf_fuzz::fail(what);
}

p::Endpoint endpoint() {
  p::Endpoint e;
  e.base_url = "https://upstream.invalid";
  e.api_key = llmfailover::Secret("fuzz-key");
  e.model = "fuzz-model";
  e.region = "us-east-1";
  e.project = "fuzz-project";
  return e;
}

void run_stream(const p::Provider& provider, std::uint8_t flags, std::uint8_t split, std::string_view bytes) {
  nlohmann::json request = {{"model", "fuzz-model"},
                            {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                            {"stream", true},
                            {"n", (flags & 2) ? 2 : 1}};
  if (flags & 1) request["stream_options"] = {{"include_usage", true}};
  auto translator = provider.stream_translator(endpoint(), request);
  std::vector<std::string> chunks;
  std::optional<p::ErrorVerdict> error;
  auto pieces = llmf_fuzz::pieces(bytes, split);
  if (translator->wants_bytes()) {
    for (auto piece : pieces) {
      translator->on_bytes(piece, chunks, error);
      if (error) break;
    }
  } else {
    llmfailover::transport::SseParser sse([&](llmfailover::transport::SseEvent&& e) {
      if (!error) translator->on_sse(e.event, e.data, chunks, error);
    });
    for (auto piece : pieces) sse.feed(piece);
    sse.finish();
  }
  for (const auto& chunk : chunks) expect_json(chunk, "a stream translator returned a chunk that is not JSON");
}

void run(const p::Provider& provider, Mode mode, std::uint8_t flags, std::uint8_t split, std::string_view bytes) {
  switch (mode) {
    case chat:
      expect_json(provider.chat_response(endpoint(), bytes), "chat_response returned text that is not JSON");
      break;
    case embeddings:
      expect_json(provider.embeddings_response(endpoint(), bytes),
                  "embeddings_response returned text that is not JSON");
      break;
    case stream: run_stream(provider, flags, split, bytes); break;
    case classify: {
      llmfailover::Headers headers = {{"x-amzn-errortype", "ThrottlingException"}, {"retry-after", "1"}};
      (void)provider.classify(400 + flags % 200, (split & 1) ? headers : llmfailover::Headers{}, bytes);
      break;
    }
    case retry_hint: (void)provider.body_retry_hint(bytes); break;
    default:
      (void)p::classify_response(400 + flags % 200, bytes);
      (void)p::classify_stream_error(bytes);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  llmf_fuzz::Input in(data, size);
  const char* name = kProviders[in.byte() % kProviders.size()];
  const p::Provider* provider = p::find_provider(name);
  // The OpenAI family passes upstream chunks and answers through as they are; a malformed one is
  // caught where it is parsed (the router's stream inspector, Python), so only translated
  // dialects must return JSON.
  std::string_view n = name;
  g_passthrough_flag = n == "openai" || n == "azure" || n == "mistral";
  auto mode = static_cast<Mode>(in.byte() % kModes);
  std::uint8_t flags = in.byte(), split = in.byte();
  if (!provider) return 0;
  try {
    run(*provider, mode, flags, split, in.rest());
  } catch (const std::exception&) {
    // TranslationError, or nlohmann's type_error: both reach the router as a classified failure.
  }
  return 0;
}
