// Memory: what a loaded model version needs, the largest batch a budget allows, the
// batch ceiling that adapts to allocation failures, and what the machine has left for a
// second copy of a model (a reload loads the new copy before the old one goes).
//
// A model's needs are expressed as a MemoryEstimate, weights plus bytes per batch item of
// each part that batches (for CLIP the image and the text tower), so that every model
// family can state its own and the rules here hold for all of them.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace mms::runtime {

struct MemoryEstimate {
  struct Part {
    std::string name;              // "image", "text"
    uint64_t bytes_per_item = 0;   // activations and workspace one more batch item costs
  };
  uint64_t weights_bytes = 0;      // one loaded copy of the weights
  std::vector<Part> parts;
};

// The largest batch of each part (in `estimate.parts` order) when the weights and every
// instance of every part running its largest batch at once fit in `budget_bytes`: the room
// left beside the weights is shared equally by the parts' instances. Never above
// `configured_max`. Throws Error(kInvalidModel) naming `where` when not even one item of
// some part fits.
std::vector<int> MaxBatchWithinBudget(const MemoryEstimate& estimate, uint64_t budget_bytes, int instances,
                                      int configured_max, const std::string& where);

// The batch ceiling one part runs under: additive increase, multiplicative decrease (as
// TCP's congestion window). An allocation failure of a batch of n sets the ceiling to n/2
// (at least 1); each `successes_to_raise` successful executions in a row raise it by one,
// up to the configured maximum. Thread-safe (instances share it).
class BatchCeiling {
 public:
  explicit BatchCeiling(int max, int successes_to_raise = 16);
  int current() const;
  int max() const { return max_; }
  void OnAllocationFailure(int failed_batch);
  void OnSuccess();

 private:
  const int max_, successes_to_raise_;
  mutable std::mutex mutex_;
  int ceiling_;
  int successes_ = 0;
};

// Bytes this process may still allocate: /proc/meminfo's MemAvailable, or less where a
// cgroup (v2 memory.max, or v1 memory.limit_in_bytes) limits the container: its limit
// minus its usage. UINT64_MAX when neither can be read.
uint64_t AvailableMemoryBytes();

// Bytes of the weight files (*.safetensors) of the checkpoint in `dir`: what a copy of the
// model about to load will take, known before loading it.
uint64_t CheckpointWeightBytes(const std::string& dir);

}  // namespace mms::runtime
