#include "process.h"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "test_support.h"

extern char** environ;

namespace mms::testing {

namespace {

std::string TempPath(const std::string& tag) {
  static int counter = 0;
  return "/tmp/mms_test_" + std::to_string(::getpid()) + "_" + tag + "_" + std::to_string(counter++);
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

pid_t Spawn(const std::vector<std::string>& args, const std::string& out_path, const std::string& err_path,
            const char* binary = MMS_BINARY) {
  std::vector<std::string> full = {binary};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid;
  const int rc = posix_spawn(&pid, binary, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + std::string(binary));
  return pid;
}

}  // namespace

CommandResult RunMmserve(const std::vector<std::string>& args) {
  const std::string out = TempPath("out"), err = TempPath("err");
  const pid_t pid = Spawn(args, out, err);
  int status = 0;
  waitpid(pid, &status, 0);
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = Slurp(out);
  r.err = Slurp(err);
  ::unlink(out.c_str());
  ::unlink(err.c_str());
  return r;
}

ServerProcess::ServerProcess(std::vector<std::string> extra_args, const std::string& repository,
                             ServerBinary binary) {
  port_ = FreePort();
  log_path_ = TempPath("server_log");
  std::vector<std::string> args = {"serve", "--model-repository",
                                   repository.empty() ? SourcePath("model_repository") : repository,
                                   "--host", "127.0.0.1", "--port", std::to_string(port_)};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  pid_ = Spawn(args, "/dev/null", log_path_, binary == ServerBinary::kTesting ? MMS_TESTING_BINARY : MMS_BINARY);
  // An HTTPS server does not answer the plain client: its log line says when it listens.
  const bool tls = std::find(args.begin(), args.end(), "--tls-cert") != args.end();
  httplib::Client client("127.0.0.1", port_);
  client.set_connection_timeout(0, 200000);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (tls ? Log().find("\"message\":\"listening\"") != std::string::npos : static_cast<bool>(client.Get("/health"))) return;
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("server exited during start-up; log:\n" + Log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("server did not answer /health within 60 s; log:\n" + Log());
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  ::unlink(log_path_.c_str());
}

std::string ServerProcess::Log() const { return Slurp(log_path_); }

int ServerProcess::SignalAndWait(int sig, int timeout_ms) {
  ::kill(pid_, sig);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

}  // namespace mms::testing
