// The hand-written splitter against what OpenAI's regular expression finds.
#include "text/word_splitter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "text/utf8.h"

namespace mms::text::internal {
namespace {

std::vector<std::string> Split(const std::string& utf8) {
  const std::u32string text = DecodeUtf8Lossy(utf8);
  std::vector<std::string> pieces;
  for (std::u32string_view piece : SplitWords(text)) pieces.push_back(EncodeUtf8(piece));
  return pieces;
}

using Pieces = std::vector<std::string>;

TEST(WordSplitterTest, LettersNumbersAndPunctuation) {
  EXPECT_EQ(Split("hello, world!!! 42nd"), (Pieces{"hello", ",", "world", "!!!", "4", "2", "nd"}));
  EXPECT_EQ(Split("3.14"), (Pieces{"3", ".", "1", "4"}));
  EXPECT_EQ(Split("\u00bd \u00b2 \u0663 \u56db"), (Pieces{"\u00bd", "\u00b2", "\u0663", "\u56db"}));
  EXPECT_EQ(Split("   "), Pieces{});
}

TEST(WordSplitterTest, Contractions) {
  EXPECT_EQ(Split("don't we've i'm she'll he'd it's"),
            (Pieces{"don", "'t", "we", "'ve", "i", "'m", "she", "'ll", "he", "'d", "it", "'s"}));
  EXPECT_EQ(Split("rock'n'roll"), (Pieces{"rock", "'", "n", "'", "roll"}));
  EXPECT_EQ(Split("!'s"), (Pieces{"!'", "s"}));      // the punctuation run takes the apostrophe
  EXPECT_EQ(Split("'sa"), (Pieces{"'s", "a"}));      // no word boundary needed
  EXPECT_EQ(Split("'\u017f"), (Pieces{"'\u017f"}));  // case-insensitive: long s folds to s
}

TEST(WordSplitterTest, SpecialTokensOnlyWhereAPieceStarts) {
  EXPECT_EQ(Split("a<|endoftext|>b"), (Pieces{"a", "<|endoftext|>", "b"}));
  EXPECT_EQ(Split("x!<|endoftext|>"), (Pieces{"x", "!<|", "endoftext", "|>"}));
  EXPECT_EQ(Split("<|startoftext|><|endoftext|>"), (Pieces{"<|startoftext|>", "<|endoftext|>"}));
  EXPECT_EQ(Split("<|startof"), (Pieces{"<|", "startof"}));
}

TEST(WordSplitterTest, CombiningMarksSplitWords) {
  EXPECT_EQ(Split("i\u0307stanbul"), (Pieces{"i", "\u0307", "stanbul"}));
  EXPECT_EQ(Split("a\u0345b"), (Pieces{"a", "b"}));  // matches no alternative at all
}

}  // namespace
}  // namespace mms::text::internal
