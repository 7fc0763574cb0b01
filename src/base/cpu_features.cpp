#include "base/cpu_features.h"

#include <cstdlib>
#include <cstring>

namespace mms {

bool CpuHasAvx512() {
  static const bool has = [] {
    const char* cap = std::getenv("MMSERVE_CPU_ISA");
    if (cap && std::strcmp(cap, "generic") == 0) return false;
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  }();
  return has;
}

}  // namespace mms
