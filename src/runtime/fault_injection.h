// Fault injection for tests, as a link-time seam. The production server links
// fault_injection.cpp, whose hooks do nothing and add no flag, so nothing a client or an
// operator can reach makes a model fail on purpose. Test executables link their own
// definitions of these functions instead (the linker takes an object given on the command
// line before the library member that defines the same symbols):
//   - mmserve-testing (built only with MMS_BUILD_TESTS) adds --fault-injection-file
//     (tests/integration/server_hooks/fault_injection_file.cpp);
//   - runtime_tests program the hook from the test (tests/runtime/fault_injection_hook.h).
// fault_injection.cpp must therefore define exactly these functions and nothing else: a
// symbol only it defined would pull it in next to the test's copy, and the link would fail.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mms::runtime {

// One batch about to run on a loaded model version.
struct ExecutionSite {
  std::string model;
  int64_t version = 0;
  const char* part = "";  // which part of the model runs it: "image" or "text" (the towers)
  size_t batch_size = 0;
};

// Called by a loaded model version before each batch execution. It fails the execution by
// throwing: an Error as a broken model would, or std::bad_alloc as exhausted memory would.
class FaultInjector {
 public:
  virtual ~FaultInjector() = default;
  virtual void BeforeExecution(const ExecutionSite& site) = 0;
};

// One per loaded copy of a model version, so that state such as "this copy is broken
// until reloaded" dies with the copy. Null when the build injects nothing (production).
std::unique_ptr<FaultInjector> NewFaultInjector(const std::string& model, int64_t version);

// The `serve` flags (without "--") the build adds for fault injection; none in production,
// so there the flags are unknown options.
std::vector<std::string> FaultInjectionFlags();
// The values given for those flags (absent ones are missing); `serve` calls it once,
// before any model loads.
void ConfigureFaultInjection(const std::map<std::string, std::string>& flag_values);

}  // namespace mms::runtime
