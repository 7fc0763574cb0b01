// CLIP's tokenizer on arbitrary bytes (texts arrive from clients as any bytes), with the
// tiny checkpoint's vocabulary. The first byte picks the context length so that the
// truncation path is exercised as often as the plain one.
#include <cstdlib>

#include "fuzz_support.h"
#include "text/clip_tokenizer.h"

namespace {

const mms::text::ClipTokenizer& Tokenizer() {
  // MMS_FUZZ_VOCAB_DIR lets a long run use another checkpoint's vocab.json / merges.txt.
  static const mms::text::ClipTokenizer tokenizer = [] {
    const char* dir = std::getenv("MMS_FUZZ_VOCAB_DIR");
    return mms::text::ClipTokenizer::FromDirectory(dir ? dir : MMS_SOURCE_DIR "/model_repository/clip/1");
  }();
  return tokenizer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& tokenizer = Tokenizer();
  const size_t context_length = 1 + data[0] % 80;
  const std::string_view text = mms::fuzz::AsText(data + 1, size - 1);
  mms::fuzz::ExpectCleanRefusal("ClipTokenizer::Encode", [&] {
    const std::vector<int32_t> ids = tokenizer.Encode(text, context_length);
    // Encode never refuses text; what the text encoder indexes with must be in range.
    if (ids.empty() || ids.size() > context_length) {
      mms::fuzz::Finding("ClipTokenizer::Encode", "returned " + std::to_string(ids.size()) + " ids for context " +
                                                      std::to_string(context_length));
    }
    if (ids.back() != tokenizer.end_of_text_id()) mms::fuzz::Finding("ClipTokenizer::Encode", "does not end with EOT");
    for (const int32_t id : ids) {
      if (id < 0 || static_cast<size_t>(id) >= tokenizer.vocab_size()) {
        mms::fuzz::Finding("ClipTokenizer::Encode", "id " + std::to_string(id) + " outside the vocabulary");
      }
    }
  });
  return 0;
}
