// The two HTML entity decoders OpenAI's text clean-up runs: ftfy's cautious one (inside
// ftfy.fix_text) and Python's html.unescape (applied twice afterwards).
#pragma once

#include <string>
#include <string_view>

namespace mms::text::internal {

// Python's html.unescape(): named references from the full HTML5 table (the legacy names
// such as "&amp" and "&copy" also without ';', and as a prefix: "&copyright" -> "©right"),
// decimal and hexadecimal references with HTML5's fix-ups (&#150; -> '–', &#0; -> U+FFFD,
// a surrogate or a value past U+10FFFF -> U+FFFD, noncharacters and most controls -> nothing).
std::u32string PythonHtmlUnescape(std::u32string_view text);

// ftfy's unescape_html(): only "&name;" / "&#digits;" / "&#xhex;" with at most 24 ASCII
// letters or digits and the ';'. It also decodes all-uppercase spellings of lowercase
// entities ("&EACUTE;" -> 'É') as long as Python's html.unescape would not read them.
std::u32string FtfyUnescapeHtml(std::u32string_view text);

// FtfyUnescapeHtml applied until nothing changes, in linear time: "&amp;amp;amp;" -> "&" at
// once instead of one level per call (which is quadratic on adversarial input).
std::u32string FtfyUnescapeHtmlUntilStable(std::u32string_view text);

}  // namespace mms::text::internal
