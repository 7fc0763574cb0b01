// Splits a Jinja template into text and tags, with the whitespace rules of transformers'
// environment applied to the text: `{%-`/`-%}` strip, trim_blocks drops the newline after a
// block or comment tag, lstrip_blocks drops the indentation before one, and one trailing
// newline of the template is dropped (keep_trailing_newline=False). Tags come out as
// expression tokens for the parser.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mms::tmpl {

struct Token {
  enum class Type { kName, kString, kInt, kFloat, kOp, kEnd };
  Type type = Type::kEnd;
  std::string text;  // name, operator, decoded string literal, or number spelling
  int line = 0;
  int column = 0;
};

struct Chunk {
  enum class Type { kText, kOutput, kStatement };
  Type type = Type::kText;
  std::string text;           // kText
  std::vector<Token> tokens;  // kOutput / kStatement, ending in a kEnd token
  int line = 0;
  int column = 0;
};

// A syntax error at a place in the template (1-based line and column).
struct SyntaxErrorInfo {
  std::string message;
  int line = 0;
  int column = 0;
};

class SyntaxError : public std::exception {
 public:
  explicit SyntaxError(SyntaxErrorInfo info) : info_(std::move(info)) {}
  const SyntaxErrorInfo& info() const { return info_; }
  const char* what() const noexcept override { return info_.message.c_str(); }

 private:
  SyntaxErrorInfo info_;
};

// Throws SyntaxError.
std::vector<Chunk> Lex(std::string_view source);

}  // namespace mms::tmpl
