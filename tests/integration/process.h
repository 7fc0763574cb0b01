// Running the real mmserve binary from tests: one-shot commands and a server process.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

namespace mms::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs MMS_BINARY with args, waits, and captures stdout and stderr.
CommandResult RunMmserve(const std::vector<std::string>& args);


// Which server binary a test runs: the production one, or mmserve-testing, the same
// program with the test builds' fault-injection hooks (src/runtime/fault_injection.h).
enum class ServerBinary { kProduction, kTesting };

// Starts `mmserve serve ...` on a free port and waits until /health answers.
class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> extra_args,
                         const std::string& repository = "",  // default: the demo repository
                         ServerBinary binary = ServerBinary::kProduction);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Everything the server wrote to stderr (its log) so far.
  std::string Log() const;
  // Sends a signal and waits for the exit status (-1 on timeout).
  int SignalAndWait(int sig, int timeout_ms = 20000);

 private:
  int port_ = 0;
  pid_t pid_ = -1;
  std::string log_path_;
};

}  // namespace mms::testing
