// safetensors files (8-byte header length, JSON header, tensor bytes) as a model file
// from a hub or a bucket would bring them. Beyond memory errors, a file that opens must
// describe exactly the bytes it holds: every tensor inside the file, and its size what
// its shape and dtype need, computed here without overflow.
#include "engine/tensor.h"
#include "fuzz_support.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mms::fuzz::MemoryFile file;
  const std::string& path = file.Write(mms::fuzz::AsText(data, size));
  mms::fuzz::ExpectCleanRefusal("SafetensorsFile::Open", [&] {
    const auto st = mms::io::SafetensorsFile::Open(path);
    for (const auto& [name, entry] : st->entries()) {
      uint64_t bytes = mms::DTypeSize(entry.dtype);
      for (const int64_t d : entry.shape) {
        if (d < 0) mms::fuzz::Finding("safetensors", "tensor \"" + name + "\" has a negative dimension");
        if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(d), &bytes)) {
          mms::fuzz::Finding("safetensors", "tensor \"" + name + "\" has a shape whose size overflows 64 bits");
        }
      }
      if (bytes != entry.size) mms::fuzz::Finding("safetensors", "tensor \"" + name + "\" size disagrees with its shape");
      if (entry.begin > size || entry.size > size - entry.begin) {
        mms::fuzz::Finding("safetensors", "tensor \"" + name + "\" lies outside the file");
      }
      const mms::Tensor view = st->View(name);
      if (static_cast<uint64_t>(view.nbytes()) != entry.size) mms::fuzz::Finding("safetensors", "view size differs");
    }
  });
  return 0;
}
