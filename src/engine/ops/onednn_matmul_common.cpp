#include "engine/ops/onednn_matmul_common.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "base/error.h"
#include "engine/onednn_context.h"

namespace mms::ops::detail {

namespace {

dnnl::algorithm EltwiseFor(Activation act, float* alpha) {
  *alpha = 0.0f;
  switch (act) {
    case Activation::kGelu: return dnnl::algorithm::eltwise_gelu_erf;
    case Activation::kGeluTanh: return dnnl::algorithm::eltwise_gelu_tanh;
    case Activation::kQuickGelu: *alpha = 1.702f; return dnnl::algorithm::eltwise_swish;  // x·σ(1.702x)
    case Activation::kRelu: return dnnl::algorithm::eltwise_relu;
    case Activation::kNone: break;
  }
  return dnnl::algorithm::undef;
}

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};

struct ScratchSlot {
  std::unique_ptr<void, AlignedFree> data;
  size_t bytes = 0;
};

}  // namespace

void AppendEpilogue(dnnl::post_ops& post_ops, Epilogue epilogue) {
  if (epilogue.activation != Activation::kNone) {
    float alpha;
    const dnnl::algorithm alg = EltwiseFor(epilogue.activation, &alpha);
    post_ops.append_eltwise(1.0f, alg, alpha, 0.0f);
  }
  if (epilogue.accumulate) post_ops.append_sum(1.0f);
}

bool IsReferenceImpl(const dnnl::primitive_desc_base& pd) {
  return std::strncmp(pd.impl_info_str(), "ref", 3) == 0;
}

void* ThreadScratch(int slot, size_t bytes) {
  constexpr int kSlots = 8;
  thread_local ScratchSlot slots[kSlots];
  if (slot < 0 || slot >= kSlots) ThrowInternal("ThreadScratch: slot " + std::to_string(slot) + " out of range");
  ScratchSlot& s = slots[slot];
  if (s.bytes < bytes) {
    const size_t rounded = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded);
    if (!p) throw std::bad_alloc();
    s.data.reset(p);
    s.bytes = rounded;
  }
  return s.data.get();
}

void Execute(const dnnl::primitive& primitive, const std::unordered_map<int, dnnl::memory>& args) {
  dnnl::stream stream(CpuEngine());
  primitive.execute(stream, args);
  stream.wait();
}

void PackedWeights::Pack(const dnnl::memory& plain, const dnnl::memory::desc& packed) {
  plain_md_ = plain.get_desc();
  primary_ = dnnl::memory(packed, CpuEngine());
  // The reorder also computes what a kernel needs beside the values (for an s8 source on
  // VNNI, the compensation term), once.
  Execute(dnnl::reorder(plain, primary_), {{DNNL_ARG_FROM, plain}, {DNNL_ARG_TO, primary_}});
}

dnnl::memory PackedWeights::Repacked(const dnnl::memory::desc& layout) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& m : others_) {
    if (m.get_desc() == layout) return m;
  }
  // Back to plain, then into the new layout: oneDNN reorders into a layout with a
  // compensation term only from a plain one.
  const dnnl::engine& engine = CpuEngine();
  dnnl::memory plain(plain_md_, engine);
  Execute(dnnl::reorder(primary_, plain), {{DNNL_ARG_FROM, primary_}, {DNNL_ARG_TO, plain}});
  dnnl::memory packed(layout, engine);
  Execute(dnnl::reorder(plain, packed), {{DNNL_ARG_FROM, plain}, {DNNL_ARG_TO, packed}});
  others_.push_back(packed);
  return packed;
}

PackedWeights::Selected PackedWeights::Select(const Describe& describe, const char* precision, int64_t m) const {
  Selected primary;
  bool have_primary = false;
  try {
    primary.pd = describe(primary_.get_desc());
    primary.weights = primary_;
    if (!IsReferenceImpl(primary.pd)) return primary;  // nearly every call
    have_primary = true;
  } catch (const dnnl::error&) {
  }
  try {
    const dnnl::memory::desc any(plain_md_.dims(), plain_md_.data_type(), dnnl::memory::format_tag::any);
    Selected preferred;
    preferred.pd = describe(any);
    if (!IsReferenceImpl(preferred.pd)) {
      preferred.weights = Repacked(preferred.pd.weights_desc());
      return preferred;
    }
  } catch (const dnnl::error&) {
  }
  if (have_primary) return primary;  // no JIT kernel on this CPU: oneDNN's reference loops
  const auto dims = plain_md_.dims();
  ThrowInternal(std::string(precision) + " matmul [" + std::to_string(m) + "x" + std::to_string(dims[0]) + "]·[" +
                std::to_string(dims[0]) + "x" + std::to_string(dims[1]) + "]: oneDNN has no kernel for it on this CPU");
}

}  // namespace mms::ops::detail
