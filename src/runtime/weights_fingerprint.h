// What a loaded model version's embeddings depend on besides its name and version: the
// bytes of the files it was loaded from. Part of every embedding cache key, so that
// replacing a version's files in place (an explicit reload, an object-store sync that
// reuses the version number) never serves embeddings of the old weights, from memory or
// from Redis.
//
// The fingerprint is a SHA-256 over every byte of the checkpoint files, not over sizes,
// times or a sample: a fine-tune or a patch of a few layers keeps sizes (and, copied with
// its times, mtimes) and may miss any sample, and a stale embedding is a wrong answer
// served silently. Cost: SHA-256 runs at about 1.5 GB/s per core here (`openssl speed
// -evp sha256`), so ~0.4 s for a 600 MB checkpoint, once per load, which also reads every
// byte to pack the weights. Models with caching off skip it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mms::runtime {

// The files that make up a checkpoint in `dir`: weights (*.safetensors), configs and
// tokenizer files (*.json, *.txt, *.model), sorted by name; symbolic links are followed.
std::vector<std::string> CheckpointFiles(const std::string& dir);

// SHA-256 (64 hex digits) over the names, sizes and contents of CheckpointFiles(dir).
// Throws Error(kInvalidModel) naming the file that cannot be read.
std::string FingerprintCheckpoint(const std::string& dir);

// Identity of each checkpoint file (name, size, modification time, inode), to check that
// the files hashed are the files loaded: taken before hashing and again after loading.
struct CheckpointFileState {
  std::string name;
  uint64_t size = 0, inode = 0;
  int64_t mtime_ns = 0;
  bool operator==(const CheckpointFileState&) const = default;
};
std::vector<CheckpointFileState> CheckpointState(const std::string& dir);

}  // namespace mms::runtime
