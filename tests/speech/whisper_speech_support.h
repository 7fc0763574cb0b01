// The reference Whisper (tests/data/whisper-reference/model) served as the server serves
// it: the model, a generation engine and a SpeechService over them. Loaded once per test
// executable.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "generation/generation_engine.h"
#include "models/speech_encoder.h"
#include "models/whisper/whisper_model.h"
#include "runtime/speech_service.h"
#include "speech/whisper_vocabulary.h"
#include "test_support.h"
#include "text/hf_tokenizer.h"

namespace mms::speech {

inline std::string WhisperData(const std::string& rel) {
  return mms::testing::SourcePath("tests/data/whisper-reference/" + rel);
}

struct ServedWhisper {
  std::unique_ptr<models::WhisperModel> model;
  std::unique_ptr<generation::GenerationEngine> engine;
  text::HfTokenizer tokenizer;
  std::shared_ptr<const WhisperVocabulary> vocabulary;
  std::unique_ptr<runtime::SpeechService> service;

  explicit ServedWhisper(const std::string& dir)
      : model(models::WhisperModel::Load(dir)), tokenizer(text::HfTokenizer::Load(dir + "/tokenizer.json")) {
    engine = std::make_unique<generation::GenerationEngine>(*model, generation::EngineConfig{});
    vocabulary = std::make_shared<const WhisperVocabulary>(WhisperVocabulary::Load(dir, tokenizer, model->vocab_size()));
    runtime::BatcherConfig batcher;
    batcher.max_batch_size = 4;
    batcher.max_queue_delay = std::chrono::microseconds(1000);
    generation::GenerationEngine* e = engine.get();
    service = std::make_unique<runtime::SpeechService>(
        "test", *model->speech_encoder(), vocabulary, tokenizer, model->context_length(), batcher, TranscriptionOptions{},
        [e](generation::GenerationRequest r, std::shared_ptr<generation::TokenSink> s) { return e->Submit(std::move(r), std::move(s)); },
        [e](uint64_t id) { e->Cancel(id); });
  }
  ~ServedWhisper() {
    service.reset();  // before the engine its decodings run on
    engine.reset();
  }
};

inline ServedWhisper& Reference() {
  static ServedWhisper served(WhisperData("model"));
  return served;
}

}  // namespace mms::speech
