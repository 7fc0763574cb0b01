// runtime_tests' definitions of the fault-injection seam; see fault_injection_hook.h.
#include "fault_injection_hook.h"

#include <memory>
#include <mutex>

namespace mms::runtime {

namespace {

std::mutex hook_mutex;
std::shared_ptr<const test_hooks::ExecutionHook> current_hook;

class HookFaultInjector final : public FaultInjector {
 public:
  void BeforeExecution(const ExecutionSite& site) override {
    std::shared_ptr<const test_hooks::ExecutionHook> hook;
    {
      std::lock_guard<std::mutex> lock(hook_mutex);
      hook = current_hook;
    }
    // Called outside the lock: a hook may block (to hold an execution) or throw.
    if (hook && *hook) (*hook)(site);
  }
};

}  // namespace

namespace test_hooks {
void SetExecutionHook(ExecutionHook hook) {
  auto shared = std::make_shared<const ExecutionHook>(std::move(hook));
  std::lock_guard<std::mutex> lock(hook_mutex);
  current_hook = std::move(shared);
}
}  // namespace test_hooks

std::unique_ptr<FaultInjector> NewFaultInjector(const std::string&, int64_t) {
  return std::make_unique<HookFaultInjector>();
}

std::vector<std::string> FaultInjectionFlags() { return {}; }

void ConfigureFaultInjection(const std::map<std::string, std::string>&) {}

}  // namespace mms::runtime
