// Where the time of a generation step goes, per kind of work: MMSERVE_PROFILE=N (N >= 1)
// makes the model's Step and the engine's loop add up wall time per op kind and print a
// table to stderr every N steps (N = 1: only at exit). Off by default; when off, each
// timed region costs one load of a cached bool and a not-taken branch.
//
// Wall time, not CPU time: with OpenMP kernels the threads run inside the region, and a
// busy machine shows up as time too, which is what a server's latency feels.
// Steps run on one engine thread per model; totals are atomics anyway, so that several
// engines (models) in one process add into the same table without a data race.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace mms::models::profile {

enum Op : int {
  kEmbed,       // embedding rows and rotary angles
  kNorm,        // RMSNorm (input, post-attention, final)
  kQkv,         // the q/k/v projection
  kRope,        // rotary embedding applied to q and k
  kKvWrite,     // keys and values into the paged cache
  kAttention,   // paged attention
  kOProj,       // output projection (+ residual)
  kGateUp,      // gate/up projection
  kSiluMul,     // SiLU(gate) * up
  kDown,        // down projection (+ residual)
  kLmHead,      // final norm rows + lm_head
  kStepOther,   // checks and bookkeeping inside Step
  kSampling,    // engine: sampling and the token sinks
  kSchedule,    // engine: scheduling, chunk building, commit
  kOpCount
};

inline const char* OpName(int op) {
  static const char* const names[] = {"embed", "norms", "qkv", "rope", "kv_write", "attention", "o_proj",
                                      "gate_up", "silu_mul", "down", "lm_head", "step_other", "sampling",
                                      "schedule"};
  return op >= 0 && op < kOpCount ? names[op] : "?";
}

struct Totals {
  std::atomic<int64_t> ns[kOpCount] = {};
  std::atomic<int64_t> steps{0}, rows{0}, logit_rows{0};
  std::atomic<int64_t> printed_at{0};
};

inline Totals& GlobalTotals() {
  static Totals t;
  return t;
}

// Every N steps (0 = off). Read once.
inline int64_t Interval() {
  static const int64_t n = [] {
    const char* v = std::getenv("MMSERVE_PROFILE");
    if (v == nullptr || *v == '\0') return int64_t{0};
    const long long x = std::strtoll(v, nullptr, 10);
    return x < 1 ? int64_t{0} : static_cast<int64_t>(x > (1LL << 40) ? (1LL << 40) : x);
  }();
  return n;
}

inline bool Enabled() {
  static const bool on = Interval() > 0;
  return on;
}

inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline void Print(const char* why) {
  Totals& t = GlobalTotals();
  const int64_t steps = t.steps.load(), rows = t.rows.load();
  if (steps == 0) return;
  int64_t total = 0;
  for (int i = 0; i < kOpCount; ++i) total += t.ns[i].load();
  std::fprintf(stderr, "mmserve profile (%s): %lld steps, %lld rows (%.1f per step), %lld logit rows, %.3f ms per step\n",
               why, static_cast<long long>(steps), static_cast<long long>(rows),
               static_cast<double>(rows) / static_cast<double>(steps), static_cast<long long>(t.logit_rows.load()),
               static_cast<double>(total) / 1e6 / static_cast<double>(steps));
  for (int i = 0; i < kOpCount; ++i) {
    const int64_t ns = t.ns[i].load();
    std::fprintf(stderr, "  %-10s %9.3f ms/step %5.1f%%\n", OpName(i),
                 static_cast<double>(ns) / 1e6 / static_cast<double>(steps),
                 total > 0 ? 100.0 * static_cast<double>(ns) / static_cast<double>(total) : 0.0);
  }
}

// Called by the engine after each step; prints every Interval() steps, and once at exit.
inline void EndStep(int64_t rows, int64_t logit_rows) {
  if (!Enabled()) return;
  Totals& t = GlobalTotals();
  static const bool registered = [] { return std::atexit([] { Print("at exit"); }) == 0; }();
  (void)registered;
  t.rows += rows;
  t.logit_rows += logit_rows;
  const int64_t steps = ++t.steps;
  const int64_t every = Interval();
  if (every > 1 && steps % every == 0) Print("running totals");
}

// Adds the time from construction (or the last Lap) to `op`. No clock read when off.
class Timer {
 public:
  Timer() : start_(Enabled() ? NowNs() : 0) {}
  void Lap(Op op) {
    if (!Enabled()) return;
    const int64_t now = NowNs();
    GlobalTotals().ns[op] += now - start_;
    start_ = now;
  }

 private:
  int64_t start_;
};

}  // namespace mms::models::profile
