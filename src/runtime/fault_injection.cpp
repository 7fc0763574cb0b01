// The production side of the fault-injection seam (fault_injection.h): nothing to inject,
// no flags. Only these three functions may live here; see the header.
#include "runtime/fault_injection.h"

namespace mms::runtime {

std::unique_ptr<FaultInjector> NewFaultInjector(const std::string&, int64_t) { return nullptr; }

std::vector<std::string> FaultInjectionFlags() { return {}; }

void ConfigureFaultInjection(const std::map<std::string, std::string>&) {}

}  // namespace mms::runtime
