#include "template/lexer.h"

#include <algorithm>

#include "template/text_util.h"

namespace mms::tmpl {

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Jinja reads every line ending as "\n" (its newline_sequence), and drops one final newline.
std::string NormalizeNewlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) : src_(NormalizeNewlines(source)) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  std::vector<Chunk> Run() {
    size_t pos = 0;
    bool strip_all_next = false;     // the previous tag ended in '-'
    bool trim_newline_next = false;  // the previous block/comment tag ended plainly (trim_blocks)
    while (pos <= src_.size()) {
      const size_t tag = FindTagStart(pos);
      size_t text_begin = pos;
      const size_t text_end = tag == std::string::npos ? src_.size() : tag;
      if (strip_all_next) {
        while (text_begin < text_end && IsSpace(src_[text_begin])) ++text_begin;
      } else if (trim_newline_next && text_begin < text_end && src_[text_begin] == '\n') {
        ++text_begin;
      }
      std::string text = src_.substr(text_begin, text_end - text_begin);
      if (tag == std::string::npos) {
        Emit(std::move(text), text_begin);
        break;
      }
      const char kind = src_[tag + 1];  // '{', '%' or '#'
      const char sign = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
      if (sign == '-') {
        while (!text.empty() && IsSpace(text.back())) text.pop_back();
      } else if (kind != '{' && sign != '+') {
        // lstrip_blocks: indentation alone on the tag's line goes.
        const size_t nl = text.rfind('\n');
        const size_t line_begin = nl == std::string::npos ? 0 : nl + 1;
        const bool line_starting = text_begin == 0 || src_[text_begin - 1] == '\n';
        if (nl != std::string::npos || line_starting) {
          bool blank = true;
          for (size_t i = line_begin; i < text.size(); ++i) {
            if (text[i] != ' ' && text[i] != '\t') blank = false;
          }
          if (blank) text.resize(line_begin);
        }
      }
      Emit(std::move(text), text_begin);
      size_t body = tag + 2;
      if (sign == '-' || sign == '+') ++body;
      char end_sign = '\0';
      if (kind == '#') {
        pos = EndComment(body, tag, &end_sign);
      } else {
        pos = TagTokens(kind, body, tag, &end_sign);
      }
      strip_all_next = end_sign == '-';
      trim_newline_next = kind != '{' && end_sign == '\0';
    }
    return std::move(chunks_);
  }

 private:
  size_t FindTagStart(size_t pos) const {
    while (true) {
      const size_t p = src_.find('{', pos);
      if (p == std::string::npos || p + 1 >= src_.size()) return std::string::npos;
      const char c = src_[p + 1];
      if (c == '{' || c == '%' || c == '#') return p;
      pos = p + 1;
    }
  }

  void Emit(std::string text, size_t at) {
    if (text.empty()) return;
    Chunk c;
    c.type = Chunk::Type::kText;
    c.text = std::move(text);
    Locate(at, &c.line, &c.column);
    chunks_.push_back(std::move(c));
  }

  void Locate(size_t offset, int* line, int* column) const {
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    const size_t index = static_cast<size_t>(it - line_starts_.begin()) - 1;
    *line = static_cast<int>(index) + 1;
    *column = static_cast<int>(CodePointCount(std::string_view(src_).substr(line_starts_[index], offset - line_starts_[index]))) + 1;
  }

  [[noreturn]] void Fail(const std::string& message, size_t offset) const {
    SyntaxErrorInfo info;
    info.message = message;
    Locate(std::min(offset, src_.size()), &info.line, &info.column);
    throw SyntaxError(std::move(info));
  }

  size_t EndComment(size_t body, size_t tag, char* end_sign) {
    const size_t end = src_.find("#}", body);
    if (end == std::string::npos) Fail("unclosed comment", tag);
    *end_sign = (end > body && src_[end - 1] == '-') ? '-' : (end > body && src_[end - 1] == '+') ? '+' : '\0';
    return end + 2;
  }

  // Reads the tokens of a `{{ }}` or `{% %}` tag; returns the offset after its end marker.
  size_t TagTokens(char kind, size_t pos, size_t tag, char* end_sign) {
    Chunk chunk;
    chunk.type = kind == '{' ? Chunk::Type::kOutput : Chunk::Type::kStatement;
    Locate(tag, &chunk.line, &chunk.column);
    const char closer = kind == '{' ? '}' : '%';
    int balance = 0;  // open brackets: "}}" inside a dict literal does not end the tag
    while (true) {
      while (pos < src_.size() && IsSpace(src_[pos])) ++pos;
      if (pos >= src_.size()) Fail(kind == '{' ? "unclosed '{{'" : "unclosed '{%'", tag);
      if (balance == 0) {
        for (char sign : {'-', '+', '\0'}) {
          const size_t at = sign == '\0' ? pos : pos + 1;
          if (sign != '\0' && (pos >= src_.size() || src_[pos] != sign)) continue;
          if (at + 1 < src_.size() && src_[at] == closer && src_[at + 1] == '}') {
            if (sign == '+' && kind == '{') continue;
            Token end;
            end.type = Token::Type::kEnd;
            Locate(pos, &end.line, &end.column);
            chunk.tokens.push_back(std::move(end));
            *end_sign = sign;
            chunks_.push_back(std::move(chunk));
            return at + 2;
          }
        }
      }
      Token t;
      Locate(pos, &t.line, &t.column);
      const char c = src_[pos];
      if (IsNameStart(c)) {
        size_t e = pos;
        while (e < src_.size() && IsNameChar(src_[e])) ++e;
        t.type = Token::Type::kName;
        t.text = src_.substr(pos, e - pos);
        pos = e;
      } else if (IsDigit(c)) {
        pos = Number(pos, &t);
      } else if (c == '\'' || c == '"') {
        pos = String(pos, &t);
      } else {
        static const char* const kOps[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<",
                                           ">",  "=",  "(",  ")",  "[",  "]",  "{", "}", ",", ".", ":", "|", ";"};
        std::string op;
        for (const char* candidate : kOps) {
          if (src_.compare(pos, std::char_traits<char>::length(candidate), candidate) == 0) {
            op = candidate;
            break;
          }
        }
        if (op.empty()) Fail(std::string("unexpected character '") + c + "'", pos);
        if (op == "(" || op == "[" || op == "{") ++balance;
        if (op == ")" || op == "]" || op == "}") {
          if (balance == 0) Fail("unexpected '" + op + "'", pos);
          --balance;
        }
        t.type = Token::Type::kOp;
        t.text = op;
        pos += op.size();
      }
      chunk.tokens.push_back(std::move(t));
    }
  }

  size_t Number(size_t pos, Token* t) {
    size_t e = pos;
    auto digits = [&] {
      while (e < src_.size() && (IsDigit(src_[e]) || (src_[e] == '_' && e + 1 < src_.size() && IsDigit(src_[e + 1])))) {
        ++e;
      }
    };
    digits();
    bool is_float = false;
    if (e + 1 < src_.size() && src_[e] == '.' && IsDigit(src_[e + 1])) {
      is_float = true;
      ++e;
      digits();
    }
    if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t x = e + 1;
      if (x < src_.size() && (src_[x] == '+' || src_[x] == '-')) ++x;
      if (x < src_.size() && IsDigit(src_[x])) {
        is_float = true;
        e = x;
        digits();
      }
    }
    t->type = is_float ? Token::Type::kFloat : Token::Type::kInt;
    for (size_t i = pos; i < e; ++i) {
      if (src_[i] != '_') t->text += src_[i];
    }
    return e;
  }

  // A quoted literal, decoded as Python's unicode-escape codec reads it (what Jinja does).
  size_t String(size_t pos, Token* t) {
    const char quote = src_[pos];
    size_t i = pos + 1;
    std::string out;
    while (true) {
      if (i >= src_.size()) Fail("unterminated string", pos);
      const char c = src_[i];
      if (c == quote) break;
      if (c != '\\') {
        out += c;
        ++i;
        continue;
      }
      if (i + 1 >= src_.size()) Fail("unterminated string", pos);
      const char e = src_[i + 1];
      i += 2;
      switch (e) {
        case '\n': break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        case 'x':
        case 'u':
        case 'U': {
          const int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          char32_t cp = 0;
          for (int k = 0; k < n; ++k) {
            if (i + static_cast<size_t>(k) >= src_.size() || HexValue(src_[i + k]) < 0) {
              Fail(std::string("truncated \\") + e + " escape in string", i - 2);
            }
            cp = cp * 16 + static_cast<char32_t>(HexValue(src_[i + k]));
          }
          if (cp > 0x10FFFF) Fail("illegal Unicode character in string", i - 2);
          i += static_cast<size_t>(n);
          AppendUtf8(out, cp);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            char32_t cp = static_cast<char32_t>(e - '0');
            for (int k = 0; k < 2 && i < src_.size() && src_[i] >= '0' && src_[i] <= '7'; ++k, ++i) {
              cp = cp * 8 + static_cast<char32_t>(src_[i] - '0');
            }
            AppendUtf8(out, cp);
          } else {
            out += '\\';  // unknown escapes stay as written
            out += e;
          }
      }
    }
    t->type = Token::Type::kString;
    t->text = std::move(out);
    return i + 1;
  }

  std::string src_;
  std::vector<size_t> line_starts_;
  std::vector<Chunk> chunks_;
};

}  // namespace

std::vector<Chunk> Lex(std::string_view source) { return Lexer(source).Run(); }

}  // namespace mms::tmpl
