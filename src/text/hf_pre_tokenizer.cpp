#include "text/hf_pre_tokenizer.h"

#include "text/bpe_model.h"
#include "text/hf_json.h"
#include "text/hf_normalizer.h"
#include "text/utf8.h"

namespace mms::text::internal {
namespace {

// GPT-2's pre-tokenizer pattern, used by ByteLevel when use_regex is true.
constexpr const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct Segment {
  size_t begin, end;
  bool is_match;
};

// Hugging Face's SplitDelimiterBehavior applied to the segments (matches and the text
// between them, in order, covering the piece).
std::vector<Segment> ApplyBehavior(const std::vector<Segment>& segments, int behavior) {
  // behavior: 0 removed, 1 isolated, 2 merged with previous, 3 merged with next, 4 contiguous
  std::vector<Segment> out;
  switch (behavior) {
    case 0:
      for (const Segment& s : segments) {
        if (!s.is_match) out.push_back(s);
      }
      break;
    case 1: out = segments; break;
    case 2: {
      bool previous_match = false;
      for (const Segment& s : segments) {
        if (s.is_match && !previous_match && !out.empty()) {
          out.back().end = s.end;
        } else {
          out.push_back({s.begin, s.end, false});
        }
        previous_match = s.is_match;
      }
      break;
    }
    case 3: {
      bool previous_match = false;  // looking from the right: whether the segment after was a match
      for (size_t i = segments.size(); i-- > 0;) {
        const Segment& s = segments[i];
        if (s.is_match && !previous_match && !out.empty()) {
          out.back().begin = s.begin;
        } else {
          out.push_back({s.begin, s.end, false});
        }
        previous_match = s.is_match;
      }
      std::reverse(out.begin(), out.end());
      break;
    }
    default: {
      bool previous_match = false;
      for (const Segment& s : segments) {
        if (s.is_match == previous_match && !out.empty()) {
          out.back().end = s.end;
        } else {
          out.push_back({s.begin, s.end, false});
        }
        previous_match = s.is_match;
      }
      break;
    }
  }
  return out;
}

}  // namespace

HfPreTokenizer HfPreTokenizer::Parse(const nlohmann::json& json, const std::string& where) {
  HfPreTokenizer pre;
  if (!json.is_null()) pre.ParseInto(json, where, 0);
  return pre;
}

void HfPreTokenizer::ParseInto(const nlohmann::json& json, const std::string& where, int depth) {
  if (depth > kMaxComponentDepth) ThrowInvalidModel(where + ": Sequence nested too deeply");
  const std::string type = JsonType(json, where);
  Step step{};
  if (type == "Sequence") {
    const auto* list = FindField(json, "pretokenizers");
    if (list == nullptr || !list->is_array()) ThrowInvalidModel(where + ".pretokenizers: expected an array");
    for (size_t i = 0; i < list->size(); ++i) {
      ParseInto((*list)[i], where + ".pretokenizers[" + std::to_string(i) + "]", depth + 1);
    }
    return;
  } else if (type == "Split") {
    step.kind = Kind::kSplit;
    const auto* pattern = FindField(json, "pattern");
    if (pattern == nullptr) ThrowInvalidModel(where + ".pattern: missing");
    step.pattern.push_back(ParseHfPattern(*pattern, where + ".pattern"));
    const std::string behavior = JsonString(json, "behavior", where, "", /*required=*/true);
    if (behavior == "Removed") {
      step.behavior = Behavior::kRemoved;
    } else if (behavior == "Isolated") {
      step.behavior = Behavior::kIsolated;
    } else if (behavior == "MergedWithPrevious") {
      step.behavior = Behavior::kMergedWithPrevious;
    } else if (behavior == "MergedWithNext") {
      step.behavior = Behavior::kMergedWithNext;
    } else if (behavior == "Contiguous") {
      step.behavior = Behavior::kContiguous;
    } else {
      ThrowInvalidModel(where + ".behavior: \"" + behavior.substr(0, 64) + "\" is not a split behavior");
    }
    step.invert = JsonBool(json, "invert", where, false);
  } else if (type == "ByteLevel") {
    step.kind = Kind::kByteLevel;
    step.add_prefix_space = JsonBool(json, "add_prefix_space", where, true);
    if (JsonBool(json, "use_regex", where, true)) step.pattern.emplace_back(kGpt2Pattern, where);
  } else if (type == "Metaspace") {
    step.kind = Kind::kMetaspace;
    step.replacement = JsonString(json, "replacement", where, "\xE2\x96\x81");
    std::u32string chars;
    if (!DecodeUtf8Strict(step.replacement, &chars) || chars.size() != 1) {
      ThrowInvalidModel(where + ".replacement: expected one character");
    }
    // Older files say add_prefix_space; newer ones prepend_scheme.
    step.prepend = JsonBool(json, "add_prefix_space", where, true) ? Prepend::kAlways : Prepend::kNever;
    if (FindField(json, "prepend_scheme") != nullptr) {
      const std::string scheme = JsonString(json, "prepend_scheme", where, "always");
      if (scheme == "always") {
        step.prepend = Prepend::kAlways;
      } else if (scheme == "first") {
        step.prepend = Prepend::kFirst;
      } else if (scheme == "never") {
        step.prepend = Prepend::kNever;
      } else {
        ThrowInvalidModel(where + ".prepend_scheme: \"" + scheme.substr(0, 64) + "\" is not always, first or never");
      }
    }
    step.split = JsonBool(json, "split", where, true);
  } else if (type == "Whitespace") {
    step.kind = Kind::kSplit;
    step.pattern.emplace_back(R"(\w+|[^\w\s]+)", where);
    step.behavior = Behavior::kRemoved;
    step.invert = true;
  } else if (type == "WhitespaceSplit") {
    step.kind = Kind::kSplit;
    step.pattern.emplace_back(R"(\s+)", where);
    step.behavior = Behavior::kRemoved;
  } else if (type == "Digits") {
    step.kind = Kind::kSplit;
    step.pattern.emplace_back(JsonBool(json, "individual_digits", where, false) ? R"(\p{N})" : R"(\p{N}+)", where);
    step.behavior = Behavior::kIsolated;
  } else {
    ThrowInvalidModel(where + ": pre-tokenizer type \"" + type.substr(0, 64) + "\" is not supported");
  }
  steps_.push_back(std::move(step));
}

void HfPreTokenizer::SplitPiece(const HfPiece& piece, const Step& step, std::vector<HfPiece>* out) {
  const std::string& text = piece.text;
  std::vector<Segment> segments;
  size_t last = 0;
  for (const auto& [begin, end] : step.pattern[0].FindAll(text)) {
    if (begin > last) segments.push_back({last, begin, step.invert});
    segments.push_back({begin, end, !step.invert});
    last = end;
  }
  if (last < text.size()) segments.push_back({last, text.size(), step.invert});
  for (const Segment& s : ApplyBehavior(segments, static_cast<int>(step.behavior))) {
    if (s.end > s.begin) out->push_back({text.substr(s.begin, s.end - s.begin), piece.at_start && s.begin == 0});
  }
}

void HfPreTokenizer::Apply(std::vector<HfPiece>* pieces) const {
  std::vector<HfPiece> next;
  for (const Step& step : steps_) {
    next.clear();
    next.reserve(pieces->size());
    for (HfPiece& piece : *pieces) {
      switch (step.kind) {
        case Kind::kSplit: SplitPiece(piece, step, &next); break;
        case Kind::kByteLevel: {
          if (step.add_prefix_space && (piece.text.empty() || piece.text[0] != ' ')) piece.text.insert(0, " ");
          std::vector<HfPiece> words;
          if (step.pattern.empty()) {
            words.push_back(std::move(piece));
          } else {
            SplitPiece(piece, step, &words);
          }
          for (HfPiece& word : words) {
            std::string mapped;
            mapped.reserve(word.text.size() * 2);
            for (const char c : word.text) AppendUtf8(ByteToUnicode(static_cast<uint8_t>(c)), &mapped);
            next.push_back({std::move(mapped), word.at_start});
          }
          break;
        }
        case Kind::kMetaspace: {
          std::string text;
          text.reserve(piece.text.size() + 8);
          for (const char c : piece.text) {
            if (c == ' ') {
              text.append(step.replacement);
            } else {
              text.push_back(c);
            }
          }
          const bool starts = text.compare(0, step.replacement.size(), step.replacement) == 0;
          if (!starts && (step.prepend == Prepend::kAlways || (step.prepend == Prepend::kFirst && piece.at_start))) {
            text.insert(0, step.replacement);
          }
          if (!step.split) {
            if (!text.empty()) next.push_back({std::move(text), piece.at_start});
            break;
          }
          // Split before every replacement character (MergedWithNext).
          size_t begin = 0;
          for (size_t pos = text.find(step.replacement, 1); pos != std::string::npos;
               pos = text.find(step.replacement, pos + step.replacement.size())) {
            next.push_back({text.substr(begin, pos - begin), piece.at_start && begin == 0});
            begin = pos;
          }
          if (begin < text.size()) next.push_back({text.substr(begin), piece.at_start && begin == 0});
          break;
        }
      }
    }
    pieces->swap(next);
  }
}

}  // namespace mms::text::internal
