// Python's string rules on UTF-8 text, as far as chat templates reach them: strings are
// sequences of code points (len, indexing, slicing), str.strip()'s idea of whitespace,
// str.splitlines()'s line breaks, float repr, and the errors the renderer raises.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mms::tmpl {

// A failure while rendering; the interpreter adds the template's name and line.
class RenderError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// raise_exception(message) from the template: the message is the template's own.
class TemplateRaised : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Code points of UTF-8 text; an invalid byte stands for itself (U+DC80 + byte, as Python's
// surrogateescape), so every input round-trips.
std::vector<char32_t> DecodeUtf8(std::string_view s);
std::string EncodeUtf8(const std::vector<char32_t>& cps);
void AppendUtf8(std::string& out, char32_t cp);
size_t CodePointCount(std::string_view s);

bool IsPyWhitespace(char32_t c);  // str.isspace()
bool IsPyLineBreak(char32_t c);   // str.splitlines() separators (\r\n counts once)

// str.strip/lstrip/rstrip: `chars` null means whitespace.
std::string PyStrip(std::string_view s, const std::string* chars, bool left, bool right);
std::vector<std::string> PySplitLines(std::string_view s);
std::string AsciiUpper(std::string_view s);
std::string AsciiLower(std::string_view s);

// repr(float) / str(float): shortest round-trip digits, exponent form below 1e-4 and from 1e16.
std::string PyFloatRepr(double d);
// repr(str): single quotes unless the text has one and no double quote.
std::string PyStringRepr(std::string_view s);

}  // namespace mms::tmpl
