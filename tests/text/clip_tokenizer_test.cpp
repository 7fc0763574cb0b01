// Encode's contract (framing, truncation, odd input) and held-out ids known from OpenAI's
// tokenizer with the real CLIP vocabulary.
#include "text/clip_tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "test_support.h"

namespace mms::text {
namespace {

using Ids = std::vector<int32_t>;

const ClipTokenizer& Tokenizer() {
  static const ClipTokenizer tokenizer = ClipTokenizer::FromDirectory(mms::testing::TinyClipDir());
  return tokenizer;
}

TEST(ClipTokenizerTest, SpecialIdsAndVocabularySize) {
  EXPECT_EQ(Tokenizer().start_of_text_id(), 49406);
  EXPECT_EQ(Tokenizer().end_of_text_id(), 49407);
  EXPECT_EQ(Tokenizer().vocab_size(), 49408u);
}

TEST(ClipTokenizerTest, HeldOutPrompts) {
  EXPECT_EQ(Tokenizer().Encode("a photo of a dog"), (Ids{49406, 320, 1125, 539, 320, 1929, 49407}));
  EXPECT_EQ(Tokenizer().Encode("A PHOTO OF A DOG."), (Ids{49406, 320, 1125, 539, 320, 1929, 269, 49407}));
  EXPECT_EQ(Tokenizer().Encode("  a   photo\tof a\n\ndog  "), (Ids{49406, 320, 1125, 539, 320, 1929, 49407}));
  EXPECT_EQ(Tokenizer().Encode("hello world"), (Ids{49406, 3306, 1002, 49407}));
}

TEST(ClipTokenizerTest, EmptyAndBlankTextGiveOnlyTheFrame) {
  EXPECT_EQ(Tokenizer().Encode(""), (Ids{49406, 49407}));
  EXPECT_EQ(Tokenizer().Encode(" \t\r\n\u3000"), (Ids{49406, 49407}));
}

TEST(ClipTokenizerTest, LongTextIsCutToContextLengthEndingWithEndOfText) {
  std::string text;
  for (int i = 0; i < 500; ++i) text += "photo ";
  const Ids ids = Tokenizer().Encode(text);
  ASSERT_EQ(ids.size(), 77u);
  EXPECT_EQ(ids.front(), 49406);
  EXPECT_EQ(ids.back(), 49407);
  for (size_t i = 1; i + 1 < ids.size(); ++i) EXPECT_EQ(ids[i], 1125) << i;
}

TEST(ClipTokenizerTest, ExactlyContextLengthIsNotCut) {
  std::string text;
  for (int i = 0; i < 75; ++i) text += "a ";
  const Ids ids = Tokenizer().Encode(text);
  ASSERT_EQ(ids.size(), 77u);
  EXPECT_EQ(ids[75], 320);  // the last 'a' survives
  EXPECT_EQ(ids[76], 49407);
  EXPECT_EQ(Tokenizer().Encode(text + "a").size(), 77u);
  EXPECT_EQ(Tokenizer().Encode(text + "a")[76], 49407);
}

TEST(ClipTokenizerTest, OtherContextLengths) {
  EXPECT_EQ(Tokenizer().Encode("a photo of a dog", 4), (Ids{49406, 320, 1125, 49407}));
  EXPECT_EQ(Tokenizer().Encode("a photo of a dog", 1), (Ids{49407}));
  EXPECT_EQ(Tokenizer().Encode("a photo of a dog", 1000).size(), 7u);
  try {
    Tokenizer().Encode("a", 0);
    FAIL() << "context_length 0 was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
}

TEST(ClipTokenizerTest, InvalidUtf8IsReplacedNotRejected) {
  const std::string broken[] = {
      std::string("caf\xC3", 4),        std::string("\xFF\xFE photo", 8), std::string("\xC0\xAF", 2),
      std::string("\xED\xA0\x80", 3),   std::string("\xF4\x90\x80\x80", 4), std::string("\x80\x80\x80", 3),
      std::string("\xE2\x82 dog", 6),
  };
  for (const std::string& text : broken) {
    Ids ids;
    EXPECT_NO_THROW(ids = Tokenizer().Encode(text));
    ASSERT_GE(ids.size(), 3u);
    EXPECT_EQ(ids.front(), 49406);
    EXPECT_EQ(ids.back(), 49407);
  }
  // Each maximal ill-formed subpart becomes one U+FFFD, which CLIP spells as 4030 ("ï¿½</w>").
  EXPECT_EQ(Tokenizer().Encode(std::string("\xFF", 1)), Tokenizer().Encode("\xEF\xBF\xBD"));
  EXPECT_EQ(CleanText(std::string("a\xE2\x82z", 4)), "a\xEF\xBF\xBDz");
  EXPECT_EQ(CleanText(std::string("\xC0\xAF", 2)), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(ClipTokenizerTest, NulBytesInsideTextAreDropped) {
  const std::string with_nul("a photo\0 of a\0\0 dog", 20);
  EXPECT_EQ(Tokenizer().Encode(with_nul), (Ids{49406, 320, 1125, 539, 320, 1929, 49407}));
  EXPECT_EQ(Tokenizer().Encode(std::string("ph\0oto", 6)), Tokenizer().Encode("photo"));
  EXPECT_EQ(Tokenizer().Encode(std::string(5, '\0')), (Ids{49406, 49407}));
}

TEST(ClipTokenizerTest, LiteralSpecialTokens) {
  EXPECT_EQ(Tokenizer().Encode("<|endoftext|>"), (Ids{49406, 49407, 49407}));
  EXPECT_EQ(Tokenizer().Encode("<|STARTOFTEXT|>"), (Ids{49406, 49406, 49407}));
  // Only at the start of a piece: here "!<|" is one run of punctuation.
  const Ids glued = Tokenizer().Encode("x!<|endoftext|>");
  EXPECT_EQ(std::count(glued.begin(), glued.end(), 49407), 1);
}

TEST(ClipTokenizerTest, LongWordsAndLongPunctuationRunsStayFast) {
  const std::string word(200000, 'z');
  const Ids ids = Tokenizer().Encode(word);
  EXPECT_EQ(ids.size(), 77u);
  const std::string dots(200000, '.');
  EXPECT_EQ(Tokenizer().Encode(dots).size(), 77u);
}

TEST(ClipTokenizerTest, ConcurrentEncodesAgree) {
  const Ids expected = Tokenizer().Encode("a black and white photo of a man with a camera");
  std::vector<std::thread> threads;
  std::vector<int> mismatches(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (Tokenizer().Encode("a black and white photo of a man with a camera") != expected) ++mismatches[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace mms::text
