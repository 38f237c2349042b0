// gemini_embed.cpp — OpenAI embeddings <-> batchEmbedContents, for the Gemini API and Vertex AI.
// Shapes: googleapis/python-genai google/genai/models.py (_EmbedContentParametersPrivate_to_mldev /
// _to_vertex with BATCH_EMBED_CONTENTS; _EmbedContentResponse_from_mldev / _from_vertex) and
// ai.google.dev/api/embeddings#method:-models.batchembedcontents.
#include "llmfailover/providers/gemini.hpp"

namespace llmfailover::providers::gemini {
namespace {

using nlohmann::json;

std::vector<std::string> inputs(const json& input, std::string_view provider) {
  std::vector<std::string> out;
  if (input.is_string()) {
    out.push_back(input.get<std::string>());
  } else if (input.is_array()) {
    for (const auto& x : input) {
      if (!x.is_string()) {
        throw TranslationError(std::string(provider), "input",
                               std::string(provider) + " embeds text; token arrays are not supported");
      }
      out.push_back(x.get<std::string>());
    }
  }
  if (out.empty()) {
    throw TranslationError(std::string(provider), "input", "input must be a string or a non-empty array of strings");
  }
  return out;
}

}  // namespace

json embed_body(const json& req, std::string_view model, std::string_view provider,
                std::vector<std::string>& warnings) {
  const bool vertex = provider == "vertex";
  std::optional<json> dimensions;
  if (auto d = req.find("dimensions"); d != req.end() && !d->is_null()) {
    if (!d->is_number_integer() || d->get<long long>() <= 0) {
      throw TranslationError(std::string(provider), "dimensions", "dimensions must be a positive integer");
    }
    dimensions = *d;
  }
  json requests = json::array();
  for (auto& text : inputs(req.value("input", json()), provider)) {
    json r = {{"content", {{"parts", json::array({{{"text", std::move(text)}}})}}}};
    if (!vertex) r["model"] = "models/" + std::string(model);
    if (dimensions && vertex) r["embedContentConfig"] = {{"outputDimensionality", *dimensions}};
    else if (dimensions) r["outputDimensionality"] = *dimensions;
    requests.push_back(std::move(r));
  }
  for (const auto& [key, value] : req.items()) {
    if (key == "model" || key == "input" || key == "dimensions" || value.is_null()) continue;
    if (key == "encoding_format") {
      if (value == "base64")
        warnings.push_back("encoding_format base64 is not supported by " + std::string(provider) + "; floats returned");
      continue;
    }
    warnings.push_back(key + " is not supported by " + std::string(provider) + " embeddings; dropped");
  }
  return {{"requests", std::move(requests)}};
}

json embedding_list(const json& r, std::string_view model, std::string_view provider) {
  auto misfit = [&](const std::string& what) -> TranslationError {
    return TranslationError(std::string(provider), "", "the answer does not fit BatchEmbedContentsResponse: " + what);
  };
  auto e = r.find("embeddings");
  if (e == r.end() || !e->is_array()) throw misfit("no embeddings");
  json data = json::array();
  for (std::size_t i = 0; i < e->size(); ++i) {
    const json& item = (*e)[i];
    if (!item.is_object() || !item.contains("values") || !item["values"].is_array())
      throw misfit("an embedding has no values");
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", item["values"]}});
  }
  long long prompt = 0;
  if (auto u = r.find("usageMetadata"); u != r.end() && u->is_object()) {
    const json p = u->value("promptTokenCount", json(0));
    if (p.is_number_integer()) prompt = p.get<long long>();
  }
  return {{"object", "list"},
          {"data", std::move(data)},
          {"model", std::string(model)},
          {"usage", {{"prompt_tokens", prompt}, {"total_tokens", prompt}}}};
}

}  // namespace llmfailover::providers::gemini
