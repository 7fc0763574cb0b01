// A dense, row-major tensor: shape, dtype and a pointer into storage that is either
// owned (64-byte aligned heap block) or borrowed (e.g. a memory-mapped checkpoint),
// kept alive by a shared handle. Copying a Tensor shares the storage.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/dtype.h"

namespace mms {

class Tensor {
 public:
  Tensor() = default;

  static Tensor Empty(std::vector<int64_t> shape, DType dtype);
  static Tensor Zeros(std::vector<int64_t> shape, DType dtype);
  // Wraps memory owned by someone else; keep_alive holds that owner.
  static Tensor Borrow(void* data, std::vector<int64_t> shape, DType dtype, std::shared_ptr<const void> keep_alive);

  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_.at(i < 0 ? shape_.size() + i : i); }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const;
  DType dtype() const { return dtype_; }
  size_t nbytes() const { return numel() * DTypeSize(dtype_); }
  bool empty() const { return data_ == nullptr; }

  template <typename T> T* data() { return static_cast<T*>(data_); }
  template <typename T> const T* data() const { return static_cast<const T*>(data_); }
  void* raw() { return data_; }
  const void* raw() const { return data_; }

  // A copy converted to float32 (from F16, BF16 or F32).
  Tensor ToFloat32() const;
  std::string ShapeString() const;

 private:
  std::vector<int64_t> shape_;
  DType dtype_ = DType::kF32;
  void* data_ = nullptr;
  std::shared_ptr<const void> storage_;
};

std::string ShapeToString(const std::vector<int64_t>& shape);

}  // namespace mms
