// HfTokenizer against the Hugging Face tokenizers library's own outputs: every case of the
// LLaMA-2 (SentencePiece-style BPE with byte fallback) and byte-level (LLaMA-3-style) case
// files in tests/data/llama-reference/tokenizer, made with the library itself.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "base/error.h"
#include "text/hf_tokenizer.h"

namespace mms::text {
namespace {

const std::string kRef = std::string(MMS_SOURCE_DIR) + "/tests/data/llama-reference/";

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return nlohmann::json::parse(buffer.str());
}

const HfTokenizer& Llama() {
  static const HfTokenizer tokenizer = HfTokenizer::Load(kRef + "model/tokenizer.json");
  return tokenizer;
}
const HfTokenizer& ByteLevel() {
  static const HfTokenizer tokenizer = HfTokenizer::Load(kRef + "tokenizer/bytelevel/tokenizer.json");
  return tokenizer;
}

void CheckCases(const HfTokenizer& tokenizer, const std::string& cases_path) {
  const nlohmann::json cases = ReadJson(cases_path)["cases"];
  ASSERT_GT(cases.size(), 400u);
  int failures = 0;
  for (size_t i = 0; i < cases.size() && failures < 10; ++i) {
    const auto& c = cases[i];
    const std::string text = c["text"];
    const auto with = tokenizer.Encode(text, true);
    const auto without = tokenizer.Encode(text, false);
    const auto expected_with = c["ids_with_special"].get<std::vector<int32_t>>();
    const auto expected = c["ids"].get<std::vector<int32_t>>();
    const std::string decoded = tokenizer.Decode(expected, false);
    bool ok = with == expected_with && without == expected && decoded == c["decoded"].get<std::string>();
    EXPECT_EQ(with, expected_with) << "case " << i << ": " << nlohmann::json(text).dump();
    EXPECT_EQ(without, expected) << "case " << i << ": " << nlohmann::json(text).dump();
    EXPECT_EQ(decoded, c["decoded"].get<std::string>()) << "case " << i << ": " << nlohmann::json(text).dump();
    if (!ok) ++failures;
  }
}

TEST(HfTokenizerTest, LlamaCasesMatchHuggingFace) { CheckCases(Llama(), kRef + "tokenizer/llama_cases.json"); }

TEST(HfTokenizerTest, ByteLevelCasesMatchHuggingFace) {
  CheckCases(ByteLevel(), kRef + "tokenizer/bytelevel_cases.json");
}

TEST(HfTokenizerTest, IntrospectionOfLlama) {
  const HfTokenizer& t = Llama();
  EXPECT_EQ(t.vocab_size(), 32000);
  EXPECT_EQ(t.TokenId("<s>"), 1);
  EXPECT_EQ(t.TokenId("</s>"), 2);
  EXPECT_EQ(t.TokenId("▁Hello"), 15043);
  EXPECT_FALSE(t.TokenId("no such token").has_value());
  EXPECT_EQ(t.TokenString(15043), "▁Hello");
  EXPECT_EQ(t.TokenString(-1), "");
  EXPECT_EQ(t.TokenString(32000), "");
  EXPECT_TRUE(t.IsSpecial(1));
  EXPECT_TRUE(t.IsSpecial(2));
  EXPECT_FALSE(t.IsSpecial(15043));
  EXPECT_EQ(t.TokenBytes(15043), " Hello");
  EXPECT_EQ(t.TokenBytes(13), "\n");        // <0x0A>
  EXPECT_EQ(t.TokenBytes(231), "\xE4");     // <0xE4>, the lead byte of a CJK character
  EXPECT_EQ(t.TokenBytes(29871), " ");      // "▁"
  EXPECT_EQ(t.TokenBytes(2), "");           // special
  EXPECT_EQ(t.added_bos(), 1);
}

TEST(HfTokenizerTest, IntrospectionOfByteLevel) {
  const HfTokenizer& t = ByteLevel();
  EXPECT_EQ(t.vocab_size(), 50257 + 1608);
  const auto the = t.TokenId("Ġthe");
  ASSERT_TRUE(the.has_value());
  EXPECT_EQ(t.TokenBytes(*the), " the");
  EXPECT_EQ(t.TokenString(198), "Ċ");
  EXPECT_EQ(t.TokenBytes(198), "\n");
  EXPECT_EQ(t.TokenBytes(50257), "");  // <|endoftext|>, special
  EXPECT_EQ(t.TokenBytes(51864), "<|30.00|>");  // added, not special
  EXPECT_EQ(t.added_bos(), 50257);
  // Byte 0xE4 alone is token "ä" in GPT-2's alphabet.
  const auto id = t.TokenId("ä");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(t.TokenBytes(*id), "\xE4");
}

TEST(HfTokenizerTest, LiteralRangesKeepTypedSpecialTokensAsText) {
  const HfTokenizer& t = Llama();
  const std::string text = "<|user|>\nHi</s>\n<|assistant|>";
  const size_t begin = text.find("Hi"), end = begin + 6;  // the user's "Hi</s>"
  const std::pair<size_t, size_t> range{begin, end};
  const auto plain = t.Encode(text, true);
  const auto literal = t.EncodeWithLiteralRanges(text, std::span(&range, 1), true);
  EXPECT_NE(std::find(plain.begin(), plain.end(), 2), plain.end());
  EXPECT_EQ(std::find(literal.begin(), literal.end(), 2), literal.end());
  // Outside the range the same text is still the token; inside, the characters are encoded
  // as HF encodes "</s>" where it is not a special token: "</" "s" ">" pieces.
  EXPECT_EQ(t.Decode(literal, true), text);
  // No ranges: exactly Encode.
  EXPECT_EQ(t.EncodeWithLiteralRanges(text, {}, true), plain);
  // "</s>" after the range is still id 2.
  const std::string twice = "Hi</s></s>";
  const std::pair<size_t, size_t> first{0, 6};
  const auto ids = t.EncodeWithLiteralRanges(twice, std::span(&first, 1), false);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.back(), 2);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 2), 1);
  // Byte-level: "<|endoftext|>" typed in a message.
  const std::string chat = "<|endoftext|>user: <|endoftext|>";
  const std::pair<size_t, size_t> message{chat.find("user: ") + 6, chat.size()};
  const auto bl = ByteLevel().EncodeWithLiteralRanges(chat, std::span(&message, 1), false);
  EXPECT_EQ(bl.front(), 50257);
  EXPECT_EQ(std::count(bl.begin(), bl.end(), 50257), 1);
  EXPECT_EQ(ByteLevel().Decode(bl, false), chat);
}

TEST(HfTokenizerTest, LiteralRangeOutsideTheTextIsRefused) {
  const std::pair<size_t, size_t> range{2, 10};
  try {
    Llama().EncodeWithLiteralRanges("abc", std::span(&range, 1), false);
    FAIL() << "accepted a range past the end";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
}

TEST(HfTokenizerTest, InvalidUtf8IsReadAsReplacementCharacters) {
  // The library takes only valid strings; U+FFFD is what a client's bytes decode to.
  EXPECT_EQ(Llama().Encode("a\xFF" "b", false), Llama().Encode("a\xEF\xBF\xBD" "b", false));
}

TEST(HfTokenizerTest, PathologicalInputsFinish) {
  // One word of 1 MB with no merge between its characters, and 1 MB of one letter.
  std::string cjk;
  for (int i = 0; i < 1 << 18; ++i) cjk.append("\xF0\x9F\x99\x82");  // U+1F642, byte-fallback only
  EXPECT_EQ(Llama().Encode(cjk, false).size(), (1u << 18) * 4 + 1);
  const std::string letters(1 << 20, 'a');
  EXPECT_FALSE(Llama().Encode(letters, false).empty());
  EXPECT_FALSE(ByteLevel().Encode(letters, false).empty());
  const std::string spaces(1 << 20, ' ');
  EXPECT_FALSE(ByteLevel().Encode(spaces, false).empty());
  EXPECT_EQ(ByteLevel().Decode(ByteLevel().Encode(spaces, false), false), spaces);
}

TEST(HfTokenizerTest, MalformedFilesAreRefusedWithTheField) {
  const auto refuse = [](const std::string& json, const std::string& needle) {
    try {
      HfTokenizer::FromJson(json, "t.json");
      ADD_FAILURE() << "accepted " << json;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidModel) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  refuse("[", "not valid JSON");
  refuse("{}", "t.json.model");
  refuse(R"({"model":{"type":"BPE","vocab":{"a":0},"merges":["a a"]}})", "t.json.model.merges[0]");
  refuse(R"({"model":{"type":"Unigram","vocab":[]}})", "t.json.model.type");
  refuse(R"({"model":{"type":"BPE","vocab":{"a":0},"merges":[]},
            "pre_tokenizer":{"type":"Split","pattern":{"Regex":"(("},"behavior":"Isolated"}})",
         "t.json.pre_tokenizer.pattern");
  refuse(R"({"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"normalizer":{"type":"Precompiled"}})",
         "t.json.normalizer");
  refuse(std::string(100, '[') + std::string(100, ']'), "nested");
}

TEST(HfTokenizerConfigTest, ReadsTheReferenceConfig) {
  const TokenizerConfig config = LoadTokenizerConfig(kRef + "model/tokenizer_config.json");
  EXPECT_EQ(config.bos_token, "<s>");
  EXPECT_EQ(config.eos_token, "</s>");
  EXPECT_TRUE(config.add_bos_token);
  EXPECT_FALSE(config.add_eos_token);
  EXPECT_NE(config.chat_template.find("<|assistant|>"), std::string::npos);
  const TokenizerConfig missing = LoadTokenizerConfig(kRef + "model/no_such_file.json");
  EXPECT_TRUE(missing.chat_template.empty());
  EXPECT_TRUE(missing.add_bos_token);
}

}  // namespace
}  // namespace mms::text
