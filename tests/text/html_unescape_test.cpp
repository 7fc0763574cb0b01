// The two entity decoders against the Python functions they port (expected values are
// Python's html.unescape / ftfy's unescape_html output).
#include "text/html_unescape.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>

#include "text/clip_tokenizer.h"
#include "text/utf8.h"

namespace mms::text::internal {
namespace {

std::string Python(const std::string& utf8) { return EncodeUtf8(PythonHtmlUnescape(DecodeUtf8Lossy(utf8))); }
std::string Ftfy(const std::string& utf8) { return EncodeUtf8(FtfyUnescapeHtml(DecodeUtf8Lossy(utf8))); }

TEST(PythonHtmlUnescapeTest, NamedReferences) {
  EXPECT_EQ(Python("&amp; &lt; &gt; &quot; &apos; &nbsp;|"), "& < > \" ' \u00a0|");
  EXPECT_EQ(Python("&amp &lt &copy &eacute"), "& < \u00a9 \u00e9");    // legacy names need no ';'
  EXPECT_EQ(Python("&ampamp; &notit; &copyright"), "&amp; \u00acit; \u00a9right");  // longest prefix
  EXPECT_EQ(Python("&hellip &unknown; & &; &#;"), "&hellip &unknown; & &; &#;");
  EXPECT_EQ(Python("&NotEqualTilde;"), "\u2242\u0338");               // two code points
}

TEST(PythonHtmlUnescapeTest, NumericReferences) {
  EXPECT_EQ(Python("&#65;&#x42;&#X43;&#0068"), "ABCD");
  EXPECT_EQ(Python("&#150;&#x80;&#129;"), "\u2013\u20ac\u0081");  // Windows-1252 fix-ups
  EXPECT_EQ(Python("&#0;&#xD800;&#1114112;&#99999999999999999999;"), "\ufffd\ufffd\ufffd\ufffd");
  EXPECT_EQ(Python("a&#1;&#11;&#127;&#xFDD0;&#xFFFE;&#x10FFFF;b"), "ab");  // dropped
  EXPECT_EQ(Python("&#13;"), "\r");
  EXPECT_EQ(Python("&#x1F600;"), "\U0001F600");
  EXPECT_EQ(Python("&#x;&#xg;"), "&#x;&#xg;");
}

TEST(FtfyUnescapeHtmlTest, OnlyCompleteReferences) {
  EXPECT_EQ(Ftfy("&amp;amp; &lt;b&gt;"), "&amp; <b>");  // one level per call
  EXPECT_EQ(Ftfy("&amp &copy"), "&amp &copy");          // no ';', no decoding
  EXPECT_EQ(Ftfy("&EACUTE; &SZLIG; &AMP; &LTIMES;"), "\u00c9 SS & &LTIMES;");
  EXPECT_EQ(Ftfy("&#12abc; &#65; &#x41;"), "&#12abc; A A");
  EXPECT_EQ(Ftfy("&abcdefghijklmnopqrstuvwxy;"), "&abcdefghijklmnopqrstuvwxy;");  // 25 > 24 characters
}

TEST(FtfyUnescapeHtmlTest, UntilStableEqualsRepeatedCalls) {
  const std::string fragments[] = {"&", "amp;", "amp", "#", "x", "41", "6", "5", ";", "l", "t", "lt;", "semi;",
                                   "a", " ", "EACUTE;", "&#38;", "&#x26;", "\u00e9", "copy"};
  std::mt19937 rng(7);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string text;
    const int length = static_cast<int>(rng() % 14);
    for (int k = 0; k < length; ++k) text += fragments[rng() % std::size(fragments)];
    std::u32string repeated = DecodeUtf8Lossy(text);
    while (true) {
      std::u32string next = FtfyUnescapeHtml(repeated);
      if (next == repeated) break;
      repeated = std::move(next);
    }
    EXPECT_EQ(EncodeUtf8(FtfyUnescapeHtmlUntilStable(DecodeUtf8Lossy(text))), EncodeUtf8(repeated)) << text;
  }
}

TEST(FtfyUnescapeHtmlTest, DeeplyNestedEntitiesStayLinear) {
  std::string nested = "&";
  for (int i = 0; i < 200000; ++i) nested += "amp;";
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(CleanText(nested + " x"), "& x");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace mms::text::internal
