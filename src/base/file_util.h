#pragma once

#include <string>

namespace mms {

// Reads a whole file as bytes; throws Error(kNotFound) naming the path when it cannot.
std::string ReadFileBytes(const std::string& path);

bool FileExists(const std::string& path);

}  // namespace mms
