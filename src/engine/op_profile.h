// Where the time of a forward pass goes, per op kind and per layer: switched on by
// MMSERVE_PROFILE=1 in the environment or `--profile` on `mmserve bench` / `serve`.
// Off by default; when off, a timed region costs one relaxed load and a not-taken branch.
//
// Regions are named by a scope (a stack of layers: "vision_model.encoder"), a layer
// index (-1 outside the layers) and an op kind ("layer_norm", "qkv", "attention", ...).
// Time that an op spends on another kind of work inside its region, e.g. converting its
// activations to bf16 or int8 before the matrix product, is reported by the inner code
// with AddNested and moved from the region's op to that kind.
//
// An op named in parentheses, "(image_encoder_run)", is work on another thread that
// overlaps the scope's own regions: listed, but left out of the scope's total.
//
// Wall time, not CPU time: OpenMP kernels run their threads inside the region. Several
// server threads may profile at once; totals are kept under a mutex, taken only when on.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace mms::profile {

// Whether profiling is on (MMSERVE_PROFILE set to a positive number, or Enable()).
bool Enabled();
// Switches profiling on (the --profile flags) and prints the table at exit.
void Enable();
// Switches it off again (tests).
void Disable();

int64_t NowNs();

// Adds ns to (scope, layer, op).
void Add(const char* scope, int layer, const char* op, int64_t ns);
// Called inside an open region: ns of this thread's current region belong to `op`.
void AddNested(const char* op, int64_t ns);
// One forward pass of `scope` over `rows` rows (the per-pass figures divide by this).
void CountPass(const char* scope, int64_t rows);

// The table so far: per scope, ms per pass for each op kind and each layer.
std::string Report();
void Reset();

// Times consecutive regions of one scope and layer on the calling thread.
class Timer {
 public:
  Timer(const char* scope, int layer);
  // Adds the time since construction or the last Lap, less the nested time reported
  // meanwhile on this thread, to `op`.
  void Lap(const char* op);

 private:
  const char* scope_;  // must outlive the Timer (a literal or a member string)
  int layer_;
  int64_t start_ = 0;
};

// Times a region of nested work (see AddNested) on the calling thread.
class NestedTimer {
 public:
  explicit NestedTimer(const char* op) : op_(op), start_(Enabled() ? NowNs() : 0) {}
  ~NestedTimer() {
    if (start_ != 0) AddNested(op_, NowNs() - start_);
  }
  NestedTimer(const NestedTimer&) = delete;
  NestedTimer& operator=(const NestedTimer&) = delete;

 private:
  const char* op_;
  int64_t start_;
};

}  // namespace mms::profile
