// Jinja's grammar (the part chat templates use) over the lexer's chunks, with its operator
// precedence: filters and tests bind tightest, then ** (left to right, as Jinja has it),
// * / // %, ~, + -, comparisons, not, and, or, and the `x if c else y` form.
#pragma once

#include <string_view>

#include "template/ast.h"

namespace mms::tmpl {

// How deep statements and expressions may nest: the parser and renderer recurse on them.
inline constexpr int kMaxNesting = 64;

// Throws SyntaxError (lexer.h).
Body ParseTemplate(std::string_view source);

}  // namespace mms::tmpl
