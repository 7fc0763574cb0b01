// JSON from clients, parsed with bounds, and client values described in error messages
// without echoing them: a request body may nest brackets a hundred thousand deep (printing
// it back recursed until the stack ran out) or carry megabytes in one string.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace mms::api {

// Deeper than any request of these APIs needs (KServe's data lists nest one level per
// tensor dimension), far below what recursion over the parsed value can take.
inline constexpr size_t kMaxJsonDepth = 32;
// Values per document: each costs tens of bytes once parsed, so a body of "[{},{},...]"
// would take 30 times its own size. The APIs' own bounds (texts, images per request) are
// far below this.
inline constexpr size_t kMaxJsonValues = 100000;

// Parses `text`, refusing (Error kInvalidArgument naming `what` and the byte offset)
// malformed JSON, invalid UTF-8 in strings, nesting deeper than kMaxJsonDepth and more
// than kMaxJsonValues values. The checks run before the parse, over the raw bytes.
// `syntax_hint` is appended to the message of a syntax error only.
nlohmann::json ParseJsonBody(std::string_view text, const std::string& what, std::string_view syntax_hint = {});

// A client's value for an error message: strings quoted, cut to a few dozen characters,
// with control and non-ASCII bytes escaped; other values as BriefJson (base/json_brief.h)
// gives them: numbers and booleans as they are, lists and objects by kind and size.
std::string DescribeClientValue(const nlohmann::json& value);
std::string QuoteClientText(std::string_view text);

}  // namespace mms::api
