// The fault-injection seam (src/runtime/fault_injection.h) as mmserve-testing links it:
// `serve --fault-injection-file PATH` (or MMSERVE_FAULT_INJECTION_FILE). While PATH exists
// and one of its lines is exactly a model's name, that model's executions fail, and the
// loaded copy that saw it stays broken until it is reloaded (as after memory corruption),
// which is what the recovery test needs: only a reload by the health checker heals it.
// Exact lines, not substrings: a fault meant for "clip" must not break "clip-large".
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

#include "base/error.h"
#include "runtime/fault_injection.h"

namespace mms::runtime {

namespace {

std::mutex path_mutex;
std::string fault_file;  // empty: no injection

std::string FaultFile() {
  std::lock_guard<std::mutex> lock(path_mutex);
  return fault_file;
}

bool FileNamesModel(const std::string& path, const std::string& model) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return false;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line == model) return true;
  }
  return false;
}

class FileFaultInjector final : public FaultInjector {
 public:
  FileFaultInjector(std::string model, std::string path) : model_(std::move(model)), path_(std::move(path)) {}

  void BeforeExecution(const ExecutionSite& site) override {
    if (!broken_ && FileNamesModel(path_, model_)) broken_ = true;
    if (broken_) {
      ThrowInternal("injected fault (" + path_ + "): this loaded copy of \"" + model_ + "\" version " +
                    std::to_string(site.version) + " is broken until reloaded");
    }
  }

 private:
  const std::string model_, path_;
  std::atomic<bool> broken_{false};
};

}  // namespace

std::unique_ptr<FaultInjector> NewFaultInjector(const std::string& model, int64_t) {
  const std::string path = FaultFile();
  if (path.empty()) return nullptr;
  return std::make_unique<FileFaultInjector>(model, path);
}

std::vector<std::string> FaultInjectionFlags() { return {"fault-injection-file"}; }

void ConfigureFaultInjection(const std::map<std::string, std::string>& flag_values) {
  auto it = flag_values.find("fault-injection-file");
  std::lock_guard<std::mutex> lock(path_mutex);
  fault_file = it == flag_values.end() ? "" : it->second;
}

}  // namespace mms::runtime
