#include "io/pbtxt_reader.h"

#include <cstdint>

#include "base/error.h"
#include "io/pbtxt_text.h"

namespace mms::io {

std::string FormatPosition(TextPosition position) {
  return std::to_string(position.line) + ":" + std::to_string(position.column);
}

void ThrowTextError(const std::string& source, TextPosition pos, const std::string& what) {
  ThrowInvalidModel(source + ":" + FormatPosition(pos) + ": " + what);
}

namespace {

enum class TokenKind { kEnd, kIdentifier, kInteger, kFloat, kString, kSymbol };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;  // strings: decoded; symbols: the one character
  TextPosition position;
};

bool IsIdentifierStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentifierChar(char c) { return IsIdentifierStart(c) || IsDigit(c); }
bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsOctalDigit(char c) { return c >= '0' && c <= '7'; }
int HexValue(char c) { return IsDigit(c) ? c - '0' : (c | 0x20) - 'a' + 10; }

// Splits the text into tokens, skipping whitespace and '#' comments, and tracks line and
// column so that every later error can point at the offending token.
class Lexer {
 public:
  Lexer(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  Token Next() {
    SkipSpaceAndComments();
    Token token;
    token.position = here_;
    if (AtEnd()) return token;
    const char c = Peek();
    if (IsIdentifierStart(c)) {
      token.kind = TokenKind::kIdentifier;
      while (!AtEnd() && IsIdentifierChar(Peek())) token.text += Take();
    } else if (IsDigit(c) || (c == '.' && IsDigit(Peek(1)))) {
      LexNumber(token);
    } else if (c == '"' || c == '\'') {
      token.kind = TokenKind::kString;
      token.text = LexString();
    } else if (std::string_view("{}<>[]:,;-").find(c) != std::string_view::npos) {
      token.kind = TokenKind::kSymbol;
      token.text = Take();
    } else {
      ThrowTextError(source_, here_, "unexpected character " + QuoteForMessage(std::string(1, c)));
    }
    return token;
  }

 private:
  bool AtEnd() const { return offset_ >= text_.size(); }
  char Peek(size_t ahead = 0) const { return offset_ + ahead < text_.size() ? text_[offset_ + ahead] : '\0'; }
  char Take() {
    const char c = text_[offset_++];
    if (c == '\n') {
      ++here_.line;
      here_.column = 1;
    } else {
      ++here_.column;
    }
    return c;
  }

  void SkipSpaceAndComments() {
    while (!AtEnd()) {
      const char c = Peek();
      if (c == '#') {
        while (!AtEnd() && Peek() != '\n') Take();
      } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
        Take();
      } else {
        return;
      }
    }
  }

  // Decimal (with optional fraction, exponent and 'f' suffix), hex (0x1F) or octal (017),
  // as protobuf spells them. The value is converted later, when the field's type is known.
  void LexNumber(Token& token) {
    const TextPosition start = here_;
    token.kind = TokenKind::kInteger;
    if (Peek() == '0' && (Peek(1) == 'x' || Peek(1) == 'X')) {
      token.text += Take();
      token.text += Take();
      if (!IsHexDigit(Peek())) ThrowTextError(source_, start, "hex number \"" + token.text + "\" has no digits");
      while (IsHexDigit(Peek())) token.text += Take();
    } else if (Peek() == '0' && IsDigit(Peek(1))) {
      while (IsDigit(Peek())) token.text += Take();
      for (char d : token.text) {
        if (!IsOctalDigit(d)) ThrowTextError(source_, start, "invalid octal number \"" + token.text + "\"");
      }
    } else {
      while (IsDigit(Peek())) token.text += Take();
      if (Peek() == '.') {
        token.kind = TokenKind::kFloat;
        token.text += Take();
        while (IsDigit(Peek())) token.text += Take();
      }
      if (Peek() == 'e' || Peek() == 'E') {
        token.kind = TokenKind::kFloat;
        token.text += Take();
        if (Peek() == '+' || Peek() == '-') token.text += Take();
        if (!IsDigit(Peek())) ThrowTextError(source_, start, "number \"" + token.text + "\" has no exponent digits");
        while (IsDigit(Peek())) token.text += Take();
      }
      if (Peek() == 'f' || Peek() == 'F') {
        token.kind = TokenKind::kFloat;
        token.text += Take();
      }
    }
    // "12abc" or "1.2.3" is one malformed token, not a number followed by something else.
    if (IsIdentifierChar(Peek()) || Peek() == '.') {
      while (IsIdentifierChar(Peek()) || Peek() == '.') token.text += Take();
      ThrowTextError(source_, start, "invalid number " + QuoteForMessage(token.text));
    }
  }

  std::string LexString() {
    const TextPosition start = here_;
    const char quote = Take();
    std::string out;
    while (true) {
      if (AtEnd() || Peek() == '\n') {
        ThrowTextError(source_, start, "string is missing its closing " + std::string(1, quote));
      }
      const char c = Take();
      if (c == quote) return out;
      if (c == '\\') {
        LexEscape(out);
      } else {
        out += c;
      }
    }
  }

  // The C escapes protobuf accepts: \n \t \r \a \b \f \v \\ \' \" \?, octal \ooo, hex \xHH,
  // and Unicode \uXXXX / \UXXXXXXXX (written out as UTF-8).
  void LexEscape(std::string& out) {
    const TextPosition at{here_.line, here_.column - 1};  // the backslash
    if (AtEnd()) ThrowTextError(source_, at, "string ends inside an escape sequence");
    const char c = Take();
    switch (c) {
      case 'n': out += '\n'; return;
      case 't': out += '\t'; return;
      case 'r': out += '\r'; return;
      case 'a': out += '\a'; return;
      case 'b': out += '\b'; return;
      case 'f': out += '\f'; return;
      case 'v': out += '\v'; return;
      case '\\': case '\'': case '"': case '?': out += c; return;
      default: break;
    }
    if (IsOctalDigit(c)) {
      int value = c - '0';
      for (int i = 0; i < 2 && IsOctalDigit(Peek()); ++i) value = value * 8 + (Take() - '0');
      if (value > 0xFF) ThrowTextError(source_, at, "octal escape is larger than one byte (\\377)");
      out += static_cast<char>(value);
      return;
    }
    if (c == 'x' || c == 'X') {
      if (!IsHexDigit(Peek())) ThrowTextError(source_, at, "\\x escape needs hex digits");
      int value = 0;
      for (int i = 0; i < 2 && IsHexDigit(Peek()); ++i) value = value * 16 + HexValue(Take());
      out += static_cast<char>(value);
      return;
    }
    if (c == 'u' || c == 'U') {
      const int digits = c == 'u' ? 4 : 8;
      uint32_t code_point = 0;
      for (int i = 0; i < digits; ++i) {
        if (!IsHexDigit(Peek())) {
          std::string what = "\\";  // appended piecewise: GCC 12 misreports "literal" + string&& (-Wrestrict)
          what += c;
          what += " escape needs " + std::to_string(digits) + " hex digits";
          ThrowTextError(source_, at, what);
        }
        code_point = code_point * 16 + static_cast<uint32_t>(HexValue(Take()));
      }
      if (!AppendUtf8(code_point, out)) ThrowTextError(source_, at, "escape is not a valid Unicode code point");
      return;
    }
    ThrowTextError(source_, at, "unknown escape sequence " + QuoteForMessage(std::string("\\") + c));
  }

  std::string_view text_;
  const std::string& source_;
  size_t offset_ = 0;
  TextPosition here_;
};

// How a token is named in "expected X, found Y" messages.
std::string Describe(const Token& token) {
  switch (token.kind) {
    case TokenKind::kEnd: return "end of input";
    case TokenKind::kString: return "string " + QuoteForMessage(token.text);
    default: return "'" + token.text + "'";
  }
}

bool IsSymbol(const Token& token, char c) { return token.kind == TokenKind::kSymbol && token.text[0] == c; }

// Recursive descent over the token stream with one token of lookahead.
class Parser {
 public:
  Parser(std::string_view text, const std::string& source) : lexer_(text, source), source_(source) { Advance(); }

  PbtxtMessage ParseTopLevel() {
    PbtxtMessage message;
    while (current_.kind != TokenKind::kEnd) ParseField(message, 0);
    return message;
  }

 private:
  void Advance() { current_ = lexer_.Next(); }
  [[noreturn]] void Fail(TextPosition pos, const std::string& what) const { ThrowTextError(source_, pos, what); }

  // name [':'] (scalar | message | '[' elements ']') [',' | ';']
  void ParseField(PbtxtMessage& parent, int depth) {
    if (current_.kind != TokenKind::kIdentifier) {
      Fail(current_.position, "expected a field name, found " + Describe(current_));
    }
    PbtxtField field;
    field.name = current_.text;
    field.position = current_.position;
    Advance();
    const bool has_colon = IsSymbol(current_, ':');
    if (has_colon) Advance();

    if (IsSymbol(current_, '[')) {
      field.written_as_list = true;
      Advance();
      while (!IsSymbol(current_, ']')) {
        field.values.push_back(ParseValue(field.name, has_colon, depth));
        if (IsSymbol(current_, ',')) {
          Advance();
        } else if (!IsSymbol(current_, ']')) {
          Fail(current_.position, "expected ',' or ']' in the list of field \"" + field.name + "\", found " +
                                      Describe(current_));
        }
      }
      Advance();
    } else {
      field.values.push_back(ParseValue(field.name, has_colon, depth));
    }
    if (IsSymbol(current_, ',') || IsSymbol(current_, ';')) Advance();
    parent.fields.push_back(std::move(field));
  }

  PbtxtValue ParseValue(const std::string& field_name, bool has_colon, int depth) {
    PbtxtValue value;
    value.position = current_.position;
    if (IsSymbol(current_, '{') || IsSymbol(current_, '<')) {
      if (depth + 1 > kPbtxtMaxNesting) {
        Fail(current_.position, "messages are nested more than " + std::to_string(kPbtxtMaxNesting) + " deep");
      }
      const char closer = current_.text[0] == '{' ? '}' : '>';
      Advance();
      auto message = std::make_shared<PbtxtMessage>();
      message->position = value.position;
      while (!IsSymbol(current_, closer)) {
        if (current_.kind == TokenKind::kEnd) {
          Fail(current_.position, "expected '" + std::string(1, closer) + "' to close field \"" + field_name +
                                      "\" opened at " + FormatPosition(value.position) + ", found end of input");
        }
        ParseField(*message, depth + 1);
      }
      Advance();
      value.kind = PbtxtValue::Kind::kMessage;
      value.message = std::move(message);
      return value;
    }

    // Anything else is a scalar, and protobuf insists on the ':' before a scalar.
    const bool looks_like_scalar = current_.kind == TokenKind::kIdentifier || current_.kind == TokenKind::kInteger ||
                                   current_.kind == TokenKind::kFloat || current_.kind == TokenKind::kString ||
                                   IsSymbol(current_, '-');
    if (!looks_like_scalar) {
      Fail(current_.position, "expected a value for field \"" + field_name + "\", found " + Describe(current_));
    }
    if (!has_colon) {
      Fail(current_.position, "expected ':' or '{' after field name \"" + field_name + "\", found " + Describe(current_));
    }
    if (current_.kind == TokenKind::kString) {
      value.kind = PbtxtValue::Kind::kString;
      while (current_.kind == TokenKind::kString) {  // "abc" 'def' is "abcdef"
        value.text += current_.text;
        Advance();
      }
      return value;
    }
    std::string sign;
    if (IsSymbol(current_, '-')) {
      sign = "-";
      Advance();
      const bool is_number = current_.kind == TokenKind::kInteger || current_.kind == TokenKind::kFloat;
      if (!is_number && !(current_.kind == TokenKind::kIdentifier && IsInfinityOrNan(current_.text))) {
        Fail(current_.position, "expected a number after '-', found " + Describe(current_));
      }
    }
    value.kind = current_.kind == TokenKind::kInteger ? PbtxtValue::Kind::kInteger
                 : current_.kind == TokenKind::kFloat ? PbtxtValue::Kind::kFloat
                                                      : PbtxtValue::Kind::kIdentifier;
    value.text = sign + current_.text;
    Advance();
    return value;
  }

  Lexer lexer_;
  const std::string& source_;
  Token current_;
};

}  // namespace

PbtxtMessage ParsePbtxt(std::string_view text, const std::string& source_name) {
  return Parser(text, source_name).ParseTopLevel();
}

}  // namespace mms::io
