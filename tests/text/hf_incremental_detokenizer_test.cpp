// IncrementalDetokenizer: over every reference case of both tokenizers, the pushes plus
// Flush() concatenate to Decode of all ids (the library's decode, checked against the case
// files in hf_tokenizer_test), and no push returns a broken UTF-8 sequence.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "text/hf_incremental_detokenizer.h"
#include "text/hf_tokenizer.h"
#include "text/utf8.h"

namespace mms::text {
namespace {

const std::string kRef = std::string(MMS_SOURCE_DIR) + "/tests/data/llama-reference/";

nlohmann::json Cases(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return nlohmann::json::parse(buffer.str())["cases"];
}

bool ValidUtf8(const std::string& s) {
  std::u32string ignored;
  return internal::DecodeUtf8Strict(s, &ignored);
}

void CheckStreaming(const std::string& tokenizer_path, const std::string& cases_path) {
  const HfTokenizer tokenizer = HfTokenizer::Load(tokenizer_path);
  const nlohmann::json cases = Cases(cases_path);
  ASSERT_FALSE(cases.empty());
  int failures = 0;
  for (size_t i = 0; i < cases.size() && failures < 5; ++i) {
    const auto ids = cases[i]["ids_with_special"].get<std::vector<int32_t>>();
    for (const bool skip : {false, true}) {
      IncrementalDetokenizer stream(tokenizer, skip);
      std::string joined;
      for (const int32_t id : ids) {
        const std::string delta = stream.Push(id);
        EXPECT_TRUE(ValidUtf8(delta)) << "case " << i << " pushed a broken sequence";
        joined += delta;
      }
      joined += stream.Flush();
      const std::string expected = tokenizer.Decode(ids, skip);
      EXPECT_EQ(joined, expected) << "case " << i << " skip=" << skip;
      if (joined != expected) ++failures;
    }
  }
}

TEST(IncrementalDetokenizerTest, LlamaCasesConcatenateToDecode) {
  CheckStreaming(kRef + "model/tokenizer.json", kRef + "tokenizer/llama_cases.json");
}

TEST(IncrementalDetokenizerTest, ByteLevelCasesConcatenateToDecode) {
  CheckStreaming(kRef + "tokenizer/bytelevel/tokenizer.json", kRef + "tokenizer/bytelevel_cases.json");
}

TEST(IncrementalDetokenizerTest, HoldsBackAByteFallbackCharacterUntilComplete) {
  const HfTokenizer t = HfTokenizer::Load(kRef + "model/tokenizer.json");
  // "🙂" is <0xF0><0x9F><0x99><0x82> in LLaMA-2's vocabulary.
  const auto ids = t.Encode("a🙂b", false);
  IncrementalDetokenizer stream(t, false);
  std::vector<std::string> deltas;
  for (const int32_t id : ids) deltas.push_back(stream.Push(id));
  ASSERT_GE(deltas.size(), 6u);
  EXPECT_EQ(deltas[0], "a");
  EXPECT_EQ(deltas[1] + deltas[2] + deltas[3], "");
  EXPECT_EQ(deltas[4], "🙂");
  EXPECT_EQ(deltas.back(), "b");
}

TEST(IncrementalDetokenizerTest, PromptTailKeepsTheLeadingSpace) {
  const HfTokenizer t = HfTokenizer::Load(kRef + "model/tokenizer.json");
  const std::vector<int32_t> prompt = t.Encode("Hello", true);  // <s> ▁Hello
  IncrementalDetokenizer stream(t, true, prompt);
  EXPECT_EQ(stream.Push(*t.TokenId("▁world")), " world");
  EXPECT_EQ(stream.Push(*t.TokenId("▁again")), " again");
  EXPECT_EQ(stream.Push(2), "");  // </s>, skipped
  EXPECT_EQ(stream.Flush(), "");
  // Without the prompt the first token's space is stripped, as Decode does.
  IncrementalDetokenizer bare(t, true);
  EXPECT_EQ(bare.Push(*t.TokenId("▁world")), "world");
}

TEST(IncrementalDetokenizerTest, FlushEmitsAnIncompleteTailAsReplacement) {
  const HfTokenizer t = HfTokenizer::Load(kRef + "model/tokenizer.json");
  IncrementalDetokenizer stream(t, false);
  EXPECT_EQ(stream.Push(*t.TokenId("<0xE4>")), "");
  EXPECT_EQ(stream.Flush(), "\xEF\xBF\xBD");
}

}  // namespace
}  // namespace mms::text
