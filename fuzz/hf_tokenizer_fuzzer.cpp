// The tokenizer.json tokenizer (text::HfTokenizer): a file's bytes as a tokenizer.json, and
// any text through the reference LLaMA-2 and byte-level tokenizers.
//
// First byte: bit 0 clear -> the rest is a tokenizer.json (loaded, then a fixed text encoded
// and decoded with it); set -> the rest is text for the reference tokenizer chosen by bit 1,
// encoded (also with literal ranges from bits 2-7), decoded and streamed.
#include <algorithm>
#include <memory>
#include <utility>

#include "fuzz_support.h"
#include "text/hf_incremental_detokenizer.h"
#include "text/hf_tokenizer.h"

namespace {

void CheckIds(const mms::text::HfTokenizer& tokenizer, const std::vector<int32_t>& ids, const char* what) {
  for (const int32_t id : ids) {
    if (id < 0 || id >= tokenizer.vocab_size()) {
      mms::fuzz::Finding(what, "id " + std::to_string(id) + " outside the vocabulary of " +
                                   std::to_string(tokenizer.vocab_size()));
    }
  }
}

void Exercise(const mms::text::HfTokenizer& tokenizer, std::string_view text, uint8_t flags, const char* what) {
  const auto ids = tokenizer.Encode(text, true);
  CheckIds(tokenizer, ids, what);
  const std::string decoded = tokenizer.Decode(ids, false);
  mms::text::IncrementalDetokenizer stream(tokenizer, false);
  std::string joined;
  for (const int32_t id : ids) joined += stream.Push(id);
  joined += stream.Flush();
  // Where Decode shows U+FFFD for bytes that are not UTF-8, it groups a run of byte tokens
  // all or nothing, which no streaming decoder can foresee; elsewhere the texts must agree.
  if (joined != decoded && decoded.find("\xEF\xBF\xBD") == std::string::npos) {
    mms::fuzz::Finding(what, "streamed text differs from Decode");
  }
  for (int32_t id = 0; id < 8 && !ids.empty(); ++id) (void)tokenizer.TokenBytes(ids[id % ids.size()]);
  // A literal range over part of the text (it may fall inside a character; then the text is
  // still valid and only the range's bytes change meaning).
  const size_t begin = text.empty() ? 0 : (flags >> 2) % (text.size() + 1);
  const std::pair<size_t, size_t> range{begin, std::min(text.size(), begin + (flags >> 4) * 3)};
  try {
    CheckIds(tokenizer, tokenizer.EncodeWithLiteralRanges(text, std::span(&range, 1), true), what);
  } catch (const mms::Error& e) {
    if (e.code() != mms::ErrorCode::kInvalidArgument) throw;  // invalid UTF-8 is refused
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::string_view rest = mms::fuzz::AsText(data + 1, size - 1);
  if ((flags & 1) == 0) {
    mms::fuzz::ExpectCleanRefusal("HfTokenizer::FromJson", [&] {
      const auto tokenizer = mms::text::HfTokenizer::FromJson(rest, "fuzz.json");
      Exercise(tokenizer, "Hello <s> wörld  日本 🙂\n\t12345 <|endoftext|>", flags, "HfTokenizer (fuzzed file)");
    });
    return 0;
  }
  static const auto llama = std::make_unique<mms::text::HfTokenizer>(
      mms::text::HfTokenizer::Load(MMS_SOURCE_DIR "/tests/data/llama-reference/model/tokenizer.json"));
  static const auto byte_level = std::make_unique<mms::text::HfTokenizer>(
      mms::text::HfTokenizer::Load(MMS_SOURCE_DIR "/tests/data/llama-reference/tokenizer/bytelevel/tokenizer.json"));
  mms::fuzz::ExpectCleanRefusal("HfTokenizer::Encode", [&] {
    Exercise((flags & 2) ? *byte_level : *llama, rest, flags, "HfTokenizer::Encode");
  });
  return 0;
}
