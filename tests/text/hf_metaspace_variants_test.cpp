// The Metaspace pre-tokenizer and decoder (prepend_scheme always / first / never, split on
// and off) and merges written as [a, b] pairs, on variants of the LLaMA-2 tokenizer.json.
// Expected ids and text are the Hugging Face tokenizers library's (npm @anush008/tokenizers
// 0.6.0, tokenizers 0.22) for the same variant files; tests/text/hf_reference/compare.mjs
// checks the same variants on a random corpus where the package is installed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "text/hf_tokenizer.h"

namespace mms::text {
namespace {

struct Case {
  std::string text;
  std::vector<int32_t> ids;
  std::string decoded;
};
struct Variant {
  std::string scheme;
  bool split;
  std::vector<Case> cases;
};

const std::vector<Variant>& Expected() {
  static const std::vector<Variant> variants = {
      {"always", true, {{"Hello  world", {15043, 29871, 3186}, "Hello  world"},
                        {"<s>Hello world", {1, 15043, 3186}, "<s> Hello world"},
                        {" lead</s>tail end", {3275, 2, 12464, 1095}, "lead</s> tail end"},
                        {"x\n y", {921, 13, 343}, "x<0x0A> y"}}},
      {"always", false, {{"Hello  world", {15043, 29871, 3186}, "Hello  world"},
                         {"<s>Hello world", {1, 15043, 3186}, "<s> Hello world"},
                         {" lead</s>tail end", {3275, 2, 12464, 1095}, "lead</s> tail end"},
                         {"x\n y", {921, 13, 343}, "x<0x0A> y"}}},
      {"first", true, {{"Hello  world", {15043, 29871, 3186}, "Hello  world"},
                       {"<s>Hello world", {1, 10994, 3186}, "<s>Hello world"},
                       {" lead</s>tail end", {3275, 2, 18237, 1095}, "lead</s>tail end"},
                       {"x\n y", {921, 13, 343}, "x<0x0A> y"}}},
      {"first", false, {{"Hello  world", {15043, 29871, 3186}, "Hello  world"},
                        {"<s>Hello world", {1, 10994, 3186}, "<s>Hello world"},
                        {" lead</s>tail end", {3275, 2, 18237, 1095}, "lead</s>tail end"},
                        {"x\n y", {921, 13, 343}, "x<0x0A> y"}}},
      {"never", true, {{"Hello  world", {10994, 29871, 3186}, "Hello  world"},
                       {"<s>Hello world", {1, 10994, 3186}, "<s>Hello world"},
                       {" lead</s>tail end", {3275, 2, 18237, 1095}, " lead</s>tail end"},
                       {"x\n y", {29916, 13, 343}, "x<0x0A> y"}}},
      {"never", false, {{"Hello  world", {10994, 29871, 3186}, "Hello  world"},
                        {"<s>Hello world", {1, 10994, 3186}, "<s>Hello world"},
                        {" lead</s>tail end", {3275, 2, 18237, 1095}, " lead</s>tail end"},
                        {"x\n y", {29916, 13, 343}, "x<0x0A> y"}}},
  };
  return variants;
}

TEST(HfMetaspaceVariantsTest, MatchHuggingFace) {
  std::ifstream in(std::string(MMS_SOURCE_DIR) + "/tests/data/llama-reference/model/tokenizer.json");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const nlohmann::json llama = nlohmann::json::parse(buffer.str());
  for (const Variant& v : Expected()) {
    nlohmann::json t = llama;
    t["normalizer"] = nullptr;
    t["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", v.scheme}, {"split", v.split}};
    t["decoder"] = {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", v.scheme}, {"split", v.split}};
    nlohmann::json pairs = nlohmann::json::array();
    for (const auto& merge : t["model"]["merges"]) {
      const std::string line = merge.get<std::string>();
      const size_t space = line.find(' ');
      pairs.push_back({line.substr(0, space), line.substr(space + 1)});
    }
    t["model"]["merges"] = std::move(pairs);
    const HfTokenizer tokenizer = HfTokenizer::FromJson(t.dump(), "variant.json");
    for (const Case& c : v.cases) {
      EXPECT_EQ(tokenizer.Encode(c.text, false), c.ids) << v.scheme << " split=" << v.split << " " << c.text;
      EXPECT_EQ(tokenizer.Decode(c.ids, false), c.decoded) << v.scheme << " split=" << v.split << " " << c.text;
    }
  }
}

}  // namespace
}  // namespace mms::text
