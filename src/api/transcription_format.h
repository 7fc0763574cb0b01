// OpenAI's audio API (/v1/audio/transcriptions and /v1/audio/translations) apart from HTTP:
// the multipart form read into a request, and a transcript written in each
// response_format (json, text, srt, vtt, verbose_json) or as server-sent events.
// Free of the server and the model so that every field and shape is unit-tested alone.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "api/multipart.h"
#include "speech/transcriber.h"

namespace mms::api::openai {

enum class TranscriptFormat { kJson, kText, kSrt, kVtt, kVerboseJson };

struct TranscriptionApiRequest {
  std::string model;
  std::string_view file;  // the uploaded file's bytes (a view into the request body)
  std::string filename;
  TranscriptFormat format = TranscriptFormat::kJson;
  bool stream = false;
  bool segment_timestamps = false;  // timestamp_granularities[] holds "segment"
  speech::TranscriptionOptions options;
};

// Reads the form. `translate`: the translations endpoint (task translate). Throws
// Error(kInvalidArgument) naming the field for a missing file or model, an unknown
// response_format, a value that does not parse or is out of range, word timestamps
// (not built) and stream with a format other than json or text; Error(kTooLarge) for a
// file over max_file_bytes.
// `defaults`: the model's decoding settings, which the form's fields override.
TranscriptionApiRequest ParseTranscriptionForm(const std::vector<MultipartPart>& parts, bool translate,
                                               size_t max_file_bytes, const speech::TranscriptionOptions& defaults = {});

struct TranscriptBody {
  std::string body;
  std::string content_type;
};
// `translate` names the task in verbose_json.
TranscriptBody FormatTranscript(const speech::Transcript& transcript, TranscriptFormat format, bool translate);

// Server-sent events as OpenAI sends them for its streaming transcription models.
std::string TranscriptDeltaEvent(std::string_view delta);
std::string TranscriptDoneEvent(const speech::Transcript& transcript);
std::string TranscriptErrorEvent(int http_status, const std::string& message);

// "00:01:02,345" (srt) or "00:01:02.345" (vtt).
std::string SubtitleTime(double seconds, char millis_separator);

}  // namespace mms::api::openai
