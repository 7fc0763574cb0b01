// Internal to src/engine/ops: what the oneDNN matrix products (f32, bf16, int8) share.
// Includes oneDNN's header, so no public header includes this one.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "engine/ops/matmul.h"

namespace mms::ops::detail {

// Appends the activation (eltwise) and the residual accumulate (sum) of `epilogue`, in
// that order: c = act(product) + c.
void AppendEpilogue(dnnl::post_ops& post_ops, Epilogue epilogue);

// oneDNN answers a descriptor no JIT kernel takes with its reference loops ("ref:any",
// "ref_int8:any"): correct but 10-100x slower, so callers treat that as "not accelerated".
bool IsReferenceImpl(const dnnl::primitive_desc_base& pd);

// Per-thread scratch for activations converted per call (bf16, s8) and per-call vectors.
// The forward passes of one model run on several server threads at once, so the buffer
// belongs to the calling thread; it grows to the largest request and is then reused.
// 64-byte aligned. Slots (0..7) are independent buffers.
void* ThreadScratch(int slot, size_t bytes);

// Runs one primitive on a fresh stream of the CPU engine and waits for it.
void Execute(const dnnl::primitive& primitive, const std::unordered_map<int, dnnl::memory>& args);

// Weights of one product in the blocked layouts oneDNN's kernels read. The layout is
// chosen at load for a typical row count and fits nearly every call; but a call with a
// handful of rows may get another kernel wanting another layout (on AMX, one or two rows
// of a small K run the VNNI kernel, whose s8 layout carries a compensation term). Such a
// layout is made once, on first use, from the first, and kept: weights are never
// reordered per call.
class PackedWeights {
 public:
  // plain: the weights in a plain layout (its dims and data type define the product's).
  void Pack(const dnnl::memory& plain, const dnnl::memory::desc& packed);

  using Describe = std::function<dnnl::matmul::primitive_desc(const dnnl::memory::desc& weights)>;
  struct Selected {
    dnnl::matmul::primitive_desc pd;
    dnnl::memory weights;
  };
  // The primitive for a call with m rows and the weights in its layout: the load-time
  // layout when a JIT kernel takes it, else the layout oneDNN prefers for this call.
  // `precision` ("bf16", "int8") names the product in errors.
  Selected Select(const Describe& describe, const char* precision, int64_t m) const;

  // The weights in the layout chosen at load.
  const dnnl::memory& primary() const { return primary_; }

 private:
  dnnl::memory Repacked(const dnnl::memory::desc& layout) const;

  dnnl::memory::desc plain_md_;
  dnnl::memory primary_;
  mutable std::mutex mutex_;
  mutable std::vector<dnnl::memory> others_;
};

}  // namespace mms::ops::detail
