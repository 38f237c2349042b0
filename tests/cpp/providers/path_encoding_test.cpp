// path_encoding_test.cpp — golden URLs for hostile model, project and deployment names in every
// provider that puts one into a path: each stays one percent-encoded segment (RFC 3986 section 3.3),
// "." and ".." are refused (issue 10, item 5).
#include <gtest/gtest.h>

#include <stdexcept>

#include "llmfailover/providers/bedrock.hpp"
#include "llmfailover/providers/openai.hpp"
#include "llmfailover/providers/provider.hpp"
#include "llmfailover/providers/vertex.hpp"

namespace llmfailover::providers {
namespace {

using nlohmann::json;

const json kRequest = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}};

std::string gemini_url(const std::string& model) {
  Endpoint ep;
  ep.base_url = "https://g.example/v1beta";
  ep.model = model;
  ep.api_key = Secret("k");
  return find_provider("gemini")->chat_request(ep, kRequest, false, Timeouts{}).http.url;
}

TEST(PathSegment, EncodesAllButUnreservedAndKeep) {
  EXPECT_EQ(path_segment("p", "model", "gpt-4o_mini.v1~x"), "gpt-4o_mini.v1~x");
  EXPECT_EQ(path_segment("p", "model", "../../admin"), "..%2F..%2Fadmin");
  EXPECT_EQ(path_segment("p", "model", "x?key=evil"), "x%3Fkey%3Devil");
  EXPECT_EQ(path_segment("p", "model", "a#b"), "a%23b");
  EXPECT_EQ(path_segment("p", "model", "a\r\nHost: evil"), "a%0D%0AHost%3A%20evil");
  EXPECT_EQ(path_segment("p", "model", std::string("a\0b", 3)), "a%00b");
  EXPECT_EQ(path_segment("p", "model", "50%2F"), "50%252F");  // a '%' is data, never an escape
  EXPECT_EQ(path_segment("p", "model", "m@001"), "m@001");
  EXPECT_EQ(path_segment("p", "model", "m@001", ""), "m%40001");
  EXPECT_EQ(path_segment("p", "model", "\xC3\xA9"), "%C3%A9");
  for (const char* bad : {"", ".", ".."}) {
    try {
      path_segment("gemini", "model", bad);
      ADD_FAILURE() << "no throw for '" << bad << "'";
    } catch (const TranslationError& e) {
      EXPECT_EQ(e.provider(), "gemini");
      EXPECT_EQ(e.parameter(), "model");
    }
  }
  EXPECT_EQ(path_segments("p", "model", "projects/p/locations/l/endpoints/1"), "projects/p/locations/l/endpoints/1");
  EXPECT_EQ(path_segments("p", "model", "projects/a?b/x#y"), "projects/a%3Fb/x%23y");
  EXPECT_THROW(path_segments("p", "model", "projects/../../admin"), TranslationError);
  EXPECT_THROW(path_segments("p", "model", "projects//x"), TranslationError);
}

TEST(PathSegment, GeminiModel) {
  EXPECT_EQ(gemini_url("gemini-2.5-flash"), "https://g.example/v1beta/models/gemini-2.5-flash:generateContent");
  EXPECT_EQ(gemini_url("models/gemini-2.5-flash"), "https://g.example/v1beta/models/gemini-2.5-flash:generateContent");
  EXPECT_EQ(gemini_url("../../admin"), "https://g.example/v1beta/models/..%2F..%2Fadmin:generateContent");
  EXPECT_EQ(gemini_url("x?key=evil"), "https://g.example/v1beta/models/x%3Fkey%3Devil:generateContent");
  EXPECT_EQ(gemini_url("a#b"), "https://g.example/v1beta/models/a%23b:generateContent");
  EXPECT_EQ(gemini_url("a:streamGenerateContent"),
            "https://g.example/v1beta/models/a%3AstreamGenerateContent:generateContent");
  EXPECT_EQ(gemini_url("a\r\nX: 1"), "https://g.example/v1beta/models/a%0D%0AX%3A%201:generateContent");
  EXPECT_THROW(gemini_url(".."), TranslationError);
  EXPECT_THROW(gemini_url("models/.."), TranslationError);
}

TEST(PathSegment, VertexProjectAndModel) {
  Endpoint ep;
  ep.region = "us-central1";
  ep.project = "proj-1";
  const std::string root = "https://us-central1-aiplatform.googleapis.com/v1/projects/";
  EXPECT_EQ(vertex::model_url(ep, "../../admin", "generateContent"),
            root + "proj-1/locations/us-central1/publishers/google/models/..%2F..%2Fadmin:generateContent");
  EXPECT_EQ(vertex::model_url(ep, "x?key=evil#f", "generateContent"),
            root + "proj-1/locations/us-central1/publishers/google/models/x%3Fkey%3Devil%23f:generateContent");
  EXPECT_EQ(vertex::model_url(ep, "publishers/google/models/gemini-2.5-flash@001", "generateContent"),
            root + "proj-1/locations/us-central1/publishers/google/models/gemini-2.5-flash@001:generateContent");
  EXPECT_EQ(vertex::model_url(ep, "publishers/x/models/a?b", "generateContent"),
            root + "proj-1/locations/us-central1/publishers/x/models/a%3Fb:generateContent");
  EXPECT_THROW(vertex::model_url(ep, "publishers/../../x", "generateContent"), TranslationError);
  EXPECT_THROW(vertex::model_url(ep, "projects/p/../../../admin", "generateContent"), TranslationError);
  ep.project = "p/../../admin?x";
  EXPECT_EQ(vertex::model_url(ep, "m", "generateContent"),
            root + "p%2F..%2F..%2Fadmin%3Fx/locations/us-central1/publishers/google/models/m:generateContent");
  ep.project = "..";
  try {
    vertex::model_url(ep, "m", "generateContent");
    ADD_FAILURE() << "no throw";
  } catch (const TranslationError& e) {
    EXPECT_EQ(e.provider(), "vertex");
    EXPECT_EQ(e.parameter(), "project");
  }
}

TEST(PathSegment, AzureDeployment) {
  Upstream u;
  u.kind = Upstream::Kind::azure;
  u.base_url = "https://r.openai.azure.com/openai";
  u.api_version = "2024-06-01";
  EXPECT_EQ(url_for(u, "/chat/completions", {}, "gpt-4o"),
            "https://r.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-06-01");
  EXPECT_EQ(url_for(u, "/chat/completions", {}, "../x?y#z"),
            "https://r.openai.azure.com/openai/deployments/..%2Fx%3Fy%23z/chat/completions?api-version=2024-06-01");
  EXPECT_THROW(url_for(u, "/chat/completions", {}, ".."), std::invalid_argument);  // ValueError in Python
  Endpoint ep;
  ep.base_url = u.base_url;
  ep.api_version = u.api_version;
  ep.api_key = Secret("k");
  ep.model = "../../admin";
  EXPECT_EQ(find_provider("azure")->chat_request(ep, kRequest, false, Timeouts{}).http.url,
            "https://r.openai.azure.com/openai/deployments/..%2F..%2Fadmin/chat/completions?api-version=2024-06-01");
}

TEST(PathSegment, BedrockModelIdAsBotocoreEncodesIt) {
  const std::string root = "https://bedrock-runtime.us-east-1.amazonaws.com/model/";
  EXPECT_EQ(bedrock::model_url("", "us-east-1", "anthropic.claude-3-haiku-20240307-v1:0", "converse"),
            root + "anthropic.claude-3-haiku-20240307-v1%3A0/converse");
  EXPECT_EQ(bedrock::model_url("", "us-east-1", "arn:aws:bedrock:us-east-1:1:inference-profile/x", "converse"),
            root + "arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fx/converse");
  EXPECT_EQ(bedrock::model_url("", "us-east-1", "../x?y", "converse"), root + "..%2Fx%3Fy/converse");
  EXPECT_THROW(bedrock::model_url("", "us-east-1", "..", "converse"), TranslationError);
}

}  // namespace
}  // namespace llmfailover::providers
