// Image URLs of chat requests (api::ImageSource::Fetch): any bytes as the URL, against two
// policies. One allows http(s) to a.test only, with a resolver that answers a private address
// for every name and private addresses refused: every http(s) URL must be refused before a
// connection, so the harness never opens one. The other reads file:// URLs from a scratch
// folder holding one image and a link out of it. Refusals must be mms::Error; what is
// returned must be within the byte cap, and a file's bytes only those of the file inside.
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/image_source.h"
#include "fuzz_support.h"

namespace {

constexpr size_t kMaxBytes = 4096;
const std::string kImage = std::string("\x89PNG\r\n\x1a\n", 8) + "fuzz image";

struct Sources {
  std::string folder;  // <scratch>/images: img.png and out.png -> ../secret.png
  std::unique_ptr<mms::api::ImageSource> remote, local;

  Sources() {
    char scratch[] = "/tmp/mms_fuzz_image_url_XXXXXX";
    if (!::mkdtemp(scratch)) mms::fuzz::Finding("image_url", "mkdtemp failed");
    const std::string root = scratch;
    folder = root + "/images";
    ::mkdir(folder.c_str(), 0700);
    std::ofstream(folder + "/img.png", std::ios::binary) << kImage;
    std::ofstream(root + "/secret.png", std::ios::binary) << "outside the folder";
    if (::symlink("../secret.png", (folder + "/out.png").c_str()) != 0) mms::fuzz::Finding("image_url", "symlink failed");

    mms::api::ImageSourcePolicy web;
    web.allowed_hosts = {"a.test"};
    web.max_bytes = kMaxBytes;
    web.timeout = std::chrono::milliseconds(1000);
    remote = std::make_unique<mms::api::ImageSource>(
        web, [](const std::string&) { return std::vector<std::string>{"10.0.0.1"}; });

    mms::api::ImageSourcePolicy files;
    files.local_folder = folder;
    files.max_bytes = kMaxBytes;
    local = std::make_unique<mms::api::ImageSource>(files, [](const std::string&) {
      mms::fuzz::Finding("image_url", "the file-only policy resolved a name");
      return std::vector<std::string>{};
    });
  }
  ~Sources() {
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::path(folder).parent_path(), ec);
  }
};

Sources& Get() {
  static Sources sources;
  return sources;
}

}  // namespace

// True for a URL that starts with "data:" in any case.
static bool IsDataUrl(std::string_view url) {
  if (url.size() < 5) return false;
  for (size_t i = 0; i < 5; ++i) {
    if (std::tolower(static_cast<unsigned char>(url[i])) != "data:"[i]) return false;
  }
  return true;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Sources& s = Get();
  const std::string_view url = mms::fuzz::AsText(data, size);
  mms::fuzz::ExpectCleanRefusal("ImageSource::Fetch (http policy)", [&] {
    const std::string bytes = s.remote->Fetch(url, "image");
    if (bytes.size() > kMaxBytes) mms::fuzz::Finding("ImageSource::Fetch", "image over the byte cap");
    // Every name resolves to a refused private address: only data URLs can succeed.
    if (!IsDataUrl(url)) mms::fuzz::Finding("ImageSource::Fetch", "accepted a URL that is not a data URL");
  });
  mms::fuzz::ExpectCleanRefusal("ImageSource::Fetch (file policy)", [&] {
    const std::string bytes = s.local->Fetch(url, "image");
    if (bytes.size() > kMaxBytes) mms::fuzz::Finding("ImageSource::Fetch", "image over the byte cap");
    if (!IsDataUrl(url) && bytes != kImage) mms::fuzz::Finding("ImageSource::Fetch", "read a file other than img.png");
  });
  return 0;
}
