// The fault-injection seam (src/runtime/fault_injection.h) as runtime_tests link it: a
// test sets what happens before each batch execution of every model loaded afterwards
// (and of those already loaded: the hook is read at each execution).
#pragma once

#include <functional>

#include "runtime/fault_injection.h"

namespace mms::runtime::test_hooks {

using ExecutionHook = std::function<void(const ExecutionSite& site)>;

// Replaces the hook (an empty one injects nothing). Thread-safe.
void SetExecutionHook(ExecutionHook hook);

// Sets a hook for the life of a test and removes it after.
class ScopedExecutionHook {
 public:
  explicit ScopedExecutionHook(ExecutionHook hook) { SetExecutionHook(std::move(hook)); }
  ~ScopedExecutionHook() { SetExecutionHook({}); }
  ScopedExecutionHook(const ScopedExecutionHook&) = delete;
  ScopedExecutionHook& operator=(const ScopedExecutionHook&) = delete;
};

}  // namespace mms::runtime::test_hooks
