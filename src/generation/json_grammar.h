// A byte-level pushdown automaton over a CompiledSchema: it accepts exactly the byte
// strings that are prefixes of a document valid for the schema (in the generated form
// json_schema.h describes). A State is small and copied freely: the token mask clones it
// once per trie node it walks.
#pragma once

#include <cstdint>
#include <cstring>

#include "generation/json_schema.h"

namespace mms::generation {

struct JsonFrame {
  int32_t node = 0;     // schema node (-1: a free object's key string)
  uint8_t what = 0;     // what is being read: JsonGrammar::What
  uint8_t phase = 0;    // position inside it
  uint16_t aux = 0;     // key/literal offset, number length, hex digits
  uint32_t count = 0;   // array items, string code points, current property
  uint64_t bits = 0;    // object: properties seen; literal: [lo, hi) range; \u value
  uint64_t bits2 = 0;   // object: key candidates
};

struct JsonState {
  static constexpr int kMaxDepth = 40;
  uint8_t depth = 0;
  uint8_t ws_run = 0;     // whitespace bytes in a row
  bool dead = false;
  JsonFrame frames[kMaxDepth];

  void CopyFrom(const JsonState& o) {
    depth = o.depth;
    ws_run = o.ws_run;
    dead = o.dead;
    std::memcpy(frames, o.frames, sizeof(JsonFrame) * depth);
  }
};

class JsonGrammar {
 public:
  static constexpr int kMaxWhitespaceRun = 8;  // between tokens: enough for pretty-printing, not a loop
  static constexpr int kMaxNumberChars = 32;   // a number's length, so digits cannot go on forever

  enum What : uint8_t { kRoot, kObject, kArray, kString, kNumber, kLiteral, kKeyword };

  explicit JsonGrammar(CompiledSchema schema);

  JsonState Initial() const;
  // Feeds one byte; false (state unspecified) if the result is no longer a valid prefix.
  bool Step(JsonState& s, uint8_t c) const;
  // Whether the bytes so far form a whole document (the end may come now).
  bool Complete(const JsonState& s) const;
  // Whether the top of `s` is plain string content where every printable ASCII byte but
  // '"' and '\\' is accepted, `room` more of them at least (the mask's shortcut).
  bool InPlainString(const JsonState& s, uint32_t* room) const;

  const CompiledSchema& schema() const { return schema_; }

 private:
  bool StartValue(JsonState& s, int32_t node, uint8_t c) const;
  bool StepLiteral(JsonState& s, JsonFrame& f, uint8_t c, bool* pop) const;
  bool StepString(JsonState& s, JsonFrame& f, uint8_t c) const;
  bool StepNumber(JsonFrame& f, uint8_t c, bool* pop) const;
  bool CanEnd(const JsonFrame& f) const;
  void ChildDone(JsonState& s) const;
  bool Push(JsonState& s, const JsonFrame& f) const;

  CompiledSchema schema_;
};

}  // namespace mms::generation
