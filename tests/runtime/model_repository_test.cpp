// The model repository on a temporary folder: version policies, config.pbtxt, poll-mode
// changes under concurrent load (no request may fail while versions come and go), and
// explicit load/unload.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/error.h"
#include "runtime/clip_served_model.h"
#include "runtime/model_repository.h"
#include "test_support.h"

namespace mms::runtime {
namespace {

namespace fs = std::filesystem;

class ModelRepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("mms_repo_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // A version folder whose files are links to the demo checkpoint (nothing big is copied).
  void AddVersion(const std::string& model, int version) {
    const fs::path dir = root_ / model / std::to_string(version);
    fs::create_directories(dir);
    for (const auto& f : fs::directory_iterator(testing::TinyClipDir())) {
      fs::create_symlink(fs::absolute(f.path()), dir / f.path().filename());
    }
  }
  void WriteConfig(const std::string& model, const std::string& text) {
    std::ofstream(root_ / model / "config.pbtxt") << text;
  }
  std::unique_ptr<ModelRepository> Make(ControlMode mode, std::vector<std::string> startup = {}) {
    RepositoryOptions o;
    o.root = root_.string();
    o.control_mode = mode;
    o.poll_seconds = 3600;  // tests call Poll() themselves
    o.startup_models = std::move(startup);
    o.defaults.clip.threads = 1;
    return std::make_unique<ModelRepository>(o, logger_);
  }
  std::vector<int64_t> ReadyVersions(const ModelRepository& repo, const std::string& model) {
    std::vector<int64_t> v;
    for (const auto& s : repo.Index()) {
      if (s.name == model && s.state == ModelState::kReady) v.push_back(s.version);
    }
    return v;
  }

  fs::path root_;
  Logger logger_{LogLevel::kError};
};

TEST_F(ModelRepositoryTest, LatestVersionServedByDefault) {
  AddVersion("a", 1);
  AddVersion("a", 3);
  auto repo = Make(ControlMode::kNone);
  repo->Start();
  EXPECT_EQ(ReadyVersions(*repo, "a"), std::vector<int64_t>({3}));
  EXPECT_EQ(repo->Find("a")->version(), 3);
  EXPECT_THROW(repo->Find("a", 1), Error);
  EXPECT_THROW(repo->Find("missing"), Error);
  EXPECT_EQ(repo->DefaultModel(), "a");
}

TEST_F(ModelRepositoryTest, VersionPolicies) {
  AddVersion("all", 1);
  AddVersion("all", 2);
  WriteConfig("all", "version_policy: { all: {} }");
  AddVersion("spec", 1);
  AddVersion("spec", 2);
  AddVersion("spec", 3);
  WriteConfig("spec", "version_policy { specific { versions: [1, 3] } }");
  auto repo = Make(ControlMode::kNone);
  repo->Start();
  EXPECT_EQ(ReadyVersions(*repo, "all"), std::vector<int64_t>({1, 2}));
  EXPECT_EQ(ReadyVersions(*repo, "spec"), std::vector<int64_t>({1, 3}));
  EXPECT_EQ(repo->Find("spec")->version(), 3);
  EXPECT_EQ(repo->Find("spec", 1)->version(), 1);
}

TEST_F(ModelRepositoryTest, BadConfigMarksOnlyThatModelUnavailable) {
  AddVersion("good", 1);
  AddVersion("bad", 1);
  WriteConfig("bad", "max_batch_sise: 8\n");
  auto repo = Make(ControlMode::kNone);
  repo->Start();
  EXPECT_NO_THROW(repo->Find("good"));
  try {
    repo->Find("bad");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    EXPECT_NE(std::string(e.what()).find("max_batch_sise"), std::string::npos) << e.what();
  }
  bool listed = false;
  for (const auto& s : repo->Index()) {
    if (s.name == "bad") {
      listed = true;
      EXPECT_EQ(s.state, ModelState::kUnavailable);
      EXPECT_NE(s.reason.find("config.pbtxt:1:1"), std::string::npos) << s.reason;
    }
  }
  EXPECT_TRUE(listed);
  EXPECT_FALSE(repo->AllReady());
}

TEST_F(ModelRepositoryTest, BrokenVersionFolderIsUnavailableWithReason) {
  fs::create_directories(root_ / "m" / "1");
  fs::copy_file(fs::path(testing::TinyClipDir()) / "config.json", root_ / "m" / "1" / "config.json");
  auto repo = Make(ControlMode::kNone);
  repo->Start();
  const auto index = repo->Index();
  ASSERT_EQ(index.size(), 1u);
  EXPECT_EQ(index[0].state, ModelState::kUnavailable);
  EXPECT_NE(index[0].reason.find("model.safetensors"), std::string::npos) << index[0].reason;
}

TEST_F(ModelRepositoryTest, PollModeChangesUnderLoadFailNoRequest) {
  AddVersion("m", 1);
  auto repo = Make(ControlMode::kPoll);
  repo->Start();
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::string first_error;
  std::mutex error_mutex;
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      while (!stop) {
        try {
          auto model = repo->Find("m");  // the highest ready version at this moment
          const auto e = model->AsClip()->EmbedTexts({"a photo of a cat"});
          if (e.count == 1) ++ok;
        } catch (const std::exception& e) {
          ++failed;
          std::lock_guard<std::mutex> lock(error_mutex);
          if (first_error.empty()) first_error = e.what();
        }
      }
    });
  }
  auto wait_some = [&] {
    const int target = ok + 20;
    while (ok < target && failed == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  };
  wait_some();
  AddVersion("m", 2);  // a new version appears: loaded, then served
  repo->Poll();
  EXPECT_EQ(ReadyVersions(*repo, "m"), std::vector<int64_t>({2}));
  wait_some();
  WriteConfig("m", "max_batch_size: 4\ndynamic_batching { max_queue_delay_microseconds: 100 }\n");  // reload
  repo->Poll();
  EXPECT_EQ(repo->Find("m")->config().max_batch_size, 4);
  wait_some();
  fs::remove_all(root_ / "m" / "2");  // back to version 1
  repo->Poll();
  EXPECT_EQ(ReadyVersions(*repo, "m"), std::vector<int64_t>({1}));
  wait_some();
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed, 0) << first_error;
  EXPECT_GT(ok, 80);
}

TEST_F(ModelRepositoryTest, RemovedModelFolderIsUnloaded) {
  AddVersion("m", 1);
  AddVersion("n", 1);
  auto repo = Make(ControlMode::kPoll);
  repo->Start();
  auto held = repo->Find("n");  // a request in flight keeps its version alive
  fs::remove_all(root_ / "n");
  repo->Poll();
  EXPECT_THROW(repo->Find("n"), Error);
  EXPECT_EQ(held->AsClip()->EmbedTexts({"still served"}).count, 1);
}

TEST_F(ModelRepositoryTest, ExplicitLoadAndUnload) {
  AddVersion("a", 1);
  AddVersion("b", 1);
  auto repo = Make(ControlMode::kExplicit, {"a"});
  repo->Start();
  EXPECT_NO_THROW(repo->Find("a"));
  EXPECT_THROW(repo->Find("b"), Error);
  repo->Load("b");
  EXPECT_NO_THROW(repo->Find("b"));
  repo->Unload("a");
  EXPECT_THROW(repo->Find("a"), Error);
  EXPECT_TRUE(repo->AllReady());
  try {
    repo->Load("nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
  WriteConfig("a", "bogus_field: 1");
  try {
    repo->Load("a");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("bogus_field"), std::string::npos);
  }
}

TEST_F(ModelRepositoryTest, BrokenNewVersionLeavesThePreviousOneServing) {
  AddVersion("m", 1);
  auto repo = Make(ControlMode::kPoll);
  repo->Start();
  // Version 2 arrives without its weights: the latest policy wants it, it cannot load.
  fs::create_directories(root_ / "m" / "2");
  fs::copy_file(fs::path(testing::TinyClipDir()) / "config.json", root_ / "m" / "2" / "config.json");
  repo->Poll();
  EXPECT_EQ(repo->Find("m")->version(), 1);
  EXPECT_TRUE(repo->AllReady());
  bool v2_listed = false;
  for (const auto& s : repo->Index()) {
    if (s.version == 2) {
      v2_listed = true;
      EXPECT_EQ(s.state, ModelState::kUnavailable);
      EXPECT_NE(s.reason.find("model.safetensors"), std::string::npos) << s.reason;
    }
    if (s.version == 1) {
      EXPECT_NE(s.reason.find("previous"), std::string::npos) << s.reason;
    }
  }
  EXPECT_TRUE(v2_listed);
  // Once version 2 is complete it takes over and version 1 goes.
  fs::remove_all(root_ / "m" / "2");
  AddVersion("m", 2);
  repo->Poll();
  EXPECT_EQ(repo->Find("m")->version(), 2);
  EXPECT_EQ(ReadyVersions(*repo, "m"), std::vector<int64_t>({2}));
}

TEST_F(ModelRepositoryTest, BrokenConfigEditKeepsTheLoadedModelServing) {
  AddVersion("m", 1);
  WriteConfig("m", "max_batch_size: 8\n");
  auto repo = Make(ControlMode::kPoll);
  repo->Start();
  const auto before = repo->Find("m");
  WriteConfig("m", "max_batch_size: \"eight\"\n");
  repo->Poll();
  EXPECT_EQ(repo->Find("m"), before);  // the same loaded model, not a reload
  const auto index = repo->Index();
  ASSERT_EQ(index.size(), 1u);
  EXPECT_EQ(index[0].state, ModelState::kReady);
  EXPECT_NE(index[0].reason.find("max_batch_size"), std::string::npos) << index[0].reason;
  // Fixing the file reloads it.
  WriteConfig("m", "max_batch_size: 4\n");
  repo->Poll();
  EXPECT_NE(repo->Find("m"), before);
  EXPECT_EQ(repo->Index()[0].reason, "");
}

TEST_F(ModelRepositoryTest, LoadRefusedOutsideExplicitMode) {
  AddVersion("a", 1);
  auto repo = Make(ControlMode::kNone);
  repo->Start();
  EXPECT_THROW(repo->Load("a"), Error);
  EXPECT_THROW(repo->Unload("a"), Error);
}

}  // namespace
}  // namespace mms::runtime
