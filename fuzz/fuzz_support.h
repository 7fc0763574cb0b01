// What the harnesses share: the rule for what counts as a finding beyond what ASan and
// UBSan catch, and an in-memory file for the parsers that take a path.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <typeinfo>

#include "base/error.h"

namespace mms::fuzz {

[[noreturn]] inline void Finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "FUZZ FINDING in %s: %s\n", what, detail.c_str());
  std::abort();
}

// A parser of untrusted bytes may refuse them only with mms::Error of a client-facing
// category: the server answers that with a 4xx (or, for model files, a load failure
// naming the file). Any other exception reaches the client as a 500 with whatever the
// library put in its message, and kInternal is a 500 by definition: both are bugs.
template <typename Fn>
void ExpectCleanRefusal(const char* what, Fn&& fn) {
  try {
    fn();
  } catch (const mms::Error& e) {
    if (e.code() == ErrorCode::kInternal) Finding(what, std::string("kInternal: ") + e.what());
  } catch (const std::bad_alloc&) {
    // libFuzzer's -malloc_limit_mb reports over-large allocations itself, with the input.
    throw;
  } catch (const std::exception& e) {
    Finding(what, std::string("escaped ") + typeid(e).name() + ": " + e.what());
  }
}

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// An anonymous in-memory file reachable by path (/proc/self/fd/N), for the readers that
// open files (safetensors, config.json): no disk writes per input, nothing left behind.
class MemoryFile {
 public:
  MemoryFile() : fd_(::memfd_create("mms-fuzz", MFD_CLOEXEC)) {
    if (fd_ < 0) Finding("MemoryFile", "memfd_create failed");
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  ~MemoryFile() { ::close(fd_); }

  // Replaces the contents with `bytes`; returns the path to open.
  const std::string& Write(std::string_view bytes) {
    if (::ftruncate(fd_, 0) != 0) Finding("MemoryFile", "ftruncate failed");
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
      if (n <= 0) Finding("MemoryFile", "pwrite failed");
      done += static_cast<size_t>(n);
    }
    return path_;
  }

 private:
  int fd_;
  std::string path_;
};

}  // namespace mms::fuzz
