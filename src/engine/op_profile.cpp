#include "engine/op_profile.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

namespace mms::profile {

namespace {

struct ScopeTotals {
  int64_t passes = 0, rows = 0;
  std::map<std::string, int64_t> ns_by_op;
  std::map<int, int64_t> ns_by_layer;
};

struct State {
  std::mutex mutex;
  std::map<std::string, ScopeTotals> scopes;
};

State& GlobalState() {
  static State* s = new State;  // never destroyed: the at-exit report may run after statics die
  return *s;
}

std::atomic<bool>& Flag() {
  static std::atomic<bool> on = [] {
    const char* v = std::getenv("MMSERVE_PROFILE");
    return v != nullptr && std::strtoll(v, nullptr, 10) > 0;
  }();
  return on;
}

// Nested time reported on this thread and not yet moved into a Timer's scope, per op
// (a handful of kinds, so a short list).
thread_local std::vector<std::pair<const char*, int64_t>> pending_nested;

void PrintAtExit() { std::fputs(Report().c_str(), stderr); }

void RegisterExitReport() {
  static const bool registered = std::atexit(PrintAtExit) == 0;
  (void)registered;
}

}  // namespace

bool Enabled() {
  const bool on = Flag().load(std::memory_order_relaxed);
  if (on) RegisterExitReport();
  return on;
}

void Enable() {
  Flag().store(true);
  RegisterExitReport();
}

void Disable() { Flag().store(false); }

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Add(const char* scope, int layer, const char* op, int64_t ns) {
  State& s = GlobalState();
  std::lock_guard<std::mutex> lock(s.mutex);
  ScopeTotals& t = s.scopes[scope];
  t.ns_by_op[op] += ns;
  t.ns_by_layer[layer] += ns;
}

void AddNested(const char* op, int64_t ns) {
  // Attributed to the scope of the enclosing Timer when it laps.
  for (auto& [name, total] : pending_nested) {
    if (name == op) {
      total += ns;
      return;
    }
  }
  pending_nested.emplace_back(op, ns);
}

void CountPass(const char* scope, int64_t rows) {
  if (!Enabled()) return;
  State& s = GlobalState();
  std::lock_guard<std::mutex> lock(s.mutex);
  ScopeTotals& t = s.scopes[scope];
  ++t.passes;
  t.rows += rows;
}

Timer::Timer(const char* scope, int layer) : scope_(scope), layer_(layer) {
  if (Enabled()) {
    pending_nested.clear();  // nested work outside any region is not counted
    start_ = NowNs();
  }
}

void Timer::Lap(const char* op) {
  if (!Enabled()) return;
  const int64_t now = NowNs();
  State& s = GlobalState();
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    ScopeTotals& t = s.scopes[scope_];
    int64_t nested = 0;
    for (const auto& [name, ns] : pending_nested) {
      t.ns_by_op[name] += ns;
      nested += ns;
    }
    t.ns_by_op[op] += now - start_ - nested;
    t.ns_by_layer[layer_] += now - start_;
  }
  pending_nested.clear();
  start_ = now;
}

std::string Report() {
  State& s = GlobalState();
  std::lock_guard<std::mutex> lock(s.mutex);
  std::string out;
  char line[256];
  for (const auto& [scope, t] : s.scopes) {
    if (t.passes == 0) continue;
    int64_t total = 0;
    for (const auto& [op, ns] : t.ns_by_op) {
      if (op[0] != '(') total += ns;  // "(name)": work overlapping the scope's own, not part of it
    }
    const double passes = static_cast<double>(t.passes);
    std::snprintf(line, sizeof line, "mmserve profile: %s: %lld passes, %.1f rows per pass, %.3f ms per pass\n",
                  scope.c_str(), static_cast<long long>(t.passes), static_cast<double>(t.rows) / passes,
                  static_cast<double>(total) / 1e6 / passes);
    out += line;
    std::vector<std::pair<int64_t, std::string>> ops;
    for (const auto& [op, ns] : t.ns_by_op) ops.emplace_back(ns, op);
    std::sort(ops.rbegin(), ops.rend());
    for (const auto& [ns, op] : ops) {
      std::snprintf(line, sizeof line, "  op %-14s %9.3f ms/pass %5.1f%%\n", op.c_str(),
                    static_cast<double>(ns) / 1e6 / passes, total > 0 ? 100.0 * static_cast<double>(ns) / total : 0.0);
      out += line;
    }
    out += "  per layer (ms/pass):";
    for (const auto& [layer, ns] : t.ns_by_layer) {
      const double ms = static_cast<double>(ns) / 1e6 / passes;
      if (layer < 0) {
        std::snprintf(line, sizeof line, " outside=%.3f", ms);
      } else {
        std::snprintf(line, sizeof line, " L%d=%.3f", layer, ms);
      }
      out += line;
    }
    out += "\n";
  }
  return out;
}

void Reset() {
  State& s = GlobalState();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.scopes.clear();
}

}  // namespace mms::profile
