#include "base/float_json.h"

#include <charconv>
#include <cmath>

namespace mms {

void AppendFloatArrayJson(std::string& out, const float* values, int64_t n) {
  out += '[';
  char buf[32];
  for (int64_t i = 0; i < n; ++i) {
    if (i) out += ',';
    if (!std::isfinite(values[i])) {  // JSON has no NaN/Inf
      out += "null";
      continue;
    }
    const auto r = std::to_chars(buf, buf + sizeof(buf), values[i]);
    out.append(buf, r.ptr);
  }
  out += ']';
}

}  // namespace mms
