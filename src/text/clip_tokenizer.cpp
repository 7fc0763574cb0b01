#include "text/clip_tokenizer.h"

#include "base/error.h"
#include "base/file_util.h"
#include "text/bpe_model.h"
#include "text/text_cleanup.h"
#include "text/utf8.h"
#include "text/word_splitter.h"

namespace mms::text {
namespace {

constexpr std::u32string_view kStartOfText = U"<|startoftext|>";
constexpr std::u32string_view kEndOfText = U"<|endoftext|>";

// Reads a checkpoint file; a missing file is a broken model here, not a missing resource.
std::string ReadModelFile(const std::string& path) {
  if (!FileExists(path)) ThrowInvalidModel("CLIP tokenizer: " + path + " does not exist");
  try {
    return ReadFileBytes(path);
  } catch (const Error& e) {
    ThrowInvalidModel("CLIP tokenizer: cannot read " + path + ": " + e.what());
  }
}

}  // namespace

ClipTokenizer ClipTokenizer::FromDirectory(const std::string& dir) {
  const std::string vocab_path = dir + "/vocab.json";
  const std::string merges_path = dir + "/merges.txt";
  const std::string vocab_json = ReadModelFile(vocab_path);
  const std::string merges_txt = ReadModelFile(merges_path);

  ClipTokenizer tokenizer;
  auto bpe = std::make_shared<internal::BpeModel>(
      internal::BpeModel::Parse(vocab_json, merges_txt, vocab_path, merges_path));
  const auto special_id = [&](std::u32string_view token) {
    const std::string spelled = internal::EncodeUtf8(token);
    const auto id = bpe->TokenId(spelled);
    if (!id) ThrowInvalidModel("CLIP tokenizer: " + vocab_path + " lacks the special token " + spelled);
    return *id;
  };
  tokenizer.start_of_text_id_ = special_id(kStartOfText);
  tokenizer.end_of_text_id_ = special_id(kEndOfText);
  tokenizer.bpe_ = std::move(bpe);
  return tokenizer;
}

size_t ClipTokenizer::vocab_size() const { return bpe_->vocab_size(); }

std::vector<int32_t> ClipTokenizer::Encode(std::string_view text, size_t context_length) const {
  if (context_length == 0) ThrowInvalidArgument("CLIP tokenizer: context_length must be at least 1");
  const std::u32string clean = internal::CleanTextCodePoints(text);
  std::vector<int32_t> ids = {start_of_text_id_};
  std::string piece_utf8;
  for (std::u32string_view piece : internal::SplitWords(clean)) {
    // Ids past context_length are cut anyway; later pieces cannot change earlier ids.
    if (ids.size() >= context_length) break;
    if (piece == kStartOfText) {
      ids.push_back(start_of_text_id_);
    } else if (piece == kEndOfText) {
      ids.push_back(end_of_text_id_);
    } else {
      piece_utf8.clear();
      for (char32_t c : piece) internal::AppendUtf8(c, &piece_utf8);
      bpe_->EncodeWord(piece_utf8, &ids);
    }
  }
  ids.push_back(end_of_text_id_);
  if (ids.size() > context_length) {
    ids.resize(context_length);
    ids.back() = end_of_text_id_;
  }
  return ids;
}

}  // namespace mms::text
