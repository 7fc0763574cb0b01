#pragma once

#include <cstdint>
#include <string>

namespace mms {

// Appends "[v0,v1,...]" with each float in the shortest form that reads back to the same
// float32 (nlohmann would widen to double and print 17 digits).
void AppendFloatArrayJson(std::string& out, const float* values, int64_t n);

}  // namespace mms
