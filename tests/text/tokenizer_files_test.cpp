// Loading vocab.json / merges.txt: BPE merge order on a small hand-made vocabulary, and the
// errors a broken checkpoint gives. Files are written under a fresh temporary folder.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "base/error.h"
#include "text/bpe_model.h"
#include "text/clip_tokenizer.h"
#include "text/utf8.h"

namespace mms::text {
namespace {

namespace fs = std::filesystem;
using Ids = std::vector<int32_t>;

// A checkpoint folder that removes itself.
class TempCheckpoint {
 public:
  TempCheckpoint() {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("mms_text_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(dir_);
  }
  ~TempCheckpoint() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  void Write(const std::string& name, const std::string& content) const {
    std::ofstream(dir_ / name, std::ios::binary) << content;
  }
  std::string dir() const { return dir_.string(); }

 private:
  fs::path dir_;
};

std::string Spell(uint8_t byte) { return internal::EncodeUtf8(std::u32string(1, internal::ByteToUnicode(byte))); }

// Byte tokens get ids 0..255, their "</w>" forms 256..511, then `extra` in order, then the
// two special tokens.
std::string SmallVocab(const std::vector<std::string>& extra) {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) {
    vocab[Spell(static_cast<uint8_t>(b))] = b;
    vocab[Spell(static_cast<uint8_t>(b)) + "</w>"] = 256 + b;
  }
  int next = 512;
  for (const std::string& token : extra) vocab[token] = next++;
  vocab["<|startoftext|>"] = next++;
  vocab["<|endoftext|>"] = next++;
  return vocab.dump();
}

const std::vector<std::string> kExtraTokens = {"aa", "ab", "abc</w>", "aaa</w>"};  // ids 512..515
const std::string kMerges = "#version: 0.2\na a\na b\nab c</w>\naa a</w>\n";

ClipTokenizer SmallTokenizer(const TempCheckpoint& checkpoint) {
  checkpoint.Write("vocab.json", SmallVocab(kExtraTokens));
  checkpoint.Write("merges.txt", kMerges);
  return ClipTokenizer::FromDirectory(checkpoint.dir());
}

TEST(ByteToUnicodeTest, MatchesClipTable) {
  EXPECT_EQ(internal::ByteToUnicode('a'), U'a');
  EXPECT_EQ(internal::ByteToUnicode(0), 0x100u);
  EXPECT_EQ(internal::ByteToUnicode(' '), 0x120u);  // "Ġ"
  EXPECT_EQ(internal::ByteToUnicode(0x7F), 0x121u);
  EXPECT_EQ(internal::ByteToUnicode(0xAD), 0x143u);
  EXPECT_EQ(internal::ByteToUnicode(0xFF), 0xFFu);
}

TEST(SmallVocabularyTest, MergesApplyLowestRankFirstLeftToRight) {
  TempCheckpoint checkpoint;
  const ClipTokenizer tokenizer = SmallTokenizer(checkpoint);
  EXPECT_EQ(tokenizer.start_of_text_id(), 516);
  EXPECT_EQ(tokenizer.end_of_text_id(), 517);
  EXPECT_EQ(tokenizer.vocab_size(), 518u);
  EXPECT_EQ(tokenizer.Encode("abc"), (Ids{516, 514, 517}));
  EXPECT_EQ(tokenizer.Encode("aaa"), (Ids{516, 515, 517}));
  // "a a" merges at 0 and 2 in one sweep; the last 'a' carries "</w>" and is another symbol.
  EXPECT_EQ(tokenizer.Encode("aaaa"), (Ids{516, 512, 'a', 256 + 'a', 517}));
  EXPECT_EQ(tokenizer.Encode("aaaaa"), (Ids{516, 512, 515, 517}));
  EXPECT_EQ(tokenizer.Encode("b"), (Ids{516, 256 + 'b', 517}));
  EXPECT_EQ(tokenizer.Encode("\u00e9"), (Ids{516, 0xC3, 256 + 0xA9, 517}));  // bytes C3 A9
  EXPECT_EQ(tokenizer.Encode("abc aaaaa"), (Ids{516, 514, 512, 515, 517}));
}

// Expects FromDirectory to fail with kInvalidModel and a message containing `needle`.
void ExpectInvalidModel(const std::string& dir, const std::string& needle) {
  try {
    ClipTokenizer::FromDirectory(dir);
    ADD_FAILURE() << "loaded a broken checkpoint; expected an error mentioning " << needle;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidModel) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(TokenizerFilesTest, MissingFolderOrFiles) {
  ExpectInvalidModel("/nonexistent/mms/checkpoint", "vocab.json");
  TempCheckpoint only_merges;
  only_merges.Write("merges.txt", kMerges);
  ExpectInvalidModel(only_merges.dir(), "vocab.json");
  TempCheckpoint only_vocab;
  only_vocab.Write("vocab.json", SmallVocab(kExtraTokens));
  ExpectInvalidModel(only_vocab.dir(), "merges.txt");
}

TEST(TokenizerFilesTest, CorruptVocabulary) {
  const std::vector<std::string> broken = {
      "{\"a\": 1,",             // truncated JSON
      "",                       // empty file
      "[1, 2, 3]",              // not an object
      "{}",                     // no tokens
      "{\"a\": \"one\"}",       // id not an integer
      "{\"a\": -4}",            // negative id
  };
  for (const std::string& vocab : broken) {
    TempCheckpoint checkpoint;
    checkpoint.Write("vocab.json", vocab);
    checkpoint.Write("merges.txt", kMerges);
    SCOPED_TRACE(vocab);
    ExpectInvalidModel(checkpoint.dir(), "vocab.json");
  }
}

TEST(TokenizerFilesTest, VocabularyWithoutByteOrSpecialTokens) {
  TempCheckpoint no_bytes;
  no_bytes.Write("vocab.json", "{\"a\": 0, \"b\": 1}");
  no_bytes.Write("merges.txt", kMerges);
  ExpectInvalidModel(no_bytes.dir(), "vocab.json");

  TempCheckpoint no_specials;
  nlohmann::json vocab = nlohmann::json::parse(SmallVocab(kExtraTokens));
  vocab.erase("<|endoftext|>");
  no_specials.Write("vocab.json", vocab.dump());
  no_specials.Write("merges.txt", kMerges);
  ExpectInvalidModel(no_specials.dir(), "<|endoftext|>");

  TempCheckpoint duplicate_id;
  vocab = nlohmann::json::parse(SmallVocab(kExtraTokens));
  vocab["aa"] = 0;
  duplicate_id.Write("vocab.json", vocab.dump());
  duplicate_id.Write("merges.txt", kMerges);
  ExpectInvalidModel(duplicate_id.dir(), "vocab.json");
}

TEST(TokenizerFilesTest, CorruptMerges) {
  const std::vector<std::pair<std::string, std::string>> broken = {
      {"#version: 0.2\na a\na b c\n", "merges.txt line 3"},  // three tokens
      {"#version: 0.2\nq z\n", "merges.txt line 2"},          // "qz" is not in the vocabulary
      {"#version: 0.2\n", "merges.txt"},                      // no merges at all
      {"", "merges.txt"},
  };
  for (const auto& [merges, needle] : broken) {
    TempCheckpoint checkpoint;
    checkpoint.Write("vocab.json", SmallVocab(kExtraTokens));
    checkpoint.Write("merges.txt", merges);
    SCOPED_TRACE(merges);
    ExpectInvalidModel(checkpoint.dir(), needle);
  }
}

TEST(TokenizerFilesTest, MergesWithWindowsLineEndingsAndNoFinalNewline) {
  TempCheckpoint checkpoint;
  checkpoint.Write("vocab.json", SmallVocab(kExtraTokens));
  checkpoint.Write("merges.txt", "#version: 0.2\r\na a\r\na b\r\nab c</w>\r\naa a</w>");
  const ClipTokenizer tokenizer = ClipTokenizer::FromDirectory(checkpoint.dir());
  EXPECT_EQ(tokenizer.Encode("abc aaaaa"), (Ids{516, 514, 512, 515, 517}));
}

}  // namespace
}  // namespace mms::text
