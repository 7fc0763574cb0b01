// tokenize, embed and predict: run a checkpoint folder without a server, through the same
// serving path (ClipServedModel: batchers, instances) as the server's routes.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/file_util.h"
#include "base/float_json.h"
#include "api/predict_response.h"
#include "base/error.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/model_options.h"
#include "models/clip/clip_pipeline.h"

namespace mms::cli {

namespace {

void PrintLine(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fputc('\n', stdout);
}

void AppendEmbeddings(std::string& out, const models::Embeddings& e) {
  out += '[';
  for (int64_t i = 0; i < e.count; ++i) {
    if (i) out += ',';
    AppendFloatArrayJson(out, e.row(i), e.dim);
  }
  out += ']';
}

}  // namespace

int TokenizeCommand(int argc, char** argv) {
  const Args args(argc, argv, 2, {"model", "text", "text-file"});
  const auto tokenizer = text::ClipTokenizer::FromDirectory(args.Required("model"));
  bool any = false;
  for (const auto& [flag, value] : args.ordered()) {
    if (flag != "text" && flag != "text-file") continue;
    any = true;
    // --text-file passes the file's bytes as they are (NULs and newlines included).
    const std::string text = flag == "text" ? value : ReadFileBytes(value);
    PrintLine(nlohmann::json(tokenizer.Encode(text)).dump());
  }
  if (!any) ThrowInvalidArgument("give at least one --text or --text-file");
  return 0;
}

int EmbedCommand(int argc, char** argv) {
  const Args args(argc, argv, 2, {"model", "image", "text", "text-file", "image-pipeline", "threads", "precision"});
  std::vector<std::string> image_bytes, texts;
  for (const auto& [flag, value] : args.ordered()) {
    if (flag == "image") image_bytes.push_back(ReadFileBytes(value));
    if (flag == "text") texts.push_back(value);
    if (flag == "text-file") texts.push_back(ReadFileBytes(value));
  }
  if (image_bytes.empty() && texts.empty()) ThrowInvalidArgument("give at least one --image, --text or --text-file");
  const int largest = static_cast<int>(std::max(image_bytes.size(), texts.size()));
  const auto model = LoadClipAsServed("embed", args.Required("model"), args, std::clamp(largest, 1, 32));
  const std::vector<std::string_view> views(image_bytes.begin(), image_bytes.end());
  std::string out = "{\"image_embeds\":";
  if (views.empty()) out += "[]"; else AppendEmbeddings(out, model->EmbedImages(views));
  out += ",\"text_embeds\":";
  if (texts.empty()) out += "[]"; else AppendEmbeddings(out, model->EmbedTexts(texts));
  out += '}';
  PrintLine(out);
  return 0;
}

int PredictCommand(int argc, char** argv) {
  const Args args(argc, argv, 2, {"model", "image", "text", "image-pipeline", "threads", "precision"});
  const std::string image = ReadFileBytes(args.Required("image"));
  const auto texts = args.All("text");
  if (texts.empty()) ThrowInvalidArgument("give at least one --text");
  const auto model = LoadClipAsServed("predict", args.Required("model"), args);
  PrintLine(api::PredictResponseJson(model->Classify(image, texts)));
  return 0;
}

}  // namespace mms::cli
