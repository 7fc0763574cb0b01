#include "template/parser.h"

#include <cerrno>
#include <cstdlib>
#include <initializer_list>

#include "template/lexer.h"

namespace mms::tmpl {

namespace {

class Parser {
 public:
  explicit Parser(std::vector<Chunk> chunks) : chunks_(std::move(chunks)) {}

  Body Run() {
    std::string ended_by;
    Body body = ParseBody({}, &ended_by);
    return body;
  }

 private:
  // ---- chunk and token cursor ----
  const Token& Peek(size_t ahead = 0) const {
    const size_t i = std::min(ti_ + ahead, toks_->size() - 1);
    return (*toks_)[i];
  }
  const Token& Next() {
    const Token& t = Peek();
    if (ti_ + 1 < toks_->size()) ++ti_;
    return t;
  }
  bool IsOp(std::string_view op, size_t ahead = 0) const {
    return Peek(ahead).type == Token::Type::kOp && Peek(ahead).text == op;
  }
  bool IsName(std::string_view name, size_t ahead = 0) const {
    return Peek(ahead).type == Token::Type::kName && Peek(ahead).text == name;
  }
  bool AcceptOp(std::string_view op) {
    if (!IsOp(op)) return false;
    Next();
    return true;
  }
  bool AcceptName(std::string_view name) {
    if (!IsName(name)) return false;
    Next();
    return true;
  }
  [[noreturn]] void Fail(const std::string& message, const Token& at) const {
    throw SyntaxError(SyntaxErrorInfo{message, at.line, at.column});
  }
  static std::string Describe(const Token& t) {
    if (t.type == Token::Type::kEnd) return "end of tag";
    if (t.type == Token::Type::kString) return "string literal";
    return "'" + t.text + "'";
  }
  void ExpectOp(std::string_view op) {
    if (!AcceptOp(op)) Fail("expected '" + std::string(op) + "', got " + Describe(Peek()), Peek());
  }
  std::string ExpectName() {
    if (Peek().type != Token::Type::kName) Fail("expected a name, got " + Describe(Peek()), Peek());
    return Next().text;
  }
  void ExpectEnd() {
    if (Peek().type != Token::Type::kEnd) Fail("expected end of tag, got " + Describe(Peek()), Peek());
  }

  struct DepthGuard {
    DepthGuard(Parser* p, const Token& at) : p(p) {
      if (++p->depth_ > kMaxNesting) p->Fail("template nested deeper than " + std::to_string(kMaxNesting) + " levels", at);
    }
    ~DepthGuard() { --p->depth_; }
    Parser* p;
  };

  // ---- statements ----

  // Reads chunks until a statement named in `end_tags`; leaves the cursor after its keyword.
  Body ParseBody(std::initializer_list<std::string_view> end_tags, std::string* ended_by) {
    Body body;
    while (ci_ < chunks_.size()) {
      Chunk& chunk = chunks_[ci_++];
      if (chunk.type == Chunk::Type::kText) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::kText;
        s->line = chunk.line;
        s->text = std::move(chunk.text);
        body.push_back(std::move(s));
        continue;
      }
      toks_ = &chunk.tokens;
      ti_ = 0;
      if (chunk.type == Chunk::Type::kOutput) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::kOutput;
        s->line = chunk.line;
        s->expr = ParseTuple(true);
        ExpectEnd();
        body.push_back(std::move(s));
        continue;
      }
      const Token& keyword = Peek();
      if (keyword.type != Token::Type::kName) Fail("expected a statement name, got " + Describe(keyword), keyword);
      for (std::string_view tag : end_tags) {
        if (keyword.text == tag) {
          *ended_by = keyword.text;
          Next();
          return body;
        }
      }
      DepthGuard guard(this, keyword);
      body.push_back(ParseStatement(chunk.line));
    }
    if (end_tags.size() > 0) {
      const Token end{Token::Type::kEnd, "", chunks_.empty() ? 1 : chunks_.back().line, 1};
      Fail("unexpected end of template, expected '" + std::string(*end_tags.begin()) + "'", end);
    }
    return body;
  }

  std::unique_ptr<Stmt> ParseStatement(int line) {
    const Token keyword = Next();
    auto s = std::make_unique<Stmt>();
    s->line = line;
    const std::string& k = keyword.text;
    std::string ended;
    if (k == "if") {
      s->kind = Stmt::Kind::kIf;
      ExprPtr cond = ParseExpression();
      ExpectEnd();
      while (true) {
        Body b = ParseBody({"elif", "else", "endif"}, &ended);
        s->branches.emplace_back(std::move(cond), std::move(b));
        if (ended == "elif") {
          cond = ParseExpression();
          ExpectEnd();
          continue;
        }
        if (ended == "else") {
          ExpectEnd();
          s->else_body = ParseBody({"endif"}, &ended);
        }
        ExpectEnd();
        break;
      }
    } else if (k == "for") {
      s->kind = Stmt::Kind::kFor;
      do {
        s->names.push_back(ExpectName());
      } while (AcceptOp(","));
      if (!AcceptName("in")) Fail("expected 'in' in for loop, got " + Describe(Peek()), Peek());
      s->expr = ParseTuple(false);
      if (AcceptName("if")) s->cond = ParseExpression();
      if (IsName("recursive")) Fail("recursive loops are not supported", Peek());
      ExpectEnd();
      ++loop_depth_;
      s->body = ParseBody({"endfor", "else"}, &ended);
      --loop_depth_;
      if (ended == "else") {
        ExpectEnd();
        s->else_body = ParseBody({"endfor"}, &ended);
      }
      ExpectEnd();
    } else if (k == "set") {
      const std::string first = ExpectName();
      if (AcceptOp(".")) {
        s->kind = Stmt::Kind::kSet;
        s->names.push_back(first);
        s->attr = ExpectName();
        ExpectOp("=");
        s->expr = ParseTuple(true);
        ExpectEnd();
      } else if (IsOp("=") || IsOp(",")) {
        s->kind = Stmt::Kind::kSet;
        s->names.push_back(first);
        while (AcceptOp(",")) s->names.push_back(ExpectName());
        ExpectOp("=");
        s->expr = ParseTuple(true);
        ExpectEnd();
      } else {
        s->kind = Stmt::Kind::kSetBlock;
        s->names.push_back(first);
        if (IsOp("|")) s->filter = ParseFilterChain();
        ExpectEnd();
        s->body = ParseBody({"endset"}, &ended);
        ExpectEnd();
      }
    } else if (k == "macro") {
      s->kind = Stmt::Kind::kMacro;
      s->text = ExpectName();
      ParseParams(&s->params);
      ExpectEnd();
      const int saved = loop_depth_;
      loop_depth_ = 0;
      s->body = ParseBody({"endmacro"}, &ended);
      loop_depth_ = saved;
      if (Peek().type == Token::Type::kName) Next();  // {% endmacro name %}
      ExpectEnd();
    } else if (k == "call") {
      s->kind = Stmt::Kind::kCallBlock;
      if (IsOp("(")) ParseParams(&s->params);
      s->expr = ParseExpression();
      if (s->expr->kind != Expr::Kind::kCall) Fail("expected a call in the call block", keyword);
      ExpectEnd();
      s->body = ParseBody({"endcall"}, &ended);
      ExpectEnd();
    } else if (k == "filter") {
      s->kind = Stmt::Kind::kFilterBlock;
      s->filter = ParseFilterChain(/*leading_bar=*/false);
      ExpectEnd();
      s->body = ParseBody({"endfilter"}, &ended);
      ExpectEnd();
    } else if (k == "with") {
      s->kind = Stmt::Kind::kWith;
      while (Peek().type != Token::Type::kEnd) {
        if (!s->assignments.empty()) ExpectOp(",");
        std::string name = ExpectName();
        ExpectOp("=");
        s->assignments.emplace_back(std::move(name), ParseExpression());
      }
      ExpectEnd();
      s->body = ParseBody({"endwith"}, &ended);
      ExpectEnd();
    } else if (k == "break" || k == "continue") {
      if (loop_depth_ == 0) Fail("'" + k + "' outside a loop", keyword);
      s->kind = k == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue;
      ExpectEnd();
    } else if (k == "generation") {
      s->kind = Stmt::Kind::kGeneration;
      ExpectEnd();
      s->body = ParseBody({"endgeneration"}, &ended);
      ExpectEnd();
    } else {
      Fail("unknown or unsupported tag '" + k + "'", keyword);
    }
    return s;
  }

  void ParseParams(std::vector<Param>* params) {
    ExpectOp("(");
    while (!IsOp(")")) {
      if (!params->empty()) ExpectOp(",");
      if (IsOp(")")) break;
      Param p;
      p.name = ExpectName();
      if (AcceptOp("=")) {
        p.default_value = ParseExpression();
      } else if (!params->empty() && params->back().default_value) {
        Fail("non-default argument follows default argument", Peek());
      }
      params->push_back(std::move(p));
    }
    ExpectOp(")");
  }

  // `| f(args) | g ...` with a null innermost input (the block's body fills it in).
  ExprPtr ParseFilterChain(bool leading_bar = true) {
    ExprPtr chain;
    if (!leading_bar) chain = ParseFilter(nullptr);
    while (AcceptOp("|")) chain = ParseFilter(std::move(chain));
    return chain;
  }

  // ---- expressions ----

  ExprPtr Make(Expr::Kind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }

  ExprPtr ParseExpression() { return ParseCondition(); }

  // A bare tuple (`a, b`) where Jinja allows one: output tags, set values, loop iterables.
  ExprPtr ParseTuple(bool with_condition) {
    const int line = Peek().line;
    ExprPtr first = with_condition ? ParseExpression() : ParseOr();
    if (!IsOp(",")) return first;
    auto tuple = Make(Expr::Kind::kTuple, line);
    tuple->args.push_back(std::move(first));
    while (AcceptOp(",")) {
      if (Peek().type == Token::Type::kEnd || IsOp(")") || IsName("if")) break;
      tuple->args.push_back(with_condition ? ParseExpression() : ParseOr());
    }
    return tuple;
  }

  ExprPtr ParseCondition() {
    DepthGuard guard(this, Peek());
    ExprPtr value = ParseOr();
    while (IsName("if")) {
      const int line = Next().line;
      auto cond = Make(Expr::Kind::kCondition, line);
      cond->a = ParseOr();
      cond->b = std::move(value);
      if (AcceptName("else")) cond->c = ParseCondition();
      value = std::move(cond);
    }
    return value;
  }

  ExprPtr ParseOr() {
    ExprPtr left = ParseAnd();
    while (IsName("or")) {
      auto e = Make(Expr::Kind::kBinary, Next().line);
      e->name = "or";
      e->a = std::move(left);
      e->b = ParseAnd();
      left = std::move(e);
    }
    return left;
  }

  ExprPtr ParseAnd() {
    ExprPtr left = ParseNot();
    while (IsName("and")) {
      auto e = Make(Expr::Kind::kBinary, Next().line);
      e->name = "and";
      e->a = std::move(left);
      e->b = ParseNot();
      left = std::move(e);
    }
    return left;
  }

  ExprPtr ParseNot() {
    if (IsName("not")) {
      DepthGuard guard(this, Peek());
      auto e = Make(Expr::Kind::kUnary, Next().line);
      e->name = "not";
      e->a = ParseNot();
      return e;
    }
    return ParseCompare();
  }

  ExprPtr ParseCompare() {
    const int line = Peek().line;
    ExprPtr first = ParseMath1();
    std::vector<std::pair<std::string, ExprPtr>> ops;
    while (true) {
      std::string op;
      if (Peek().type == Token::Type::kOp &&
          (IsOp("==") || IsOp("!=") || IsOp("<") || IsOp("<=") || IsOp(">") || IsOp(">="))) {
        op = Next().text;
      } else if (AcceptName("in")) {
        op = "in";
      } else if (IsName("not") && IsName("in", 1)) {
        Next();
        Next();
        op = "not in";
      } else {
        break;
      }
      ops.emplace_back(op, ParseMath1());
    }
    if (ops.empty()) return first;
    auto e = Make(Expr::Kind::kCompare, line);
    e->a = std::move(first);
    e->ops = std::move(ops);
    return e;
  }

  ExprPtr Binary(std::string op, int line, ExprPtr a, ExprPtr b) {
    auto e = Make(Expr::Kind::kBinary, line);
    e->name = std::move(op);
    e->a = std::move(a);
    e->b = std::move(b);
    return e;
  }

  ExprPtr ParseMath1() {
    ExprPtr left = ParseConcat();
    while (IsOp("+") || IsOp("-")) {
      const Token& t = Next();
      std::string op = t.text;
      left = Binary(op, t.line, std::move(left), ParseConcat());
    }
    return left;
  }

  ExprPtr ParseConcat() {
    ExprPtr left = ParseMath2();
    while (IsOp("~")) {
      const int line = Next().line;
      left = Binary("~", line, std::move(left), ParseMath2());
    }
    return left;
  }

  ExprPtr ParseMath2() {
    ExprPtr left = ParsePow();
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      const Token& t = Next();
      std::string op = t.text;
      left = Binary(op, t.line, std::move(left), ParsePow());
    }
    return left;
  }

  ExprPtr ParsePow() {
    ExprPtr left = ParseUnary(true);
    while (IsOp("**")) {
      const int line = Next().line;
      left = Binary("**", line, std::move(left), ParseUnary(true));
    }
    return left;
  }

  ExprPtr ParseUnary(bool with_filter) {
    DepthGuard guard(this, Peek());
    ExprPtr node;
    if (IsOp("-") || IsOp("+")) {
      const Token& t = Next();
      node = Make(Expr::Kind::kUnary, t.line);
      node->name = t.text;
      node->a = ParseUnary(false);
    } else {
      node = ParsePrimary();
    }
    node = ParsePostfix(std::move(node));
    if (with_filter) node = ParseFilterExpr(std::move(node));
    return node;
  }

  ExprPtr ParsePrimary() {
    const Token& t = Peek();
    switch (t.type) {
      case Token::Type::kName: {
        Next();
        auto e = Make(Expr::Kind::kLiteral, t.line);
        if (t.text == "true" || t.text == "True") {
          e->value = Value::Bool(true);
        } else if (t.text == "false" || t.text == "False") {
          e->value = Value::Bool(false);
        } else if (t.text == "none" || t.text == "None") {
          e->value = Value::None();
        } else {
          e->kind = Expr::Kind::kName;
          e->name = t.text;
        }
        return e;
      }
      case Token::Type::kString: {
        auto e = Make(Expr::Kind::kLiteral, t.line);
        std::string s;
        while (Peek().type == Token::Type::kString) s += Next().text;  // adjacent literals join
        e->value = Value::String(std::move(s));
        return e;
      }
      case Token::Type::kInt: {
        Next();
        errno = 0;
        char* end = nullptr;
        const long long v = std::strtoll(t.text.c_str(), &end, 10);
        if (errno == ERANGE) Fail("integer literal too large", t);
        auto e = Make(Expr::Kind::kLiteral, t.line);
        e->value = Value::Int(v);
        return e;
      }
      case Token::Type::kFloat: {
        Next();
        auto e = Make(Expr::Kind::kLiteral, t.line);
        e->value = Value::Float(std::strtod(t.text.c_str(), nullptr));
        return e;
      }
      case Token::Type::kOp:
        if (t.text == "(") {
          Next();
          if (AcceptOp(")")) {
            auto e = Make(Expr::Kind::kTuple, t.line);
            return e;
          }
          ExprPtr first = ParseExpression();
          if (AcceptOp(")")) return first;
          auto tuple = Make(Expr::Kind::kTuple, t.line);
          tuple->args.push_back(std::move(first));
          while (AcceptOp(",")) {
            if (IsOp(")")) break;
            tuple->args.push_back(ParseExpression());
          }
          ExpectOp(")");
          return tuple;
        }
        if (t.text == "[") {
          Next();
          auto list = Make(Expr::Kind::kList, t.line);
          while (!IsOp("]")) {
            if (!list->args.empty()) ExpectOp(",");
            if (IsOp("]")) break;
            list->args.push_back(ParseExpression());
          }
          ExpectOp("]");
          return list;
        }
        if (t.text == "{") {
          Next();
          auto dict = Make(Expr::Kind::kDict, t.line);
          while (!IsOp("}")) {
            if (!dict->pairs.empty()) ExpectOp(",");
            if (IsOp("}")) break;
            ExprPtr key = ParseExpression();
            ExpectOp(":");
            dict->pairs.emplace_back(std::move(key), ParseExpression());
          }
          ExpectOp("}");
          return dict;
        }
        break;
      default:
        break;
    }
    Fail("unexpected " + Describe(t), t);
  }

  ExprPtr ParsePostfix(ExprPtr node) {
    while (true) {
      if (IsOp(".")) {
        const int line = Next().line;
        const Token& t = Peek();
        if (t.type == Token::Type::kName) {
          auto e = Make(Expr::Kind::kGetAttr, line);
          e->a = std::move(node);
          e->name = Next().text;
          node = std::move(e);
        } else if (t.type == Token::Type::kInt) {
          auto e = Make(Expr::Kind::kGetItem, line);
          e->a = std::move(node);
          e->b = ParsePrimary();
          node = std::move(e);
        } else {
          Fail("expected an attribute name after '.', got " + Describe(t), t);
        }
      } else if (IsOp("[")) {
        node = ParseSubscript(std::move(node));
      } else if (IsOp("(")) {
        node = ParseCall(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr ParseSubscript(ExprPtr node) {
    const int line = Next().line;  // '['
    ExprPtr parts[3];
    int part = 0;
    bool is_slice = false;
    while (!IsOp("]")) {
      if (AcceptOp(":")) {
        is_slice = true;
        if (++part > 2) Fail("too many ':' in a slice", Peek());
        continue;
      }
      if (parts[part]) Fail("expected ']' or ':', got " + Describe(Peek()), Peek());
      parts[part] = ParseExpression();
      if (!is_slice && IsOp(",")) Fail("tuple subscripts are not supported", Peek());
    }
    ExpectOp("]");
    if (!is_slice) {
      if (!parts[0]) Fail("empty subscript", Peek());
      auto e = Make(Expr::Kind::kGetItem, line);
      e->a = std::move(node);
      e->b = std::move(parts[0]);
      return e;
    }
    auto e = Make(Expr::Kind::kSlice, line);
    e->a = std::move(node);
    e->b = std::move(parts[0]);
    e->c = std::move(parts[1]);
    e->d = std::move(parts[2]);
    return e;
  }

  void ParseArgs(Expr* e) {
    ExpectOp("(");
    while (!IsOp(")")) {
      if (!e->args.empty() || !e->kwargs.empty()) ExpectOp(",");
      if (IsOp(")")) break;
      if (IsOp("*") || IsOp("**")) Fail("*args and **kwargs in calls are not supported", Peek());
      if (Peek().type == Token::Type::kName && IsOp("=", 1)) {
        std::string name = Next().text;
        Next();
        e->kwargs.emplace_back(std::move(name), ParseExpression());
      } else {
        if (!e->kwargs.empty()) Fail("positional argument follows keyword argument", Peek());
        e->args.push_back(ParseExpression());
      }
    }
    ExpectOp(")");
  }

  ExprPtr ParseCall(ExprPtr node) {
    auto e = Make(Expr::Kind::kCall, Peek().line);
    e->a = std::move(node);
    ParseArgs(e.get());
    return e;
  }

  ExprPtr ParseFilter(ExprPtr input) {
    const int line = Peek().line;
    auto e = Make(Expr::Kind::kFilter, line);
    e->a = std::move(input);
    e->name = ExpectName();
    while (AcceptOp(".")) e->name += "." + ExpectName();
    if (IsOp("(")) ParseArgs(e.get());
    return e;
  }

  ExprPtr ParseFilterExpr(ExprPtr node) {
    while (true) {
      if (IsOp("|")) {
        Next();
        node = ParseFilter(std::move(node));
      } else if (IsName("is")) {
        const int line = Next().line;
        auto e = Make(Expr::Kind::kTest, line);
        e->negated = AcceptName("not");
        e->a = std::move(node);
        e->name = ExpectName();
        while (AcceptOp(".")) e->name += "." + ExpectName();
        const Token& t = Peek();
        if (IsOp("(")) {
          ParseArgs(e.get());
        } else if ((t.type == Token::Type::kName || t.type == Token::Type::kString || t.type == Token::Type::kInt ||
                    t.type == Token::Type::kFloat || IsOp("[") || IsOp("{")) &&
                   !IsName("else") && !IsName("or") && !IsName("and")) {
          // One argument without parentheses: `x is divisibleby 3`, `x is sameas none`.
          if (IsName("is")) Fail("unexpected 'is'", t);
          e->args.push_back(ParsePostfix(ParsePrimary()));
        }
        node = std::move(e);
      } else if (IsOp("(")) {
        node = ParseCall(std::move(node));
      } else {
        return node;
      }
    }
  }

  std::vector<Chunk> chunks_;
  size_t ci_ = 0;
  const std::vector<Token>* toks_ = nullptr;
  size_t ti_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Body ParseTemplate(std::string_view source) { return Parser(Lex(source)).Run(); }

}  // namespace mms::tmpl
