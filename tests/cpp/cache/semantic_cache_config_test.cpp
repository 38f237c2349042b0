// The `type: semantic` cache config (cache/cache_config.hpp): parsed and checked natively, looked up
// in Python (python/llmfailover/_semantic.py), left alone by the native RouterCache.
#include <gtest/gtest.h>

#include "llmfailover/cache/cache_config.hpp"
#include "llmfailover/cache/router_cache.hpp"

namespace llmfailover::cache {
namespace {

std::string config_with(const std::string& top, const std::string& smart_policy = "{}") {
  return R"({"cache":)" + top + R"(,"groups":{"smart":{"deployments":[{"model":"m"}],"policy":)" + smart_policy +
         R"(},"emb":{"deployments":[{"model":"e"}]}}})";
}

TEST(SemanticCacheConfig, ParsedWithItsDefaultsAndLayered) {
  auto c = parse_cache_config(config_with(R"({"type":"semantic","embeddings":"emb"})",
                                          R"({"cache":{"threshold":0.9,"max_entries":50,"allow_tools":true}})"));
  ASSERT_EQ(c.count("smart"), 1u);
  EXPECT_EQ(c["smart"].type, "semantic");
  EXPECT_EQ(c["smart"].embeddings, "emb");
  EXPECT_DOUBLE_EQ(c["smart"].threshold, 0.9);
  EXPECT_EQ(c["smart"].max_entries, 50u);
  EXPECT_TRUE(c["smart"].allow_tools);
  EXPECT_DOUBLE_EQ(c["emb"].threshold, 0.95);  // the top level's, with the defaults
  EXPECT_EQ(c["emb"].max_entries, 10000u);
  EXPECT_FALSE(c["emb"].allow_tools);
  EXPECT_EQ(RouterCache::make(c, SteadyTimeSource{}), nullptr);  // no exact cache for semantic groups
}

TEST(SemanticCacheConfig, BadValuesAreRefusedNamingTheKey) {
  struct Case {
    const char* cache;
    const char* says;
  };
  for (const Case& k : {Case{R"({"type":"semantic","embeddings":"nope"})", "cache.embeddings: unknown group 'nope'"},
                        Case{R"({"type":"semantic"})", "needs `embeddings`"},
                        Case{R"({"type":"semantic","embeddings":"emb","threshold":0})", "cache.threshold"},
                        Case{R"({"type":"semantic","embeddings":"emb","threshold":1.01})", "(0, 1]"},
                        Case{R"({"type":"semantic","embeddings":"emb","max_entries":0})", "cache.max_entries"},
                        Case{R"({"type":"semantic","embeddings":"emb","max_bytes":"1MiB"})", "cache.max_bytes"},
                        Case{R"({"type":"memory","threshold":0.9})", "only for type: semantic"}}) {
    try {
      parse_cache_config(config_with(k.cache));
      ADD_FAILURE() << "accepted " << k.cache;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(k.says), std::string::npos) << e.what();
    }
  }
  // A threshold of exactly 1 (identical prompts only) is allowed.
  EXPECT_DOUBLE_EQ(
      parse_cache_config(config_with(R"({"type":"semantic","embeddings":"emb","threshold":1})"))["smart"].threshold,
      1.0);
}

}  // namespace
}  // namespace llmfailover::cache
