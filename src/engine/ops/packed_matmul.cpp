#include "engine/ops/packed_matmul.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <vector>

#include "base/error.h"

#include "engine/ops/bf16_matmul.h"
#include "engine/ops/int8_matmul.h"

namespace mms::ops {

namespace {

// Packs a small product and asks which kernel oneDNN would run it with: the dispatch
// that serving will see, including ONEDNN_MAX_CPU_ISA.
bool Probe(Precision precision) {
  constexpr int64_t kN = 64, kK = 64;
  try {
    std::unique_ptr<PackedMatMul> product;
    if (precision == Precision::kBf16) {
      const std::vector<uint16_t> w(kN * kK, 0x3f80);  // 1.0
      product = PackBf16(w.data(), kN, kK);
    } else {
      const std::vector<int8_t> q(kN * kK, 1);
      const std::vector<float> scales(kN, 1.0f);
      product = PackInt8(q.data(), scales.data(), kN, kK);
    }
    return product->KernelName(kN, {Activation::kQuickGelu, false}).rfind("ref", 0) != 0;
  } catch (const std::exception&) {
    return false;  // no kernel at all (oneDNN refuses bf16 below AVX-512)
  }
}

// oneDNN's ISA levels are nested bit sets: AVX512-BF16 and AMX both hold this one's bits.
bool NativeBf16() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  return (isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
}

}  // namespace

void PackedMatMul::RunU8(const uint8_t*, U8Params, const float*, float*, int64_t, Epilogue) const {
  ThrowInternal(std::string("RunU8 called on a ") + PrecisionName(precision()) + " matrix product");
}

void PackedMatMul::RunBf16(const uint16_t*, const float*, void*, bool, int64_t, Epilogue) const {
  ThrowInternal(std::string("RunBf16 called on a ") + PrecisionName(precision()) + " matrix product");
}

bool MatMulAccelerated(Precision precision) {
  switch (precision) {
    case Precision::kFp32: return true;
    case Precision::kBf16: {
      // Below AVX512-BF16, oneDNN emulates bf16 on AVX-512 (measured 3x slower than fp32 on
      // a ViT-B/32) or runs its reference loops: not worth running.
      static const bool bf16 = NativeBf16() && Probe(Precision::kBf16);
      return bf16;
    }
    case Precision::kInt8: {
      static const bool int8 = Probe(Precision::kInt8);
      return int8;
    }
  }
  return false;
}

Precision RunnablePrecision(Precision requested, std::string* why) {
  why->clear();
  if (MatMulAccelerated(requested)) return requested;
  *why = std::string(PrecisionName(requested)) +
         " matrix products have no fast kernel on this CPU (bf16 needs AVX512-BF16 or AMX; oneDNN would emulate it "
         "or run its reference loops, slower than fp32), so the model runs in fp32";
  return Precision::kFp32;
}

}  // namespace mms::ops
