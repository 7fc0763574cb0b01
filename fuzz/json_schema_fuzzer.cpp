// response_format's JSON Schema (generation/json_schema) and the constrained-decoding
// automaton over it (generation/json_constraint). Input: `<schema JSON>\n<bytes>`; a
// schema of `null` means json_object. The bytes are offered one at a time to a
// vocabulary of the 256 single bytes: those the mask allows are accepted, the others
// skipped. Beyond a clean refusal of bad schemas, a finding is: a token the mask allowed
// that Accept refuses, or a document the constraint calls complete that nlohmann::json
// cannot parse (or, for json_object, that is not an object).
#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "generation/json_constraint.h"

namespace {

std::shared_ptr<const mms::generation::TokenVocabularyBytes> ByteVocabulary() {
  static const auto vocab = [] {
    std::vector<std::string> tokens;
    for (int c = 0; c < 256; ++c) tokens.push_back(std::string(1, static_cast<char>(c)));
    tokens.push_back("");  // EOS, id 256
    return std::make_shared<const mms::generation::TokenVocabularyBytes>(std::move(tokens));
  }();
  return vocab;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = mms::fuzz::AsText(data, size);
  const size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  nlohmann::json schema;
  try {
    schema = nlohmann::json::parse(input.substr(0, newline));
  } catch (const nlohmann::json::exception&) {
    return 0;  // the API layer's parser refuses these before a schema is compiled
  }
  const std::string_view bytes = input.substr(newline + 1);
  mms::fuzz::ExpectCleanRefusal("MakeJsonConstraint", [&] {
    auto constraint = mms::generation::MakeJsonConstraint(schema.is_null() ? nullptr : &schema, ByteVocabulary(), {256});
    std::string text;
    std::vector<float> logits(257);
    for (char c : bytes) {
      std::fill(logits.begin(), logits.end(), 0.0f);
      constraint->Mask(logits);
      const uint8_t b = static_cast<uint8_t>(c);
      if (logits[b] != 0.0f) continue;
      try {
        constraint->Accept(b);
      } catch (const mms::Error& e) {
        mms::fuzz::Finding("JsonConstraint", std::string("an allowed byte was refused: ") + e.what());
      }
      text += c;
    }
    std::fill(logits.begin(), logits.end(), 0.0f);
    constraint->Mask(logits);
    if (logits[256] == 0.0f) {
      nlohmann::json doc;
      try {
        doc = nlohmann::json::parse(text);
      } catch (const nlohmann::json::exception& e) {
        mms::fuzz::Finding("JsonConstraint", "complete output does not parse: " + std::string(e.what()));
      }
      if (schema.is_null() && !doc.is_object()) mms::fuzz::Finding("JsonConstraint", "json_object output is not an object");
    }
  });
  return 0;
}
