#include "engine/ops/int8_gemv_vnni.h"

#include <immintrin.h>

#include <cstring>

#include "base/cpu_features.h"

// GCC 12's AVX-512 intrinsics warn about their own placeholders (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace mms::ops::detail {

namespace {

#define MMS_TARGET_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))

// One 64-column strip for up to M rows: 4 accumulators per row, one vpdpbusd per 64
// weight bytes and row.
template <int M>
MMS_TARGET_VNNI void Strip(const uint8_t* a, int64_t k_padded, const int8_t* w, int32_t* acc, int64_t acc_ld) {
  __m512i sum[M][4];
  for (int r = 0; r < M; ++r)
    for (int c = 0; c < 4; ++c) sum[r][c] = _mm512_setzero_si512();
  for (int64_t k = 0; k < k_padded; k += 4) {
    // Inside a 16 x 64 block, the 4-k group g sits at g * 256 bytes.
    const int8_t* group = w + (k / kVnniBlockK) * (kVnniBlockK * kVnniBlockN) + (k % kVnniBlockK) / 4 * 256;
    const __m512i w0 = _mm512_loadu_si512(group), w1 = _mm512_loadu_si512(group + 64);
    const __m512i w2 = _mm512_loadu_si512(group + 128), w3 = _mm512_loadu_si512(group + 192);
    for (int r = 0; r < M; ++r) {
      int32_t quad;
      std::memcpy(&quad, a + r * k_padded + k, 4);
      const __m512i x = _mm512_set1_epi32(quad);
      sum[r][0] = _mm512_dpbusd_epi32(sum[r][0], x, w0);
      sum[r][1] = _mm512_dpbusd_epi32(sum[r][1], x, w1);
      sum[r][2] = _mm512_dpbusd_epi32(sum[r][2], x, w2);
      sum[r][3] = _mm512_dpbusd_epi32(sum[r][3], x, w3);
    }
  }
  for (int r = 0; r < M; ++r)
    for (int c = 0; c < 4; ++c) _mm512_storeu_si512(acc + r * acc_ld + 16 * c, sum[r][c]);
}

}  // namespace

bool CpuHasAvx512Vnni() {
  static const bool yes = mms::CpuHasAvx512() && __builtin_cpu_supports("avx512vnni");
  return yes;
}

void Int8GemvStripVnni(const uint8_t* a, int m, int64_t k_padded, const int8_t* strip, int32_t* acc) {
  switch (m) {
    case 4: Strip<4>(a, k_padded, strip, acc, kVnniBlockN); break;
    case 3: Strip<3>(a, k_padded, strip, acc, kVnniBlockN); break;
    case 2: Strip<2>(a, k_padded, strip, acc, kVnniBlockN); break;
    default: Strip<1>(a, k_padded, strip, acc, kVnniBlockN); break;
  }
}

}  // namespace mms::ops::detail
