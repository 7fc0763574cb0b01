#include "api/audio_routes.h"

#include <atomic>
#include <charconv>
#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "api/error_mapping.h"
#include "api/multipart.h"
#include "api/openai_codec.h"
#include "api/response_stream.h"
#include "api/transcription_format.h"
#include "base/base64.h"
#include "base/error.h"
#include "media/audio_decoder.h"
#include "runtime/speech_service.h"

namespace mms::api {

namespace {

using Clock = std::chrono::steady_clock;

// Streamed transcriptions run on a thread of their own (the route must return before the
// first event can be written); the routes' counter bounds how many run at once.
constexpr int kMaxStreamingTranscriptions = 64;

// Thrown from the segment callback to stop a streamed transcription whose client left.
struct ClientGone {};

struct DecodedUpload {
  media::DecodedAudio audio;
  double seconds = 0;
};

// The upload's bytes -> 16 kHz samples. Any file the decoder refuses is the client's
// fault (400 naming the supported formats), as OpenAI answers it.
DecodedUpload DecodeUpload(std::string_view file, const std::string& filename) {
  const auto start = Clock::now();
  DecodedUpload d;
  try {
    d.audio = media::DecodeAudio(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(file.data()), file.size()));
  } catch (const Error& e) {
    const std::string name = filename.empty() ? "the audio file" : "audio file \"" + filename.substr(0, 80) + "\"";
    if (e.code() == ErrorCode::kUnsupportedMedia || e.code() == ErrorCode::kInvalidArgument) {
      ThrowInvalidArgument(name + ": " + e.what());
    }
    throw;
  }
  d.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return d;
}

void SetLogFields(std::map<std::string, double>& fields, const speech::Transcript& t, double decode_seconds) {
  fields["audio_seconds"] = t.duration;
  fields["audio_windows"] = t.stats.windows;
  fields["audio_fallbacks"] = t.stats.fallbacks;
  fields["audio_decode_ms"] = decode_seconds * 1000;
  fields["mel_ms"] = t.stats.mel_seconds * 1000;
  fields["audio_encode_ms"] = t.stats.encode_seconds * 1000;
  fields["text_decode_ms"] = t.stats.decode_seconds * 1000;
}

void HandleTranscription(const HttpRequest& req, HttpResponse& res, RouteContext& ctx, RequestInfo& info,
                         bool translate, const std::shared_ptr<std::atomic<int>>& streaming) {
  const auto boundary = MultipartBoundary(req.HeaderOr("Content-Type"));
  if (!boundary) {
    ThrowInvalidArgument("expected a multipart/form-data body with a \"file\" (the audio) and a \"model\" field");
  }
  MultipartLimits limits;
  limits.max_parts = 32;
  const std::vector<MultipartPart> parts = ParseMultipart(req.body, *boundary, limits);
  // The model first: its settings are the defaults the form's fields override.
  const MultipartPart* model_part = FindPart(parts, "model");
  if (!model_part || model_part->content.empty()) ThrowInvalidArgument("form field \"model\" is missing");
  const auto found = FindModelFor(ctx, info, std::string(model_part->content));
  runtime::SpeechService& speech = RequireSpeech(*found);
  openai::TranscriptionApiRequest request =
      openai::ParseTranscriptionForm(parts, translate, ctx.limits.max_audio_bytes, speech.defaults());
  DecodedUpload upload = DecodeUpload(request.file, request.filename);

  if (!request.stream) {
    const speech::Transcript t = speech.Transcribe(upload.audio.samples, request.options, {}, upload.seconds);
    SetLogFields(info.log_fields, t, upload.seconds);
    const openai::TranscriptBody body = openai::FormatTranscript(t, request.format, translate);
    res.SetContent(body.body, body.content_type);
    return;
  }

  if (streaming->fetch_add(1) >= kMaxStreamingTranscriptions) {
    streaming->fetch_sub(1);
    throw Error(ErrorCode::kUnavailable, "too many streamed transcriptions at once; retry later or use stream=false");
  }
  auto stream = std::make_shared<ResponseStream>();
  res.stream = stream;
  res.content_type = "text/event-stream";
  // The thread holds the model (an unload waits for it) and the samples; the request's
  // body is not touched after this route returns.
  std::thread([found, &speech, stream, streaming, options = request.options, upload = std::move(upload)]() mutable {
    try {
      const auto on_segments = [&stream](std::span<const speech::TranscriptSegment> segments) {
        if (stream->client_gone().cancelled()) throw ClientGone();
        std::string delta;
        for (const auto& s : segments) delta += s.text;
        if (!delta.empty()) stream->Push(openai::TranscriptDeltaEvent(delta));
      };
      const speech::Transcript t = speech.Transcribe(upload.audio.samples, options, on_segments, upload.seconds);
      std::map<std::string, double> fields;
      SetLogFields(fields, t, upload.seconds);
      for (const auto& [k, v] : fields) stream->SetLogField(k, v);
      stream->Push(openai::TranscriptDoneEvent(t));
    } catch (const ClientGone&) {
      // nobody to tell: the remaining windows are not decoded
    } catch (const Error& e) {
      stream->Push(openai::TranscriptErrorEvent(HttpStatusFor(e.code()), e.what()));
    } catch (const std::exception& e) {
      stream->Push(openai::TranscriptErrorEvent(500, std::string("transcription failed: ") + e.what()));
    }
    stream->Close();
    streaming->fetch_sub(1);
  }).detach();
}

}  // namespace

void HandleKServeAudioInfer(const HttpRequest& req, HttpResponse& res, RouteContext& ctx, RequestInfo& info,
                            runtime::ServedModel& model) {
  runtime::SpeechService& speech = RequireSpeech(model);
  nlohmann::json body;
  size_t json_length = req.body.size();
  if (const auto h = req.Header("Inference-Header-Content-Length")) {
    size_t n = 0;
    const auto r = std::from_chars(h->data(), h->data() + h->size(), n);
    if (r.ec != std::errc() || r.ptr != h->data() + h->size() || n > req.body.size()) {
      ThrowInvalidArgument("Inference-Header-Content-Length is not a length within the body");
    }
    json_length = n;
  }
  body = nlohmann::json::parse(req.body.begin(), req.body.begin() + static_cast<std::ptrdiff_t>(json_length), nullptr,
                               false);
  if (body.is_discarded() || !body.is_object()) ThrowInvalidArgument("the request's JSON header is not a JSON object");
  const auto inputs = body.find("inputs");
  if (inputs == body.end() || !inputs->is_array() || inputs->size() != 1) {
    ThrowInvalidArgument("\"inputs\" must hold exactly one tensor, AUDIO (BYTES, shape [1]: the audio file)");
  }
  const nlohmann::json& in = (*inputs)[0];
  if (!in.is_object() || in.value("name", "") != "AUDIO") {
    ThrowInvalidArgument("unknown input; this model takes AUDIO (BYTES, shape [1]: the audio file)");
  }
  if (in.value("datatype", "") != "BYTES") ThrowInvalidArgument("input 'AUDIO' must have datatype BYTES");
  std::string file;
  const auto params = in.find("parameters");
  if (params != in.end() && params->is_object() && params->contains("binary_data_size")) {
    const auto& size = (*params)["binary_data_size"];
    if (!size.is_number_unsigned() || size.get<uint64_t>() != req.body.size() - json_length) {
      ThrowInvalidArgument("input 'AUDIO': binary_data_size must be the bytes after the JSON header");
    }
    // Triton's BYTES element: a 4-byte little-endian length, then the bytes.
    std::string_view raw(req.body.data() + json_length, req.body.size() - json_length);
    if (raw.size() >= 4) {
      const uint32_t n = static_cast<uint8_t>(raw[0]) | static_cast<uint8_t>(raw[1]) << 8 |
                         static_cast<uint8_t>(raw[2]) << 16 | static_cast<uint32_t>(static_cast<uint8_t>(raw[3])) << 24;
      if (n == raw.size() - 4) raw.remove_prefix(4);
    }
    file.assign(raw);
  } else {
    const auto data = in.find("data");
    if (data == in.end() || !data->is_array() || data->size() != 1 || !(*data)[0].is_string()) {
      ThrowInvalidArgument("input 'AUDIO' must hold one element: the audio file, base64-encoded in JSON");
    }
    std::string why;
    const auto decoded = Base64Decode((*data)[0].get_ref<const std::string&>(), &why);
    if (!decoded) ThrowInvalidArgument("input 'AUDIO' is not valid base64 (" + why + ")");
    file = std::move(*decoded);
  }
  if (file.size() > ctx.limits.max_audio_bytes) {
    throw Error(ErrorCode::kTooLarge, "input 'AUDIO' is " + std::to_string(file.size()) + " bytes; the limit is " +
                                          std::to_string(ctx.limits.max_audio_bytes));
  }
  speech::TranscriptionOptions options = speech.defaults();
  if (params != in.end() && params->is_object()) {
    if (const auto l = params->find("language"); l != params->end() && l->is_string()) options.language = *l;
    if (const auto t = params->find("task"); t != params->end() && t->is_string()) {
      if (*t != "transcribe" && *t != "translate") ThrowInvalidArgument("parameter task must be transcribe or translate");
      options.translate = *t == "translate";
    }
  }
  DecodedUpload upload = DecodeUpload(file, "");
  const speech::Transcript t = speech.Transcribe(upload.audio.samples, options, {}, upload.seconds);
  SetLogFields(info.log_fields, t, upload.seconds);
  nlohmann::json segments = nlohmann::json::parse(
      openai::FormatTranscript(t, openai::TranscriptFormat::kVerboseJson, options.translate).body)["segments"];
  nlohmann::json out = {
      {"model_name", model.name()},
      {"model_version", std::to_string(model.version())},
      {"outputs",
       {{{"name", "TEXT"}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {t.text}}},
        {{"name", "SEGMENTS"}, {"datatype", "BYTES"}, {"shape", {1}},
         {"data", {segments.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)}}}}}};
  if (body.contains("id") && body["id"].is_string()) out["id"] = body["id"];
  res.SetContent(out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

void RegisterAudioRoutes(Router& router, RouteContext& ctx) {
  auto streaming = std::make_shared<std::atomic<int>>(0);  // streamed transcriptions running now
  for (const bool translate : {false, true}) {
    Route& route = router.Add("POST", translate ? "/v1/audio/translations" : "/v1/audio/transcriptions",
                              [&ctx, translate, streaming](const HttpRequest& req, HttpResponse& res, RequestInfo& info) {
                                HandleTranscription(req, res, ctx, info, translate, streaming);
                              },
                              openai::ErrorBody);
    // The file plus the form's other fields.
    route.max_body_bytes = ctx.limits.max_audio_bytes + (1u << 20);
  }
}

}  // namespace mms::api
