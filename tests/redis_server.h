// A real redis-server for the tests of the Redis cache level: started on a loopback port
// with no persistence, stopped by its PID when the object goes (and killed by the kernel
// if the test process dies first), restartable on the same port.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

namespace mms::testing {

class RedisServer {
 public:
  // The redis-server binary, or "" when it is not installed (scripts/setup.sh installs it).
  static std::string Binary() {
    std::vector<std::string> dirs;
    if (const char* path = std::getenv("PATH")) {
      std::string p = path;
      for (size_t start = 0; start <= p.size();) {
        const size_t end = std::min(p.find(':', start), p.size());
        dirs.push_back(p.substr(start, end - start));
        start = end + 1;
      }
    }
    dirs.insert(dirs.end(), {"/usr/bin", "/usr/sbin", "/usr/local/bin"});
    for (const auto& d : dirs) {
      const std::string candidate = (d.empty() ? "." : d) + "/redis-server";
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return "";
  }

  // Who may connect: with a password, `--requirepass` (the default user's password);
  // with an ACL user too, that user, allowed every key and command.
  struct Auth {
    std::string password;
    std::string acl_user;
    std::string acl_password;
  };

  RedisServer() : port_(FreePort()) {}
  explicit RedisServer(Auth auth) : port_(FreePort()), auth_(std::move(auth)) {}
  ~RedisServer() { Kill(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string Url(int db = 0) const { return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db); }

  // Starts it (on the same port as before, after a Kill) and waits until it answers PING.
  void Start() {
    if (pid_ > 0) return;
    const std::string binary = Binary();
    if (binary.empty()) throw std::runtime_error("redis-server is not installed");
    std::vector<std::string> args = {binary,       "--port",     std::to_string(port_), "--bind", "127.0.0.1",
                                     "--save",     "",           "--appendonly",        "no",     "--daemonize",
                                     "no",         "--loglevel", "warning",             "--protected-mode", "no"};
    if (!auth_.password.empty()) args.insert(args.end(), {"--requirepass", auth_.password});
    if (!auth_.acl_user.empty()) {
      args.insert(args.end(), {"--user", auth_.acl_user, "on", ">" + auth_.acl_password, "~*", "&*", "+@all"});
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      // Only async-signal-safe calls between fork and exec.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      const int null_fd = ::open("/dev/null", O_RDWR);
      if (null_fd >= 0) {
        ::dup2(null_fd, 0);
        ::dup2(null_fd, 1);
        ::dup2(null_fd, 2);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    pid_ = pid;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Ping()) return;
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("redis-server exited at start-up (port " + std::to_string(port_) + ")");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("redis-server did not answer PING within 20 s");
  }

  // SIGKILL, as a crash would; the data is gone (no persistence).
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);  // in case a test left it stopped
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // SIGSTOP / SIGCONT: a Redis that accepts connections but answers nothing (a slow one).
  void Pause() { ::kill(pid_, SIGSTOP); }
  void Resume() { ::kill(pid_, SIGCONT); }

  // Sends PING over a plain socket; true on "+PONG".
  bool Ping() const { return Command("PING\r\n").rfind("+PONG", 0) == 0; }

  // One inline command (e.g. "SET k v\r\n"); the raw reply, "" on any failure. With a
  // password the command is preceded by AUTH (as the default user), whose reply is dropped.
  std::string Command(const std::string& inline_command) const {
    if (auth_.password.empty()) return RawCommand(inline_command, 0);
    // A RESP array, so that any byte in the password goes through.
    const std::string auth = "*2\r\n$4\r\nAUTH\r\n$" + std::to_string(auth_.password.size()) + "\r\n" +
                             auth_.password + "\r\n";
    return RawCommand(auth + inline_command, 1);
  }

 private:
  // Sends `commands`; returns what came back after the first `skip_lines` reply lines.
  std::string RawCommand(const std::string& commands, int skip_lines) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return "";
    timeval tv{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    std::string reply;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        ::send(fd, commands.data(), commands.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(commands.size())) {
      char buf[4096];
      size_t skip_to = 0;
      for (int skipped = 0;;) {
        const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) break;
        reply.append(buf, static_cast<size_t>(n));
        while (skipped < skip_lines && reply.find("\r\n", skip_to) != std::string::npos) {
          skip_to = reply.find("\r\n", skip_to) + 2;
          ++skipped;
        }
        if (skipped == skip_lines && reply.size() > skip_to) break;
      }
      reply.erase(0, std::min(skip_to, reply.size()));
    }
    ::close(fd);
    return reply;
  }

  int port_;
  Auth auth_;
  pid_t pid_ = -1;
};

}  // namespace mms::testing
