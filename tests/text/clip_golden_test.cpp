// The acceptance check: every text of the CLIP reference data encodes to exactly the ids
// OpenAI's tokenizer produced.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_support.h"
#include "text/clip_tokenizer.h"

namespace mms::text {
namespace {

const ClipTokenizer& Tokenizer() {
  static const ClipTokenizer tokenizer = ClipTokenizer::FromDirectory(mms::testing::TinyClipDir());
  return tokenizer;
}

struct GoldenText {
  std::string name;
  std::string text;
  std::vector<int32_t> ids;
};

std::vector<GoldenText> GoldenTexts() {
  std::vector<GoldenText> texts;
  for (const auto& t : mms::testing::ClipGolden().at("texts")) {
    texts.push_back({t.at("name").get<std::string>(), t.at("text").get<std::string>(),
                     t.at("ids").get<std::vector<int32_t>>()});
  }
  return texts;
}

class ClipGoldenTest : public ::testing::TestWithParam<GoldenText> {};

TEST_P(ClipGoldenTest, IdsMatchOpenAiTokenizer) {
  const GoldenText& golden = GetParam();
  EXPECT_EQ(Tokenizer().Encode(golden.text), golden.ids) << "text: " << golden.text;
}

INSTANTIATE_TEST_SUITE_P(AllTexts, ClipGoldenTest, ::testing::ValuesIn(GoldenTexts()),
                         [](const ::testing::TestParamInfo<GoldenText>& info) { return info.param.name; });

TEST(ClipGoldenDataTest, HasTheExpectedTexts) { EXPECT_GE(GoldenTexts().size(), 26u); }

}  // namespace
}  // namespace mms::text
