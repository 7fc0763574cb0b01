#include "engine/precision.h"

namespace mms {

const char* PrecisionName(Precision precision) {
  switch (precision) {
    case Precision::kFp32: return "fp32";
    case Precision::kBf16: return "bf16";
    case Precision::kInt8: return "int8";
  }
  return "?";
}

bool ParsePrecision(std::string_view name, Precision* out) {
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    if (name == PrecisionName(p)) {
      *out = p;
      return true;
    }
  }
  return false;
}

}  // namespace mms
