// bedrock.cpp — the Bedrock Provider: URL, authentication (Bearer API key or SigV4), error
// classification, and embeddings through InvokeModel (Titan text embeddings, Cohere embed).
// InvokeModel bodies: docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html
// and model-parameters-embed.html.
#include <chrono>
#include <cstdio>

#include "llmfailover/providers/bedrock.hpp"
#include "llmfailover/providers/sigv4.hpp"

namespace llmfailover::providers::bedrock {
namespace {

using nlohmann::json;

std::vector<std::string> embedding_inputs(const json& input) {
  std::vector<std::string> out;
  if (input.is_string()) out.push_back(input.get<std::string>());
  else if (input.is_array()) {
    for (const auto& x : input) {
      if (!x.is_string())
        throw TranslationError("bedrock", "input", "bedrock embeds text; token arrays are not supported");
      out.push_back(x.get<std::string>());
    }
  }
  if (out.empty()) throw TranslationError("bedrock", "input", "input must be a string or a non-empty array of strings");
  return out;
}

json embedding_list(const json& vectors, std::string_view model, long long prompt_tokens) {
  json data = json::array();
  for (std::size_t i = 0; i < vectors.size(); ++i) {
    if (!vectors[i].is_array()) throw TranslationError("bedrock", "", "an embedding is not an array of numbers");
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", vectors[i]}});
  }
  return {{"object", "list"},
          {"data", std::move(data)},
          {"model", model},
          {"usage", {{"prompt_tokens", prompt_tokens}, {"total_tokens", prompt_tokens}}}};
}

class BedrockProvider final : public Provider {
 public:
  explicit BedrockProvider(Options options) : options_(std::move(options)) {}

  std::string_view name() const override { return "bedrock"; }

  TranslatedRequest chat_request(const Endpoint& ep, const json& request, bool stream,
                                 const Timeouts& timeouts) const override {
    TranslatedRequest out;
    const json body = request_body(request, out.warnings);
    out.http = build(ep, model_of(ep, request), stream ? "converse-stream" : "converse", body.dump(), timeouts);
    out.http.stream_body = stream;  // the answer is a binary event stream, decoded piece by piece
    return out;
  }

  std::string chat_response(const Endpoint& ep, std::string_view body) const override {
    return chat_completion(parse_answer("bedrock", body), ep.model, response_id(body), now_seconds()).dump();
  }

  std::unique_ptr<StreamTranslator> stream_translator(const Endpoint& ep, const json& request) const override {
    return make_stream(ep.model.empty() ? request.value("model", "") : ep.model, include_usage(request),
                       response_id(request.dump()));
  }

  TranslatedRequest embeddings_request(const Endpoint& ep, const json& request,
                                       const Timeouts& timeouts) const override {
    TranslatedRequest out;
    const std::string model = model_of(ep, request);
    const auto inputs = embedding_inputs(request.value("input", json()));
    json body;
    if (model.find("titan-embed") != std::string::npos) {
      if (inputs.size() != 1) throw TranslationError("bedrock", "input", "Titan embeds one input per request");
      body = {{"inputText", inputs[0]}};
      if (request.contains("dimensions") && !request["dimensions"].is_null())
        body["dimensions"] = request["dimensions"];
    } else if (model.find("cohere.embed") != std::string::npos) {
      body = {{"texts", inputs}, {"input_type", "search_document"}, {"embedding_types", {"float"}}};
      if (request.contains("dimensions") && !request["dimensions"].is_null()) {
        out.warnings.push_back("dimensions is not supported by Cohere embed on bedrock; dropped");
      }
    } else {
      throw TranslationError("bedrock", "model",
                             "bedrock embeddings support Titan text and Cohere embed models, not " + model);
    }
    if (request.value("encoding_format", "float") == "base64") {
      out.warnings.push_back("encoding_format base64 is not supported by bedrock; floats returned");
    }
    out.http = build(ep, model, "invoke", body.dump(), timeouts);
    return out;
  }

  std::string embeddings_response(const Endpoint& ep, std::string_view body) const override {
    const json doc = parse_answer("bedrock", body);
    if (doc.contains("embedding")) {  // Titan: one vector
      return embedding_list(json::array({doc["embedding"]}), ep.model, doc.value("inputTextTokenCount", 0LL)).dump();
    }
    if (doc.contains("embeddings")) {  // Cohere: a list, or {"float": list} with embedding_types
      const json& e = doc["embeddings"];
      return embedding_list(e.is_object() ? e.value("float", json::array()) : e, ep.model, 0).dump();
    }
    throw TranslationError("bedrock", "", "the answer does not fit an InvokeModel embeddings schema");
  }

  ErrorVerdict classify(int status, const Headers& headers, std::string_view body) const override {
    return bedrock::classify(status, headers, body);
  }

 private:
  static std::string model_of(const Endpoint& ep, const json& request) {
    std::string model = ep.model.empty() ? request.value("model", "") : ep.model;
    if (model.empty()) throw TranslationError("bedrock", "model", "bedrock needs a model id");
    return model;
  }

  HttpRequest build(const Endpoint& ep, const std::string& model, std::string_view action, std::string body,
                    const Timeouts& timeouts) const {
    std::string region = ep.region.empty() ? sigv4::load_region(options_.env, options_.files) : ep.region;
    if (region.empty()) {
      if (ep.base_url.empty()) {
        throw TranslationError("bedrock", "region",
                               "bedrock needs a region (deployment region, AWS_REGION or ~/.aws/config)");
      }
      region = "us-east-1";  // a custom endpoint still needs a signing scope
    }
    HttpRequest h;
    h.method = "POST";
    h.url = model_url(ep.base_url, region, model, action);
    h.timeouts = timeouts;
    h.body = std::move(body);
    h.headers = {{"Content-Type", "application/json"}};
    merge_headers(h.headers, ep.headers);
    std::string bearer = ep.api_key.reveal();
    if (bearer.empty()) bearer = options_.env("AWS_BEARER_TOKEN_BEDROCK").value_or("");
    if (!bearer.empty()) {
      h.headers.push_back({"Authorization", "Bearer " + bearer});
      return h;
    }
    const auto creds = sigv4::load_credentials(options_.env, options_.files);
    if (!creds) {
      throw TranslationError("bedrock", "",
                             "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile in "
                             "~/.aws/credentials, or a Bedrock API key");
    }
    sigv4::sign(h, *creds, {region, std::string(kService), options_.now()});
    return h;
  }

  Options options_;
};

}  // namespace

std::string model_url(std::string_view base_url, std::string_view region, std::string_view model,
                      std::string_view action) {
  std::string url =
      base_url.empty() ? "https://bedrock-runtime." + std::string(region) + ".amazonaws.com" : std::string(base_url);
  while (!url.empty() && url.back() == '/') url.pop_back();
  // botocore renders the {modelId} label with percent_encode(safe="-_.~"): ':' and an ARN's '/' are encoded.
  return url + "/model/" + path_segment("bedrock", "model", model, /*keep=*/"") + "/" + std::string(action);
}

std::string response_id(std::string_view text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ULL;
  char buf[40];
  std::snprintf(buf, sizeof buf, "chatcmpl-bedrock-%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::unique_ptr<Provider> make_provider(Options options) {
  return std::make_unique<BedrockProvider>(std::move(options));
}

}  // namespace llmfailover::providers::bedrock
