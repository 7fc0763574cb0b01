// Constrained JSON decoding: random "models" (random logits, sampled many times) over a
// hand-made vocabulary must produce documents that parse with nlohmann::json and validate
// against their schema with Python's jsonschema (Debian's python3-jsonschema, an
// independent implementation); byte-level cases are checked by hand.
#include "generation/json_constraint.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "generation/sampling.h"

namespace mms::generation {
namespace {

using nlohmann::json;

// A vocabulary like a real one in miniature: every printable ASCII byte, JSON
// punctuation fused with quotes, words, numbers, whitespace runs, UTF-8 characters whole
// and split into bytes, escapes (one of them a surrogate), a special token and EOS.
struct TestVocab {
  std::vector<std::string> tokens;
  int32_t eos = 0;
  int32_t quote = 0;
};

TestVocab MakeVocab() {
  TestVocab v;
  v.tokens.push_back("");  // <s>: special, never in JSON
  v.tokens.push_back("</s>");
  v.eos = 1;
  for (int c = 0x20; c < 0x7F; ++c) v.tokens.push_back(std::string(1, static_cast<char>(c)));
  v.quote = 2 + ('"' - 0x20);
  for (const char* t : {"\n", "\t", "  ", "    ", "\n  ", "{\"", "\":", "\": ", "\",", "\", \"", "\"}", "},", "}]",
                        "{}", "[]", "[\"", "\"]", "true", "false", "null", "tr", "ue", "nu", "ll", "12", "3.5",
                        "e-2", "-1", "00", "0.", "name", "age", "tags", "na", "me", "ag", "e\"", "id", "kind",
                        "items", "\"name\"", "\"a\"", "\xC3\xA9", "\xE6\x97\xA5\xE6\x9C\xAC", "\xE6", "\x97", "\xA5", "\xA9",
                        "\xF0\x9F\x98\x80", "\xC3", "\\u00e9", "\\n", "\\\"", "\\ud83d", "\\", "\x01"}) {
    v.tokens.push_back(t);
  }
  v.tokens.push_back(std::string(300, 'a'));  // longer than any token the mask walks
  return v;
}

// Writes `lines` (one JSON value each) to a file and runs Python's jsonschema over them;
// returns its report (empty when all are valid).
std::string ValidateWithPython(const json* schema, const std::vector<std::string>& documents) {
  const std::string dir = ::testing::TempDir();
  const std::string data = dir + "/mms_json_constraint_docs.json";
  const std::string script = dir + "/mms_json_constraint_check.py";
  {
    std::ofstream out(data);
    out << json{{"schema", schema ? *schema : json(nullptr)}, {"documents", documents}}.dump();
  }
  {
    std::ofstream out(script);
    out << "import json, sys\n"
           "import jsonschema\n"
           "d = json.load(open(sys.argv[1]))\n"
           "bad = []\n"
           "for text in d['documents']:\n"
           "    try:\n"
           "        value = json.loads(text)\n"
           "        if d['schema'] is None:\n"
           "            assert isinstance(value, dict), 'not an object'\n"
           "        else:\n"
           "            jsonschema.validate(value, d['schema'])\n"
           "    except Exception as e:\n"
           "        bad.append(repr(text) + ': ' + str(e).splitlines()[0])\n"
           "print('\\n'.join(bad[:5]))\n"
           "sys.exit(1 if bad else 0)\n";
  }
  const std::string command = "/usr/bin/python3 " + script + " " + data + " 2>&1";
  std::string report;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return "could not run python3";
  char buf[512];
  while (fgets(buf, sizeof buf, pipe)) report += buf;
  const int status = pclose(pipe);
  if (status != 0 && report.empty()) report = "python3 failed (status " + std::to_string(status) + ")";
  if (report.find("No module named 'jsonschema'") != std::string::npos) {
    report = "Debian's python3-jsonschema is missing (scripts/setup.sh installs it): " + report;
  }
  return status == 0 ? "" : report;
}

// Samples `runs` outputs with random logits; returns the completed documents.
std::vector<std::string> Generate(const json* schema, int runs, int max_tokens, int* completed) {
  const TestVocab v = MakeVocab();
  auto vocab = std::make_shared<const TokenVocabularyBytes>(v.tokens);
  std::mt19937 gen(99);
  std::normal_distribution<float> normal(0.0f, 1.5f);
  std::vector<std::string> docs;
  *completed = 0;
  for (int run = 0; run < runs; ++run) {
    SamplingParams p;
    p.seed = static_cast<uint64_t>(run);
    // Nudges toward closing strings and ending, so that many runs finish in time.
    p.logit_bias = {{v.eos, 4.0f}, {v.quote, 2.0f}};
    Sampler sampler(p, {}, static_cast<int>(v.tokens.size()), MakeJsonConstraint(schema, vocab, {v.eos}));
    std::string text;
    bool done = false;
    for (int step = 0; step < max_tokens && !done; ++step) {
      std::vector<float> logits(v.tokens.size());
      for (float& x : logits) x = normal(gen);
      const int32_t token = sampler.Sample(logits).token;
      if (token == v.eos) {
        done = true;
      } else {
        text += v.tokens[token];
      }
    }
    if (done) {
      ++*completed;
      json parsed;
      EXPECT_NO_THROW(parsed = json::parse(text)) << "run " << run << ": " << text;
      if (!schema) EXPECT_TRUE(parsed.is_object()) << text;
      docs.push_back(text);
    }
  }
  return docs;
}

void ExpectValidOutputs(const json* schema, int runs = 200) {
  int completed = 0;
  const auto docs = Generate(schema, runs, 400, &completed);
  EXPECT_GE(completed, runs / 4) << "too few runs finished to say anything";
  EXPECT_EQ(ValidateWithPython(schema, docs), "");
}

TEST(JsonConstraint, JsonObjectOutputsParseAsObjects) { ExpectValidOutputs(nullptr); }

TEST(JsonConstraint, ObjectSchemaOutputsValidate) {
  const json schema = json::parse(R"({
    "type": "object",
    "properties": {
      "name": {"type": "string", "maxLength": 8},
      "age": {"type": "integer"},
      "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
      "kind": {"enum": ["a", "b", 1, null, "\u00e9t\u00e9"]}
    },
    "required": ["name", "age"],
    "additionalProperties": false
  })");
  ExpectValidOutputs(&schema);
}

TEST(JsonConstraint, ArrayOfTypeListsValidates) {
  const json schema = json::parse(R"({"type": "array", "items": {"type": ["number", "null", "boolean"]},
                                      "minItems": 2, "maxItems": 4})");
  ExpectValidOutputs(&schema);
}

TEST(JsonConstraint, NestedSchemaValidates) {
  const json schema = json::parse(R"({
    "title": "order", "type": "object",
    "properties": {
      "id": {"const": 12},
      "items": {"type": "array", "minItems": 1, "items": {
        "type": "object", "properties": {"name": {"type": "string", "minLength": 2}}, "required": ["name"]}}
    },
    "required": ["id", "items"]
  })");
  ExpectValidOutputs(&schema);
}

TEST(JsonConstraint, ScalarRootsValidate) {
  const json str = json::parse(R"({"type": "string", "minLength": 1, "maxLength": 5})");
  ExpectValidOutputs(&str);
  const json num = json::parse(R"({"type": "number"})");
  ExpectValidOutputs(&num);
  const json any = json::parse(R"({})");
  ExpectValidOutputs(&any);
}

// Byte-level checks over a vocabulary of the 256 single bytes and EOS (id 256).
class ByteLevel {
 public:
  explicit ByteLevel(const json* schema) {
    std::vector<std::string> tokens;
    for (int c = 0; c < 256; ++c) tokens.push_back(std::string(1, static_cast<char>(c)));
    tokens.push_back("");
    constraint_ = MakeJsonConstraint(schema, std::make_shared<const TokenVocabularyBytes>(tokens), {256});
  }
  // Feeds `text`; false at the first byte the mask refuses.
  bool Feed(const std::string& text) {
    for (char c : text) {
      if (!Allowed(static_cast<uint8_t>(c))) return false;
      constraint_->Accept(static_cast<uint8_t>(c));
    }
    return true;
  }
  bool Allowed(int token) const {
    std::vector<float> logits(257, 0.0f);
    constraint_->Mask(logits);
    return logits[token] == 0.0f;
  }
  bool EosAllowed() const { return Allowed(256); }

 private:
  std::unique_ptr<TokenConstraint> constraint_;
};

bool AcceptsWhole(const json* schema, const std::string& text) {
  ByteLevel b(schema);
  return b.Feed(text) && b.EosAllowed();
}
bool AcceptsPrefix(const json* schema, const std::string& text) { return ByteLevel(schema).Feed(text); }

TEST(JsonConstraint, ByteLevelObjectRules) {
  const json schema = json::parse(R"({"type": "object", "properties": {
      "name": {"type": "string"}, "age": {"type": "integer"}}, "required": ["name"],
      "additionalProperties": false})");
  EXPECT_TRUE(AcceptsWhole(&schema, R"({"name":"bob","age":3})"));
  EXPECT_TRUE(AcceptsWhole(&schema, "  {\n  \"age\" : -10 ,\n  \"name\": \"\\u00e9\\n\"\n}\n"));
  EXPECT_FALSE(AcceptsWhole(&schema, R"({"age":3})"));          // name is required
  EXPECT_FALSE(AcceptsPrefix(&schema, R"({"age":3})"));          // so '}' is refused
  EXPECT_FALSE(AcceptsPrefix(&schema, R"({"name":"a","name")"));  // each property once
  EXPECT_FALSE(AcceptsPrefix(&schema, R"({"nick")"));             // not a listed property
  EXPECT_FALSE(AcceptsPrefix(&schema, R"({"age":1.5)"));          // integer
  EXPECT_FALSE(AcceptsPrefix(&schema, R"({"age":01)"));           // no leading zero
  EXPECT_FALSE(AcceptsPrefix(&schema, R"({"name":"\ud800)"));     // surrogate escape
  EXPECT_FALSE(AcceptsPrefix(&schema, "{\"name\":\"a\tb"));       // raw control byte
  EXPECT_FALSE(AcceptsPrefix(&schema, "{\"name\":\"\xC0\xAF"));   // overlong UTF-8
  EXPECT_FALSE(AcceptsPrefix(&schema, "{\"name\":\"\xED\xA0\x80"));  // UTF-8 surrogate
  EXPECT_TRUE(AcceptsPrefix(&schema, "{\"name\":\"\xF0\x9F\x98\x80"));
  EXPECT_FALSE(AcceptsPrefix(&schema, "{         "));            // whitespace runs are bounded
  EXPECT_TRUE(AcceptsPrefix(&schema, "{        "));
  EXPECT_FALSE(AcceptsPrefix(&schema, R"({"name":"a"} x)"));      // nothing after the document
  EXPECT_FALSE(AcceptsPrefix(&schema, R"({"name":"a"}{)"));
  ByteLevel b(&schema);
  ASSERT_TRUE(b.Feed(R"({"name":"a")"));
  EXPECT_FALSE(b.EosAllowed());
  EXPECT_TRUE(b.Allowed('}'));
  EXPECT_TRUE(b.Allowed(','));
  ASSERT_TRUE(b.Feed(R"(,"age":7)"));
  EXPECT_FALSE(b.Allowed(','));  // no property left to write
  EXPECT_TRUE(b.Allowed('1'));
}

TEST(JsonConstraint, ByteLevelArraysEnumsAndScalars) {
  const json arr = json::parse(R"({"type": "array", "items": {"enum": [1, 12, "x"]}, "minItems": 1, "maxItems": 2})");
  EXPECT_TRUE(AcceptsWhole(&arr, "[12]"));
  EXPECT_TRUE(AcceptsWhole(&arr, "[1, \"x\"]"));
  EXPECT_FALSE(AcceptsPrefix(&arr, "[]"));
  EXPECT_FALSE(AcceptsPrefix(&arr, "[123"));
  EXPECT_FALSE(AcceptsPrefix(&arr, "[1,1,"));
  EXPECT_FALSE(AcceptsPrefix(&arr, "[\"y"));
  const json num = json::parse(R"({"type": "number"})");
  EXPECT_TRUE(AcceptsWhole(&num, "-0.5e+10"));
  EXPECT_FALSE(AcceptsWhole(&num, "-0.5e"));
  EXPECT_FALSE(AcceptsPrefix(&num, std::string(33, '1')));  // numbers are bounded
  EXPECT_TRUE(AcceptsWhole(&num, "1e-99"));
  EXPECT_FALSE(AcceptsPrefix(&num, "1e999"));               // and stay finite as doubles
  const json nul = json::parse(R"({"type": ["null", "boolean"]})");
  EXPECT_TRUE(AcceptsWhole(&nul, "null"));
  EXPECT_TRUE(AcceptsWhole(&nul, "false"));
  EXPECT_FALSE(AcceptsPrefix(&nul, "0"));
  EXPECT_FALSE(AcceptsWhole(&nul, "nul"));
  const json closed = json::parse(R"({"type": "object", "additionalProperties": false})");
  EXPECT_TRUE(AcceptsWhole(&closed, "{}"));
  EXPECT_FALSE(AcceptsPrefix(&closed, "{\""));
  const json str = json::parse(R"({"type": "string", "maxLength": 2})");
  EXPECT_TRUE(AcceptsWhole(&str, "\"\xC3\xA9\\n\""));  // code points, not bytes
  EXPECT_FALSE(AcceptsPrefix(&str, "\"abc"));
  // json_object: an object, not any value.
  EXPECT_FALSE(AcceptsPrefix(nullptr, "["));
  EXPECT_TRUE(AcceptsWhole(nullptr, R"({"a":[1,{"b":null}],"c":"d"})"));
}

TEST(JsonConstraint, DeepNestingIsBoundedNotFatal) {
  // json_object: nesting stops at the automaton's depth; the output can still close.
  ByteLevel b(nullptr);
  ASSERT_TRUE(b.Feed("{\"a\":"));
  int opened = 1;
  while (b.Feed("[")) {
    ++opened;
    ASSERT_LT(opened, 100);
  }
  EXPECT_GT(opened, 10);
  EXPECT_TRUE(b.Feed("1"));
  for (int i = 1; i < opened; ++i) ASSERT_TRUE(b.Feed("]"));
  EXPECT_TRUE(b.Feed("}"));
  EXPECT_TRUE(b.EosAllowed());
}

TEST(JsonConstraint, UnsupportedKeywordsAreRefusedWithTheirPointer) {
  auto refusal = [](const char* text) -> std::string {
    const json schema = json::parse(text);
    try {
      MakeJsonConstraint(&schema, std::make_shared<const TokenVocabularyBytes>(std::vector<std::string>{"a"}), {});
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      return e.what();
    }
    return "";
  };
  EXPECT_NE(refusal(R"({"type":"object","properties":{"a":{"type":"string","pattern":"x"}}})")
                .find("'/properties/a/pattern': unsupported keyword 'pattern'"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"anyOf":[{"type":"string"}]})").find("'/anyOf'"), std::string::npos);
  EXPECT_NE(refusal(R"({"$ref":"#/$defs/x"})").find("'/$ref'"), std::string::npos);
  EXPECT_NE(refusal(R"({"properties":{"a/b":{"format":"date"}}})").find("'/properties/a~1b/format'"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"additionalProperties":{"type":"string"}})").find("additionalProperties"), std::string::npos);
  EXPECT_NE(refusal(R"({"items":[{"type":"string"}]})").find("'/items'"), std::string::npos);
  EXPECT_NE(refusal(R"({"properties":{"a":{}},"required":["b"]})").find("'/required/0'"), std::string::npos);
  EXPECT_NE(refusal(R"({"type":"strings"})").find("unknown type"), std::string::npos);
  EXPECT_NE(refusal(R"({"type":"string","enum":[1,2]})").find("no enum/const value"), std::string::npos);
  EXPECT_NE(refusal(R"({"minLength":3,"maxLength":2})").find("greater than maxLength"), std::string::npos);
  EXPECT_NE(refusal(R"(false)").find("allows no value"), std::string::npos);
  EXPECT_NE(refusal(R"(3)").find("must be an object"), std::string::npos);
  // Depth and size caps.
  json deep = json::object();
  json* at = &deep;
  for (int i = 0; i < 40; ++i) {
    (*at)["items"] = json::object();
    at = &(*at)["items"];
  }
  EXPECT_NE(refusal(deep.dump().c_str()).find("nested deeper"), std::string::npos);
  json wide = {{"properties", json::object()}};
  for (int i = 0; i < 65; ++i) wide["properties"]["p" + std::to_string(i)] = json::object();
  EXPECT_NE(refusal(wide.dump().c_str()).find("more than 64 properties"), std::string::npos);
}

// Not a timed test (design.md): it reports the cost of a mask over a 32000-token
// vocabulary in the two common states, for a reader to compare with the budget.
TEST(JsonConstraint, MaskCostOnALargeVocabularyIsReported) {
  std::mt19937 gen(5);
  std::vector<std::string> tokens;
  const std::string letters = "abcdefghijklmnopqrstuvwxyz ETAOIN\",:{}[]0123456789.-\\";
  while (tokens.size() < 32000) {
    std::string t;
    const int len = 1 + gen() % 8;
    for (int i = 0; i < len; ++i) t += letters[gen() % letters.size()];
    if (gen() % 10 == 0) t += "\xC3\xA9";
    tokens.push_back(t);
  }
  auto vocab = std::make_shared<const TokenVocabularyBytes>(tokens);
  auto c = MakeJsonConstraint(nullptr, vocab, {0});
  std::vector<float> logits(tokens.size());
  auto time_mask = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) c->Mask(logits);
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / 20;
  };
  const double structural = time_mask();
  for (char ch : std::string("{\"ab")) {
    const auto it = std::find(tokens.begin(), tokens.end(), std::string(1, ch));
    ASSERT_NE(it, tokens.end());
    c->Accept(static_cast<int32_t>(it - tokens.begin()));
  }
  const double in_string = time_mask();
  std::printf("mask over 32000 tokens: %.0f us at a structural position, %.0f us inside a string\n", structural,
              in_string);
}

}  // namespace
}  // namespace mms::generation
