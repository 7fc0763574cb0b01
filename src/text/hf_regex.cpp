#include "text/hf_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "base/error.h"

namespace mms::text::internal {
namespace {

constexpr size_t kMaxPatternBytes = 16 * 1024;
// Bounds the backtracking of one match attempt, so that a pathological pattern or input
// costs a clear error rather than minutes of CPU. The tokenizers' own patterns need far less.
constexpr uint32_t kMatchLimit = 10'000'000;

struct MatchData {
  explicit MatchData(const pcre2_code* code) : data(pcre2_match_data_create_from_pattern(code, nullptr)) {}
  ~MatchData() { pcre2_match_data_free(data); }
  MatchData(const MatchData&) = delete;
  MatchData& operator=(const MatchData&) = delete;
  pcre2_match_data* data;
};

}  // namespace

struct HfRegex::Code {
  pcre2_code* code = nullptr;
  pcre2_match_context* context = nullptr;
  bool jit = false;
  ~Code() {
    pcre2_match_context_free(context);
    pcre2_code_free(code);
  }
};

HfRegex::HfRegex(std::string_view pattern, const std::string& where) {
  if (pattern.size() > kMaxPatternBytes) {
    ThrowInvalidModel(where + ": the regular expression is " + std::to_string(pattern.size()) +
                      " bytes, over the cap of " + std::to_string(kMaxPatternBytes));
  }
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  auto code = std::make_shared<Code>();
  code->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP,
                             &error, &error_offset, nullptr);
  if (code->code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    ThrowInvalidModel(where + ": the regular expression does not compile at byte " + std::to_string(error_offset) +
                      ": " + reinterpret_cast<const char*>(message));
  }
  code->jit = pcre2_jit_compile(code->code, PCRE2_JIT_COMPLETE) == 0;
  code->context = pcre2_match_context_create(nullptr);
  if (code->context == nullptr) ThrowInternal("HfRegex: out of memory creating a PCRE2 match context");
  pcre2_set_match_limit(code->context, kMatchLimit);
  code_ = std::move(code);
}

HfRegex HfRegex::Literal(std::string_view text, const std::string& where) {
  if (text.size() > kMaxPatternBytes) {
    ThrowInvalidModel(where + ": the pattern string is " + std::to_string(text.size()) + " bytes, over the cap of " +
                      std::to_string(kMaxPatternBytes));
  }
  HfRegex regex;
  regex.is_literal_ = true;
  regex.literal_ = std::string(text);
  return regex;
}

std::vector<std::pair<size_t, size_t>> HfRegex::FindAll(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> matches;
  if (is_literal_) {
    if (literal_.empty()) return matches;
    for (size_t pos = text.find(literal_); pos != std::string_view::npos; pos = text.find(literal_, pos)) {
      matches.emplace_back(pos, pos + literal_.size());
      pos += literal_.size();
    }
    return matches;
  }
  MatchData match(code_->code);
  if (match.data == nullptr) ThrowInternal("HfRegex: out of memory creating PCRE2 match data");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t start = 0;
  uint32_t options = PCRE2_NO_UTF_CHECK;  // callers pass valid UTF-8
  while (start <= text.size()) {
    int rc = pcre2_match(code_->code, subject, text.size(), start, options, match.data, code_->context);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      // The JIT's default stack is small; the interpreter has its own heap-based limits.
      rc = pcre2_match(code_->code, subject, text.size(), start, options | PCRE2_NO_JIT, match.data, code_->context);
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
          rc == PCRE2_ERROR_NOMEMORY) {
        throw Error(ErrorCode::kInvalidArgument,
                    "tokenizer: the text is too complex for the tokenizer's regular expression near byte " +
                        std::to_string(start));
      }
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      throw Error(ErrorCode::kInvalidArgument, std::string("tokenizer: regular expression match failed: ") +
                                                   reinterpret_cast<const char*>(message));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.data);
    size_t begin = ovector[0], end = ovector[1];
    if (end < begin) end = begin;  // \K tricks can report end < begin; treat as empty
    if (end > begin) {
      matches.emplace_back(begin, end);
      start = end;
    } else {
      // An empty match: step over one whole character so the next attempt starts on a boundary.
      if (begin >= text.size()) break;
      size_t next = begin + 1;
      while (next < text.size() && (static_cast<unsigned char>(text[next]) & 0xC0) == 0x80) ++next;
      start = next;
    }
  }
  return matches;
}

std::string HfRegex::ReplaceAll(std::string_view text, std::string_view content) const {
  std::string out;
  size_t last = 0;
  for (const auto& [begin, end] : FindAll(text)) {
    out.append(text.substr(last, begin - last));
    out.append(content);
    last = end;
  }
  out.append(text.substr(last));
  return out;
}

}  // namespace mms::text::internal
