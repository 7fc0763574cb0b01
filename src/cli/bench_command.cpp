// `mmserve bench`: encoder throughput on synthetic inputs, one JSON line per batch size,
// for bench/ scripts to set beside the peers' figures. The inputs go through the server's
// path (the tower's batcher and instance thread), past decoding and tokenizing.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "base/error.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/model_options.h"
#include "engine/op_profile.h"
#include "models/clip/clip_pipeline.h"

namespace mms::cli {

int BenchCommand(int argc, char** argv) {
  const Args args(argc, argv, 2, {"model", "encoder", "batch", "text", "min-time", "min-iters", "threads", "precision"},
                  {"profile"});
  // --profile: after each batch size, the time per op kind and per layer of its timed
  // runs (not the warm-up) goes to stderr.
  if (args.Has("profile")) profile::Enable();
  std::vector<int> batches;
  for (const auto& b : args.All("batch")) batches.push_back(std::stoi(b));
  if (batches.empty()) batches = {1, 8, 32};
  for (int b : batches) {
    if (b < 1) ThrowInvalidArgument("--batch must be positive");
  }
  // Loaded as the server loads it: each measured batch is one request through the tower's
  // batcher and instance thread, as a request of that many items would run.
  const auto served = LoadClipAsServed("bench", args.Required("model"), args, *std::max_element(batches.begin(), batches.end()));
  const models::ClipPipeline* pipeline = &served->pipeline();
  // The precision that ran, which is not the one asked for where the CPU lacks a kernel.
  const std::string precision = PrecisionName(pipeline->model().precision());
  const std::string encoder = args.Required("encoder");
  if (encoder != "image" && encoder != "text") ThrowInvalidArgument("--encoder must be image or text");
  const std::string text_kind = args.Get("text", "77");
  if (text_kind != "77" && text_kind != "short") ThrowInvalidArgument("--text must be short or 77");
  const double min_time = args.GetDouble("min-time", 3.0);
  const int min_iters = args.GetInt("min-iters", 5);
  std::mt19937 rng(0);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t max_positions = pipeline->model().config().text.max_positions;
  for (int batch : batches) {
    std::vector<std::vector<float>> pixels;
    std::vector<std::vector<int32_t>> ids;
    for (int i = 0; i < batch; ++i) {
      if (encoder == "image") {
        std::vector<float> p(pipeline->image_floats());
        for (auto& x : p) x = normal(rng);
        pixels.push_back(std::move(p));
      } else if (text_kind == "short") {
        ids.push_back(pipeline->Tokenize("a photo of a dog"));
      } else {  // a full context: random ids with end-of-text last
        std::vector<int32_t> s(max_positions);
        std::uniform_int_distribution<int32_t> id(1, pipeline->tokenizer().start_of_text_id() - 1);
        for (auto& t : s) t = id(rng);
        s.back() = pipeline->tokenizer().end_of_text_id();
        ids.push_back(std::move(s));
      }
    }
    auto run = [&] {
      if (encoder == "image") served->EncodePreprocessedImages(pixels);
      else served->EncodeTokenIds(ids);
    };
    run();  // warm-up: first-touch of buffers, oneDNN kernel generation
    run();
    profile::Reset();
    std::vector<double> times;
    const auto start = std::chrono::steady_clock::now();
    while (static_cast<int>(times.size()) < min_iters ||
           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < min_time) {
      const auto t0 = std::chrono::steady_clock::now();
      run();
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(times.begin(), times.end());
    const double median = times[times.size() / 2];
    nlohmann::json line = {{"engine", "mmserve"}, {"encoder", encoder}, {"precision", precision}, {"batch", batch},
                           {"iters", times.size()}, {"median_ms", median * 1e3}, {"best_ms", times.front() * 1e3},
                           {"items_per_s", batch / median}};
    if (encoder == "text") line["text"] = text_kind;
    std::printf("%s\n", line.dump().c_str());
    std::fflush(stdout);
    if (profile::Enabled()) {
      std::fprintf(stderr, "batch %d, %s, %s:\n%s", batch, encoder.c_str(), precision.c_str(), profile::Report().c_str());
      profile::Reset();
    }
  }
  return 0;
}

}  // namespace mms::cli
