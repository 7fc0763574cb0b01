// CleanText: OpenAI's whitespace_clean(basic_clean(text)).lower(), i.e. ftfy.fix_text, HTML
// unescaping twice, whitespace collapsing and Python's lowercase. Expected strings are what
// the Python reference produces for each input.
#include <gtest/gtest.h>

#include <string>

#include "text/clip_tokenizer.h"

namespace mms::text {
namespace {

TEST(CleanTextTest, WhitespaceIsStrippedAndCollapsed) {
  EXPECT_EQ(CleanText("  Hello,\t\tWORLD  "), "hello, world");
  EXPECT_EQ(CleanText("\u3000a\u3000"), "a");                // ideographic space
  EXPECT_EQ(CleanText("\u2028x\u2029"), "x");                // line / paragraph separators
  EXPECT_EQ(CleanText("a\u00a0b"), "a b");                   // no-break space
  EXPECT_EQ(CleanText("a\u200bb"), "a\u200bb");              // zero width space is not whitespace
  EXPECT_EQ(CleanText(""), "");
}

TEST(CleanTextTest, FtfyNormalizesCharacters) {
  EXPECT_EQ(CleanText("cafe\u0301"), "caf\u00e9");                              // NFC
  EXPECT_EQ(CleanText("\uff21\uff22\uff23\uff11\uff12\uff13\uff01"), "abc123!");  // full width
  EXPECT_EQ(CleanText("\uff76\uff9e"), "\u30ac");                              // half-width katakana + mark
  EXPECT_EQ(CleanText("\ufb01ne \ufb02ow"), "fine flow");                      // ligatures
  EXPECT_EQ(CleanText("\u01c4"), "d\u017e");                                   // digraph DŽ
  EXPECT_EQ(CleanText("\u201cquoted\u201d \u2018single\u2019"), "\"quoted\" 'single'");
}

TEST(CleanTextTest, FtfyRemovesControlCharactersAndTerminalEscapes) {
  EXPECT_EQ(CleanText(std::string("a\0b\x07" "c\x7f" "d", 7)), "abcd");
  EXPECT_EQ(CleanText("a\x1c" "b"), "ab");
  EXPECT_EQ(CleanText("\x1b[31mred\x1b[0m"), "red");
  EXPECT_EQ(CleanText("\ufeffbom"), "bom");
}

TEST(CleanTextTest, FtfyMapsC1ControlsAsWindows1252) {
  EXPECT_EQ(CleanText("e\u0085f"), "e\u2026f");           // NEL -> ellipsis
  EXPECT_EQ(CleanText("\u00e2\u0080\u0099s"), "'s");       // mojibake of ’, then uncurled
  EXPECT_EQ(CleanText("\u00e2\u20ac\u009dhi"), "\"hi");    // Windows-1252 mojibake of ”
}

TEST(CleanTextTest, HtmlEntities) {
  EXPECT_EQ(CleanText("Tom &amp; Jerry"), "tom & jerry");
  EXPECT_EQ(CleanText("&lt;b&gt;"), "<b>");
  EXPECT_EQ(CleanText("&#x41;&#66;"), "ab");
  EXPECT_EQ(CleanText("&nbsp;x"), "x");
  EXPECT_EQ(CleanText("&copy; 2024"), "\u00a9 2024");
  EXPECT_EQ(CleanText("&hellip;"), "\u2026");
  EXPECT_EQ(CleanText("&#150;"), "\u2013");           // Windows-1252 fix-up
  EXPECT_EQ(CleanText("&#0;"), "\ufffd");
  EXPECT_EQ(CleanText("&#128512;"), "\U0001F600");
  EXPECT_EQ(CleanText("&ampx"), "&x");                // legacy name without ';'
  EXPECT_EQ(CleanText("&copyright"), "\u00a9right");  // longest legacy prefix
  EXPECT_EQ(CleanText("&#12abc;"), "abc;");
  EXPECT_EQ(CleanText("&EACUTE;T&Eacute;"), "\u00e9t\u00e9");  // ftfy reads uppercased names
  EXPECT_EQ(CleanText("&SZLIG;"), "ss");
}

TEST(CleanTextTest, FtfyUnescapesRepeatedlyUntilALineContainsAngleBracket) {
  EXPECT_EQ(CleanText("&amp;amp;amp;"), "&");              // ftfy loops, then html.unescape twice
  EXPECT_EQ(CleanText("x &amp;amp;amp; <"), "x &amp; <");  // looks like HTML: only the two unescapes
  EXPECT_EQ(CleanText("&amp;amp;amp;\n<\n&amp;amp;amp;"), "& < &amp;");  // and for every later line
}

TEST(CleanTextTest, PythonLowercase) {
  EXPECT_EQ(CleanText("\u0130"), "i\u0307");  // İ -> i + combining dot above
  EXPECT_EQ(CleanText("\u03a3\u038a\u03a3\u03a5\u03a6\u039f\u03a3"), "\u03c3\u03af\u03c3\u03c5\u03c6\u03bf\u03c2");
  EXPECT_EQ(CleanText("\u039f\u0394\u039f\u03a3."), "\u03bf\u03b4\u03bf\u03c2.");  // final sigma before '.'
  EXPECT_EQ(CleanText("\u017f"), "\u017f");                                      // long s stays
}

TEST(CleanTextTest, InvalidUtf8BecomesReplacementCharacters) {
  EXPECT_EQ(CleanText(std::string("a\xff" "b", 3)), "a\ufffd" "b");
  EXPECT_EQ(CleanText(std::string("\xe2\x82", 2)), "\ufffd");  // one truncated sequence, one U+FFFD
}

}  // namespace
}  // namespace mms::text
