// mmserve's side of the reference comparison (compare.mjs): encodes texts with HfTokenizer
// and prints the same JSON as encode.mjs prints for the Hugging Face library.
//
//   hf_tokenize_cli TOKENIZER_JSON TEXTS_JSON   (TEXTS_JSON: a JSON array of strings)
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "base/error.h"
#include "base/file_util.h"
#include "text/hf_tokenizer.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s TOKENIZER_JSON TEXTS_JSON\n", argv[0]);
    return 2;
  }
  try {
    const mms::text::HfTokenizer tokenizer = mms::text::HfTokenizer::Load(argv[1]);
    const nlohmann::json texts = nlohmann::json::parse(mms::ReadFileBytes(argv[2]));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& text : texts) {
      const std::string s = text.get<std::string>();
      const auto with = tokenizer.Encode(s, true);
      const auto plain = tokenizer.Encode(s, false);
      out.push_back({{"ids_with_special", with},
                     {"ids", plain},
                     {"decoded", tokenizer.Decode(plain, false)},
                     {"decoded_skip", tokenizer.Decode(with, true)}});
    }
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hf_tokenize_cli: %s\n", e.what());
    return 1;
  }
  return 0;
}
