// The automaton's transitions, one small function per kind of value. A value that ends
// without a closing byte (a number, `true`, an enum's 12 versus 123) ends when a byte
// arrives that cannot continue it: the frame is popped and the byte goes to the parent.
#include "generation/json_grammar.h"

#include <array>
#include <string>

namespace mms::generation {
namespace {

// Keyword literals, sorted: boolean takes [0, 1) or [2, 3), null [1, 2).
const std::array<std::string, 3> kKeywords = {"false", "null", "true"};

constexpr uint64_t kMaxExponentDigits = 2;

bool IsWs(uint8_t c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }
bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }
int HexValue(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

enum RootPhase : uint8_t { kRootBefore, kRootValue, kRootDone };
enum ObjectPhase : uint8_t { kObjOpen, kObjKey, kObjKeyString, kObjAfterKey, kObjAfterColon, kObjValue, kObjAfterValue, kObjAfterComma };
enum ArrayPhase : uint8_t { kArrOpen, kArrValue, kArrAfterValue, kArrAfterComma };
enum StringPhase : uint8_t { kStrNormal, kStrEscape, kStrUnicode, kStrUtf8 };
enum NumberPhase : uint8_t { kNumStart, kNumMinus, kNumZero, kNumInt, kNumDot, kNumFrac, kNumExp, kNumExpSign, kNumExpDigits };

uint64_t AllProperties(const SchemaNode& n) {
  return n.properties.size() >= 64 ? ~uint64_t{0} : (uint64_t{1} << n.properties.size()) - 1;
}

}  // namespace

JsonGrammar::JsonGrammar(CompiledSchema schema) : schema_(std::move(schema)) {}

JsonState JsonGrammar::Initial() const {
  JsonState s;
  s.depth = 1;
  s.frames[0] = JsonFrame{};
  s.frames[0].what = kRoot;
  s.frames[0].phase = kRootBefore;
  return s;
}

bool JsonGrammar::Push(JsonState& s, const JsonFrame& f) const {
  if (s.depth >= JsonState::kMaxDepth) return false;
  s.frames[s.depth++] = f;
  return true;
}

// The top frame finished (already popped): its parent moves past the value.
void JsonGrammar::ChildDone(JsonState& s) const {
  JsonFrame& p = s.frames[s.depth - 1];
  switch (p.what) {
    case kRoot: p.phase = kRootDone; break;
    case kObject: p.phase = p.phase == kObjKeyString ? kObjAfterKey : kObjAfterValue; break;
    case kArray: p.phase = kArrAfterValue; ++p.count; break;
    default: s.dead = true; break;  // scalars have no children
  }
}

bool JsonGrammar::StartValue(JsonState& s, int32_t node_id, uint8_t c) const {
  const SchemaNode& n = schema_.nodes[node_id];
  JsonFrame f;
  f.node = node_id;
  if (n.has_literals) {
    uint32_t lo = 0, hi = 0;
    bool found = false;
    for (uint32_t i = 0; i < n.literals.size(); ++i) {
      const bool match = !n.literals[i].empty() && static_cast<uint8_t>(n.literals[i][0]) == c;
      if (match && !found) lo = i, found = true;
      if (match) hi = i + 1;
    }
    if (!found) return false;
    f.what = kLiteral;
    f.aux = 1;
    f.bits = lo | (uint64_t{hi} << 32);
    return Push(s, f);
  }
  switch (c) {
    case '{':
      // Containers leave the last frame free, so the innermost one can still take a value.
      if (!(n.types & kTypeObject) || s.depth + 1 >= JsonState::kMaxDepth) return false;
      f.what = kObject;
      f.phase = kObjOpen;
      return Push(s, f);
    case '[':
      if (!(n.types & kTypeArray) || s.depth + 1 >= JsonState::kMaxDepth) return false;
      f.what = kArray;
      f.phase = kArrOpen;
      return Push(s, f);
    case '"':
      if (!(n.types & kTypeString)) return false;
      f.what = kString;
      f.phase = kStrNormal;
      return Push(s, f);
    case 't': case 'f': case 'n': {
      const bool is_null = c == 'n';
      if (!(n.types & (is_null ? kTypeNull : kTypeBoolean))) return false;
      f.what = kKeyword;
      f.aux = 1;
      const uint64_t lo = c == 'f' ? 0 : c == 'n' ? 1 : 2;
      f.bits = lo | ((lo + 1) << 32);
      return Push(s, f);
    }
    default:
      if (!(c == '-' || IsDigit(c)) || !(n.types & kTypeInteger)) return false;
      f.what = kNumber;
      f.phase = kNumStart;
      f.count = (n.types & kTypeNumber) ? 0 : 1;  // 1: integer only
      if (!Push(s, f)) return false;
      bool pop = false;
      return StepNumber(s.frames[s.depth - 1], c, &pop);
  }
}

bool JsonGrammar::StepLiteral(JsonState& s, JsonFrame& f, uint8_t c, bool* pop) const {
  const auto literal = [&](uint32_t i) -> const std::string& {
    return f.what == kKeyword ? kKeywords[i] : schema_.nodes[f.node].literals[i];
  };
  const uint32_t lo = static_cast<uint32_t>(f.bits), hi = static_cast<uint32_t>(f.bits >> 32);
  const size_t at = f.aux;
  uint32_t new_lo = 0, new_hi = 0;
  bool found = false;
  for (uint32_t i = lo; i < hi; ++i) {
    const std::string& lit = literal(i);
    const bool match = lit.size() > at && static_cast<uint8_t>(lit[at]) == c;
    if (match && !found) new_lo = i, found = true;
    if (match) new_hi = i + 1;
  }
  if (found) {
    f.bits = new_lo | (uint64_t{new_hi} << 32);
    ++f.aux;
    s.ws_run = 0;
    return true;
  }
  *pop = literal(lo).size() == at;  // sorted: an exact match is the first of the range
  return false;
}

bool JsonGrammar::StepNumber(JsonFrame& f, uint8_t c, bool* pop) const {
  const bool int_only = f.count == 1;
  const bool room = f.aux < kMaxNumberChars;
  uint8_t next = 255;
  switch (f.phase) {
    case kNumStart:
      if (c == '-') next = kNumMinus;
      else if (c == '0') next = kNumZero;
      else if (IsDigit(c)) next = kNumInt;
      break;
    case kNumMinus:
      if (c == '0') next = kNumZero;
      else if (IsDigit(c)) next = kNumInt;
      break;
    case kNumZero: case kNumInt:
      if (f.phase == kNumInt && IsDigit(c)) next = kNumInt;
      else if (!int_only && c == '.') next = kNumDot;
      else if (!int_only && (c == 'e' || c == 'E')) next = kNumExp;
      break;
    case kNumDot:
      if (IsDigit(c)) next = kNumFrac;
      break;
    case kNumFrac:
      if (IsDigit(c)) next = kNumFrac;
      else if (c == 'e' || c == 'E') next = kNumExp;
      break;
    case kNumExp:
      if (c == '+' || c == '-') next = kNumExpSign;
      else if (IsDigit(c)) next = kNumExpDigits;
      break;
    case kNumExpSign: case kNumExpDigits:
      // Two exponent digits at most: with 32 characters of mantissa the value stays far
      // inside a double's range (parsers refuse or turn into infinity what is not).
      if (IsDigit(c) && f.bits < kMaxExponentDigits) next = kNumExpDigits;
      break;
  }
  if (next == kNumExpDigits) ++f.bits;
  if (next != 255 && room) {
    f.phase = next;
    ++f.aux;
    return true;
  }
  *pop = CanEnd(f);
  return false;
}

bool JsonGrammar::CanEnd(const JsonFrame& f) const {
  if (f.what == kNumber) {
    return f.phase == kNumZero || f.phase == kNumInt || f.phase == kNumFrac || f.phase == kNumExpDigits;
  }
  if (f.what == kLiteral || f.what == kKeyword) {
    const uint32_t lo = static_cast<uint32_t>(f.bits);
    const std::string& lit = f.what == kKeyword ? kKeywords[lo] : schema_.nodes[f.node].literals[lo];
    return lit.size() == f.aux;
  }
  return false;
}

bool JsonGrammar::StepString(JsonState& s, JsonFrame& f, uint8_t c) const {
  const uint32_t min_len = f.node >= 0 ? schema_.nodes[f.node].min_length : 0;
  const uint32_t max_len = f.node >= 0 ? schema_.nodes[f.node].max_length : UINT32_MAX;
  s.ws_run = 0;
  switch (f.phase) {
    case kStrNormal: {
      if (c == '"') {
        if (f.count < min_len) return false;
        --s.depth;
        ChildDone(s);
        return true;
      }
      if (c < 0x20 || f.count >= max_len) return false;
      if (c == '\\') {
        f.phase = kStrEscape;
        return true;
      }
      if (c < 0x80) {
        ++f.count;
        return true;
      }
      // A UTF-8 lead byte: how many continuation bytes, and the range of the first one
      // (no overlong forms, no surrogates, nothing above U+10FFFF).
      uint8_t need = 0, lo = 0x80, hi = 0xBF;
      if (c >= 0xC2 && c <= 0xDF) need = 1;
      else if (c == 0xE0) need = 2, lo = 0xA0;
      else if (c == 0xED) need = 2, hi = 0x9F;
      else if (c >= 0xE1 && c <= 0xEF) need = 2;
      else if (c == 0xF0) need = 3, lo = 0x90;
      else if (c >= 0xF1 && c <= 0xF3) need = 3;
      else if (c == 0xF4) need = 3, hi = 0x8F;
      else return false;
      ++f.count;
      f.phase = kStrUtf8;
      f.aux = need;
      f.bits = lo | (uint64_t{hi} << 8);
      return true;
    }
    case kStrUtf8: {
      const uint8_t lo = static_cast<uint8_t>(f.bits), hi = static_cast<uint8_t>(f.bits >> 8);
      if (c < lo || c > hi) return false;
      if (--f.aux == 0) f.phase = kStrNormal;
      f.bits = 0x80 | (uint64_t{0xBF} << 8);
      return true;
    }
    case kStrEscape:
      if (c == 'u') {
        f.phase = kStrUnicode;
        f.aux = 0;
        f.bits = 0;
        return true;
      }
      if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') {
        f.phase = kStrNormal;
        ++f.count;
        return true;
      }
      return false;
    case kStrUnicode: {
      const int h = HexValue(c);
      if (h < 0) return false;
      f.bits = f.bits * 16 + static_cast<uint64_t>(h);
      ++f.aux;
      if (f.aux == 2 && (f.bits & 0xF8) == 0xD8) return false;  // a surrogate half
      if (f.aux == 4) {
        f.phase = kStrNormal;
        ++f.count;
      }
      return true;
    }
  }
  return false;
}

bool JsonGrammar::Step(JsonState& s, uint8_t c) const {
  if (s.dead) return false;
  const bool ws = IsWs(c);
  auto space = [&] {
    if (s.ws_run >= kMaxWhitespaceRun) return false;
    ++s.ws_run;
    return true;
  };
  // Each pass either consumes c or pops a finished scalar, so depth bounds the loop.
  for (int guard = 0; guard <= JsonState::kMaxDepth; ++guard) {
    if (s.depth == 0) return false;
    JsonFrame& f = s.frames[s.depth - 1];
    if (!ws && f.what != kString) s.ws_run = 0;
    switch (f.what) {
      case kString:
        return StepString(s, f, c);
      case kNumber: case kLiteral: case kKeyword: {
        bool pop = false;
        if (f.what == kNumber ? StepNumber(f, c, &pop) : StepLiteral(s, f, c, &pop)) return true;
        if (!pop) return false;
        --s.depth;
        ChildDone(s);
        continue;  // the byte belongs to the parent
      }
      case kRoot:
        if (ws) return f.phase != kRootValue && space();
        if (f.phase != kRootBefore) return false;
        f.phase = kRootValue;
        return StartValue(s, schema_.root, c);
      case kObject: {
        const SchemaNode& n = schema_.nodes[f.node];
        const bool free = n.free_object;
        const bool satisfied = free || (f.bits & n.required) == n.required;
        switch (f.phase) {
          case kObjOpen: case kObjAfterComma:
            if (ws) return space();
            if (c == '}' && f.phase == kObjOpen) {
              if (!satisfied) return false;
              --s.depth;
              ChildDone(s);
              return true;
            }
            if (c != '"') return false;
            if (free) {
              f.phase = kObjKeyString;
              JsonFrame key;
              key.node = -1;
              key.what = kString;
              return Push(s, key);
            } else {
              const uint64_t unseen = AllProperties(n) & ~f.bits;
              if (unseen == 0) return false;
              f.phase = kObjKey;
              f.aux = 0;
              f.bits2 = unseen;
              return true;
            }
          case kObjKey: {
            uint64_t keep = 0;
            for (uint64_t m = f.bits2; m; m &= m - 1) {
              const int p = __builtin_ctzll(m);
              const std::string& key = n.properties[p].key;
              if (c == '"') {
                if (key.size() == f.aux) {
                  f.bits |= uint64_t{1} << p;
                  f.count = static_cast<uint32_t>(p);
                  f.phase = kObjAfterKey;
                  return true;
                }
              } else if (key.size() > f.aux && static_cast<uint8_t>(key[f.aux]) == c) {
                keep |= uint64_t{1} << p;
              }
            }
            if (keep == 0) return false;
            f.bits2 = keep;
            ++f.aux;
            return true;
          }
          case kObjAfterKey:
            if (ws) return space();
            if (c != ':') return false;
            f.phase = kObjAfterColon;
            return true;
          case kObjAfterColon:
            if (ws) return space();
            f.phase = kObjValue;
            return StartValue(s, free ? schema_.any_node : n.properties[f.count].node, c);
          case kObjAfterValue:
            if (ws) return space();
            if (c == ',') {
              if (!free && (AllProperties(n) & ~f.bits) == 0) return false;
              f.phase = kObjAfterComma;
              return true;
            }
            if (c != '}' || !satisfied) return false;
            --s.depth;
            ChildDone(s);
            return true;
          default:
            return false;
        }
      }
      case kArray: {
        const SchemaNode& n = schema_.nodes[f.node];
        const int32_t items = n.items < 0 ? schema_.any_node : n.items;
        switch (f.phase) {
          case kArrOpen: case kArrAfterComma:
            if (ws) return space();
            if (c == ']' && f.phase == kArrOpen) {
              if (n.min_items > 0) return false;
              --s.depth;
              ChildDone(s);
              return true;
            }
            if (f.count >= n.max_items) return false;
            f.phase = kArrValue;
            return StartValue(s, items, c);
          case kArrAfterValue:
            if (ws) return space();
            if (c == ',') {
              if (f.count >= n.max_items) return false;
              f.phase = kArrAfterComma;
              return true;
            }
            if (c != ']' || f.count < n.min_items) return false;
            --s.depth;
            ChildDone(s);
            return true;
          default:
            return false;
        }
      }
      default:
        return false;
    }
  }
  return false;
}

bool JsonGrammar::Complete(const JsonState& s) const {
  if (s.dead || s.depth == 0) return false;
  if (s.depth == 1) return s.frames[0].phase == kRootDone;
  return s.depth == 2 && CanEnd(s.frames[1]);
}

bool JsonGrammar::InPlainString(const JsonState& s, uint32_t* room) const {
  if (s.dead || s.depth == 0) return false;
  const JsonFrame& f = s.frames[s.depth - 1];
  if (f.what != kString || f.phase != kStrNormal) return false;
  const uint32_t max_len = f.node >= 0 ? schema_.nodes[f.node].max_length : UINT32_MAX;
  *room = max_len - f.count;
  return true;
}

}  // namespace mms::generation
