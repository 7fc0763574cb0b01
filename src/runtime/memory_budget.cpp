#include "runtime/memory_budget.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "base/error.h"

namespace mms::runtime {

namespace fs = std::filesystem;

namespace {

std::string Mb(uint64_t bytes) {
  std::ostringstream out;
  out.precision(1);
  out << std::fixed << static_cast<double>(bytes) / (1 << 20) << " MB";
  return out.str();
}

// The number in a file such as /sys/fs/cgroup/memory.max; false for "max" (no limit) or none.
bool ReadNumber(const std::string& path, uint64_t* value) {
  std::ifstream in(path);
  std::string word;
  if (!(in >> word) || word.empty() || word.find_first_not_of("0123456789") != std::string::npos) return false;
  try {
    *value = std::stoull(word);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

}  // namespace

std::vector<int> MaxBatchWithinBudget(const MemoryEstimate& estimate, uint64_t budget_bytes, int instances,
                                      int configured_max, const std::string& where) {
  std::vector<int> out;
  if (estimate.weights_bytes >= budget_bytes) {
    ThrowInvalidModel(where + ": memory budget " + Mb(budget_bytes) + " does not hold the weights (" +
                      Mb(estimate.weights_bytes) + ")");
  }
  const uint64_t room = budget_bytes - estimate.weights_bytes;
  const uint64_t sharers = static_cast<uint64_t>(std::max(1, instances)) * std::max<size_t>(1, estimate.parts.size());
  const uint64_t share = room / sharers;
  for (const auto& part : estimate.parts) {
    const uint64_t per_item = std::max<uint64_t>(1, part.bytes_per_item);
    const uint64_t fit = share / per_item;
    if (fit < 1) {
      ThrowInvalidModel(where + ": memory budget " + Mb(budget_bytes) + " leaves " + Mb(share) + " per " + part.name +
                        " instance beside the weights (" + Mb(estimate.weights_bytes) + "), less than one " +
                        part.name + " item needs (" + Mb(per_item) + ")");
    }
    out.push_back(static_cast<int>(std::min<uint64_t>(fit, static_cast<uint64_t>(std::max(1, configured_max)))));
  }
  return out;
}

BatchCeiling::BatchCeiling(int max, int successes_to_raise)
    : max_(std::max(1, max)), successes_to_raise_(std::max(1, successes_to_raise)), ceiling_(max_) {}

int BatchCeiling::current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return ceiling_;
}

void BatchCeiling::OnAllocationFailure(int failed_batch) {
  std::lock_guard<std::mutex> lock(mutex_);
  ceiling_ = std::clamp(failed_batch / 2, 1, ceiling_);
  successes_ = 0;
}

void BatchCeiling::OnSuccess() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (ceiling_ >= max_) return;
  if (++successes_ >= successes_to_raise_) {
    ++ceiling_;
    successes_ = 0;
  }
}

uint64_t AvailableMemoryBytes() {
  uint64_t available = std::numeric_limits<uint64_t>::max();
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (meminfo >> key >> kb) {
    std::getline(meminfo, unit);
    if (key == "MemAvailable:") {
      available = kb * 1024;
      break;
    }
  }
  uint64_t limit = 0, usage = 0;
  if ((ReadNumber("/sys/fs/cgroup/memory.max", &limit) && ReadNumber("/sys/fs/cgroup/memory.current", &usage)) ||
      (ReadNumber("/sys/fs/cgroup/memory/memory.limit_in_bytes", &limit) &&
       ReadNumber("/sys/fs/cgroup/memory/memory.usage_in_bytes", &usage))) {
    available = std::min(available, limit > usage ? limit - usage : 0);
  }
  return available;
}

uint64_t CheckpointWeightBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".safetensors" && entry.is_regular_file()) total += entry.file_size(ec);
  }
  return total;
}

}  // namespace mms::runtime
