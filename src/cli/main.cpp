// mmserve: serve multimodal models over HTTP, or run them from the command line.
#include <cstdio>
#include <cstring>
#include <string>

#include "base/error.h"
#include "cli/commands.h"

namespace {

const char kUsage[] =
    "usage: mmserve COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  serve     --model-repository DIR [--host H] [--port P] [--threads N] [--image-pipeline hf|openai]\n"
    "            [--default-model NAME] [--http-threads N] [--log-level L] [--log-format json|text]\n"
    "            [--precision fp32|bf16|int8] [--kv-cache-mb N] [--max-running-sequences N]\n"
    "            [--max-tokens-per-step N] [--max-waiting-sequences N] [--chat-template FILE]\n"
    "            (README lists every flag)\n"
    "  tokenize  --model DIR (--text T | --text-file F)...\n"
    "  embed     --model DIR [--image F]... [--text T]... [--text-file F]... [--image-pipeline hf|openai]\n"
    "            [--precision fp32|bf16|int8]\n"
    "  predict   --model DIR --image F --text T [--text T2]... [--image-pipeline hf|openai] [--precision P]\n"
    "  bench     --model DIR --encoder image|text [--batch N]... [--text short|77] [--min-time S] [--threads N]\n"
    "            [--precision fp32|bf16|int8]\n"
    "  quantize  --model DIR --out NEW_DIR [--precision int8]\n"
    "  pull      REPO_ID --model-repository DIR [--hf-endpoint URL] [--name NAME] [--version N]\n"
    "            [--revision REV] [--include PATTERN]... [--retries N]\n"
    "            (the hub's address from --hf-endpoint or HF_ENDPOINT; a token from HF_TOKEN)\n"
    "\n"
    "A model DIR is a Hugging Face checkpoint folder: CLIP (config.json, model.safetensors, vocab.json,\n"
    "merges.txt, preprocessor_config.json) for every command; LLaMA-family decoders (config.json,\n"
    "safetensors, tokenizer.json, tokenizer_config.json) are served by `serve`.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  try {
    if (command == "serve") return mms::cli::ServeCommand(argc, argv);
    if (command == "tokenize") return mms::cli::TokenizeCommand(argc, argv);
    if (command == "embed") return mms::cli::EmbedCommand(argc, argv);
    if (command == "predict") return mms::cli::PredictCommand(argc, argv);
    if (command == "bench") return mms::cli::BenchCommand(argc, argv);
    if (command == "quantize") return mms::cli::QuantizeCommand(argc, argv);
    if (command == "pull") return mms::cli::PullCommand(argc, argv);
    std::fprintf(stderr, "mmserve: unknown command \"%s\"\n\n%s", command.c_str(), kUsage);
    return 2;
  } catch (const mms::Error& e) {
    std::fprintf(stderr, "mmserve %s: error: %s\n", command.c_str(), e.what());
    return e.code() == mms::ErrorCode::kInvalidArgument ? 2 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mmserve %s: error: %s\n", command.c_str(), e.what());
    return 1;
  }
}
