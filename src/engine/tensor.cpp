#include "engine/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "base/error.h"

namespace mms {

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

Tensor Tensor::Empty(std::vector<int64_t> shape, DType dtype) {
  Tensor t;
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  const size_t bytes = std::max<size_t>(64, (t.numel() * DTypeSize(dtype) + 63) / 64 * 64);
  void* p = std::aligned_alloc(64, bytes);
  if (!p) throw std::bad_alloc();
  t.storage_ = std::shared_ptr<const void>(p, [](const void* q) { std::free(const_cast<void*>(q)); });
  t.data_ = p;
  return t;
}

Tensor Tensor::Zeros(std::vector<int64_t> shape, DType dtype) {
  Tensor t = Empty(std::move(shape), dtype);
  std::memset(t.data_, 0, t.nbytes());
  return t;
}

Tensor Tensor::Borrow(void* data, std::vector<int64_t> shape, DType dtype, std::shared_ptr<const void> keep_alive) {
  Tensor t;
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  t.data_ = data;
  t.storage_ = std::move(keep_alive);
  return t;
}

Tensor Tensor::ToFloat32() const {
  Tensor out = Empty(shape_, DType::kF32);
  float* dst = out.data<float>();
  const int64_t n = numel();
  // Source storage may be unaligned (memory-mapped files), so read element by element via memcpy.
  const auto* src = static_cast<const unsigned char*>(data_);
  switch (dtype_) {
    case DType::kF32:
      std::memcpy(dst, src, n * 4);
      break;
    case DType::kF16:
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = dtype_ == DType::kF16 ? HalfToFloat(h) : BFloat16ToFloat(h);
      }
      break;
    default:
      ThrowInternal(std::string("cannot convert ") + DTypeName(dtype_) + " tensor to F32");
  }
  return out;
}

std::string ShapeToString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::string Tensor::ShapeString() const { return ShapeToString(shape_); }

}  // namespace mms
