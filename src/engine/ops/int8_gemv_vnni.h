// Internal to src/engine/ops: the int8 products of decode-sized calls (a few rows) on
// AVX512-VNNI, reading the weights oneDNN packed at load where they are in the layout
// this kernel knows (no second copy of the weights).
//
// Why: a decode step's products are one row against every weight, so their speed is the
// rate at which the weights stream from memory. oneDNN 2.6's int8 brgemm kernel reached
// about 36 GB/s on a TinyLlama decode step where a read-only sum of memory reaches 56
// (its bf16 kernel streamed 58): the u8 x s8 product of 64 weight bytes is one vpdpbusd,
// so a loop that only loads, broadcasts and multiplies keeps up with memory.
#pragma once

#include <cstdint>

namespace mms::ops::detail {

// The weight layout read: oneDNN's BA16a64b4a for a [K, N] s8 matrix. Blocks of 16 K x
// 64 N, the blocks of one 64-column strip one after another along K, strips along N;
// inside a block, 4 groups of 4 consecutive k, each [64 n][4 k]. K and N padded with
// zeros to whole blocks.
constexpr int64_t kVnniBlockK = 16, kVnniBlockN = 64;

// Whether this CPU runs the kernel (AVX-512 F/BW and VNNI, not switched off by
// MMSERVE_CPU_ISA=generic).
bool CpuHasAvx512Vnni();

// One 64-column strip: acc[r][j] = Σ_k a[r][k] · w[k][j] for r < m (1 to 4), j < 64, in
// int32 (exact: no saturation). a: m rows of k_padded u8 codes (zero past K); strip: the
// strip's k_padded x 64 blocked weights. The caller runs strips in parallel.
constexpr int kVnniMaxRows = 4;
void Int8GemvStripVnni(const uint8_t* a, int m, int64_t k_padded, const int8_t* strip, int32_t* acc);

}  // namespace mms::ops::detail
