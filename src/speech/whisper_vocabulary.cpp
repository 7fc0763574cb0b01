#include "speech/whisper_vocabulary.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "io/json_config.h"
#include "text/hf_tokenizer.h"

namespace mms::speech {

namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Reads a list of token ids; ids outside [0, vocab) are refused (a hostile file could
// otherwise index past the logits row).
std::vector<int32_t> IdList(const nlohmann::json& gc, const char* field, int32_t vocab, const std::string& path) {
  std::vector<int32_t> ids;
  if (!gc.contains(field) || gc[field].is_null()) return ids;
  const auto& v = gc[field];
  if (!v.is_array() || v.size() > 100000) ThrowInvalidModel(path + ": " + field + " must be a list of token ids");
  for (const auto& id : v) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= vocab) {
      ThrowInvalidModel(path + ": " + field + " holds " + id.dump() + ", not a token id below " + std::to_string(vocab));
    }
    ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& WhisperLanguageNames() {
  static const std::vector<std::pair<std::string, std::string>> names = {
      {"en", "english"},
      {"zh", "chinese"},
      {"de", "german"},
      {"es", "spanish"},
      {"ru", "russian"},
      {"ko", "korean"},
      {"fr", "french"},
      {"ja", "japanese"},
      {"pt", "portuguese"},
      {"tr", "turkish"},
      {"pl", "polish"},
      {"ca", "catalan"},
      {"nl", "dutch"},
      {"ar", "arabic"},
      {"sv", "swedish"},
      {"it", "italian"},
      {"id", "indonesian"},
      {"hi", "hindi"},
      {"fi", "finnish"},
      {"vi", "vietnamese"},
      {"he", "hebrew"},
      {"uk", "ukrainian"},
      {"el", "greek"},
      {"ms", "malay"},
      {"cs", "czech"},
      {"ro", "romanian"},
      {"da", "danish"},
      {"hu", "hungarian"},
      {"ta", "tamil"},
      {"no", "norwegian"},
      {"th", "thai"},
      {"ur", "urdu"},
      {"hr", "croatian"},
      {"bg", "bulgarian"},
      {"lt", "lithuanian"},
      {"la", "latin"},
      {"mi", "maori"},
      {"ml", "malayalam"},
      {"cy", "welsh"},
      {"sk", "slovak"},
      {"te", "telugu"},
      {"fa", "persian"},
      {"lv", "latvian"},
      {"bn", "bengali"},
      {"sr", "serbian"},
      {"az", "azerbaijani"},
      {"sl", "slovenian"},
      {"kn", "kannada"},
      {"et", "estonian"},
      {"mk", "macedonian"},
      {"br", "breton"},
      {"eu", "basque"},
      {"is", "icelandic"},
      {"hy", "armenian"},
      {"ne", "nepali"},
      {"mn", "mongolian"},
      {"bs", "bosnian"},
      {"kk", "kazakh"},
      {"sq", "albanian"},
      {"sw", "swahili"},
      {"gl", "galician"},
      {"mr", "marathi"},
      {"pa", "punjabi"},
      {"si", "sinhala"},
      {"km", "khmer"},
      {"sn", "shona"},
      {"yo", "yoruba"},
      {"so", "somali"},
      {"af", "afrikaans"},
      {"oc", "occitan"},
      {"ka", "georgian"},
      {"be", "belarusian"},
      {"tg", "tajik"},
      {"sd", "sindhi"},
      {"gu", "gujarati"},
      {"am", "amharic"},
      {"yi", "yiddish"},
      {"lo", "lao"},
      {"uz", "uzbek"},
      {"fo", "faroese"},
      {"ht", "haitian creole"},
      {"ps", "pashto"},
      {"tk", "turkmen"},
      {"nn", "nynorsk"},
      {"mt", "maltese"},
      {"sa", "sanskrit"},
      {"lb", "luxembourgish"},
      {"my", "myanmar"},
      {"bo", "tibetan"},
      {"tl", "tagalog"},
      {"mg", "malagasy"},
      {"as", "assamese"},
      {"tt", "tatar"},
      {"haw", "hawaiian"},
      {"ln", "lingala"},
      {"ha", "hausa"},
      {"ba", "bashkir"},
      {"jw", "javanese"},
      {"su", "sundanese"},
      {"yue", "cantonese"}};
  return names;
}

const WhisperLanguage* WhisperVocabulary::FindLanguage(const std::string& code_or_name) const {
  const std::string key = Lower(code_or_name);
  for (const auto& l : languages) {
    if (l.code == key || l.name == key) return &l;
  }
  return nullptr;
}

const WhisperLanguage* WhisperVocabulary::LanguageOfToken(int32_t token) const {
  for (const auto& l : languages) {
    if (l.token == token) return &l;
  }
  return nullptr;
}

std::vector<int32_t> WhisperVocabulary::SotSequence(const WhisperLanguage* language, bool translate_task,
                                                    bool without_timestamps) const {
  std::vector<int32_t> seq = {sot};
  if (multilingual()) {
    if (language) seq.push_back(language->token);
    seq.push_back(translate_task ? translate : transcribe);
  }
  if (without_timestamps) seq.push_back(no_timestamps);
  return seq;
}

WhisperVocabulary WhisperVocabulary::Load(const std::string& dir, const text::HfTokenizer& tokenizer,
                                          int32_t model_vocab) {
  WhisperVocabulary v;
  v.vocab_size = model_vocab;
  const std::string where = dir + "/tokenizer.json";
  const auto id_of = [&](const char* token, bool required) -> int32_t {
    const auto id = tokenizer.TokenId(token);
    if (!id) {
      if (required) ThrowInvalidModel(where + ": the Whisper token " + std::string(token) + " is missing");
      return -1;
    }
    if (*id < 0 || *id >= model_vocab) {
      ThrowInvalidModel(where + ": " + std::string(token) + " has id " + std::to_string(*id) +
                        ", outside the model's " + std::to_string(model_vocab) + " logits");
    }
    return *id;
  };
  v.eot = id_of("<|endoftext|>", true);
  v.sot = id_of("<|startoftranscript|>", true);
  v.sot_prev = id_of("<|startofprev|>", true);
  v.sot_lm = id_of("<|startoflm|>", false);
  v.no_speech = id_of("<|nospeech|>", false);
  if (v.no_speech < 0) v.no_speech = id_of("<|nocaptions|>", false);
  v.no_timestamps = id_of("<|notimestamps|>", true);
  v.transcribe = id_of("<|transcribe|>", false);
  v.translate = id_of("<|translate|>", false);
  v.timestamp_begin = id_of("<|0.00|>", false);
  if (v.timestamp_begin < 0) v.timestamp_begin = v.no_timestamps + 1;  // tokenizers that list no timestamps
  if (v.timestamp_begin >= model_vocab) ThrowInvalidModel(where + ": no room for timestamp tokens in the vocabulary");

  nlohmann::json gc = nlohmann::json::object();
  const std::string gc_path = dir + "/generation_config.json";
  if (std::filesystem::exists(gc_path)) gc = io::LoadJsonFile(gc_path);
  if (!gc.is_object()) ThrowInvalidModel(gc_path + ": expected a JSON object");

  // Languages: generation_config.json's lang_to_id where present, else every known code
  // the tokenizer has a token for.
  for (const auto& [code, name] : WhisperLanguageNames()) {
    int32_t token = -1;
    const std::string t = "<|" + code + "|>";
    if (gc.contains("lang_to_id") && gc["lang_to_id"].is_object()) {
      const auto& m = gc["lang_to_id"];
      if (m.contains(t)) {
        if (!m[t].is_number_integer() || m[t].get<int64_t>() < 0 || m[t].get<int64_t>() >= model_vocab) {
          ThrowInvalidModel(gc_path + ": lang_to_id[\"" + t + "\"] is not a token id below " + std::to_string(model_vocab));
        }
        token = static_cast<int32_t>(m[t].get<int64_t>());
      }
    } else if (v.transcribe >= 0) {
      token = id_of(t.c_str(), false);
    }
    if (token >= 0) v.languages.push_back({code, name, token});
  }
  std::sort(v.languages.begin(), v.languages.end(), [](const auto& a, const auto& b) { return a.token < b.token; });
  if (v.multilingual() && (v.transcribe < 0 || v.translate < 0)) {
    ThrowInvalidModel(where + ": a multilingual checkpoint needs <|transcribe|> and <|translate|>");
  }
  if (gc.contains("no_timestamps_token_id") && gc["no_timestamps_token_id"] != v.no_timestamps) {
    ThrowInvalidModel(gc_path + ": no_timestamps_token_id " + gc["no_timestamps_token_id"].dump() +
                      " disagrees with tokenizer.json's <|notimestamps|> " + std::to_string(v.no_timestamps));
  }

  v.suppress = IdList(gc, "suppress_tokens", model_vocab, gc_path);
  for (int32_t id : {v.transcribe, v.translate, v.sot, v.sot_prev, v.sot_lm, v.no_speech}) {
    if (id >= 0) v.suppress.push_back(id);
  }
  std::sort(v.suppress.begin(), v.suppress.end());
  v.suppress.erase(std::unique(v.suppress.begin(), v.suppress.end()), v.suppress.end());
  v.begin_suppress = IdList(gc, "begin_suppress_tokens", model_vocab, gc_path);
  if (!gc.contains("begin_suppress_tokens")) {
    const auto blank = tokenizer.Encode(" ", false);
    v.begin_suppress = blank;
    v.begin_suppress.push_back(v.eot);
  }
  return v;
}

}  // namespace mms::speech
