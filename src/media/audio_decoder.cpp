// Audio uploads -> 16 kHz mono float, the way OpenAI's `load_audio` gets them from the
// ffmpeg CLI (`ffmpeg -i f -f s16le -ac 1 -acodec pcm_s16le -ar 16000 -`): the same
// demuxers and decoders, one libswresample context from the decoder's format straight to
// s16 mono 16 kHz with the library's defaults (what the CLI's auto-inserted aresample
// filter uses), decode errors skipped as the CLI skips them, and int16 / 32768 at the end.
#include "media/audio_decoder.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavformat/avio.h>
#include <libavutil/avstring.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
#include <libavutil/samplefmt.h>
#include <libswresample/swresample.h>
}

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <string>

#include "base/error.h"

namespace mms::media {

namespace {

// FFmpeg names. A demuxer's name may list several ("mov,mp4,m4a,3gp,3g2,mj2");
// av_match_list matches any of its names against any entry here.
constexpr const char* kDemuxers = "wav,mp3,flac,ogg,mov,matroska,mpeg";
// What avcodec_find_decoder picks for the codecs of those containers: FFmpeg's native
// decoders only (no libopus / libvorbis wrappers).
constexpr const char* kDecoders =
    "pcm_s16le,pcm_s24le,pcm_s32le,pcm_f32le,pcm_u8,pcm_mulaw,pcm_alaw,"
    "mp3float,mp3,mp2float,mp2,flac,vorbis,opus,aac";

// A bad packet is skipped, as the CLI skips it; this many packets in a row without a
// decoded sample means the file is garbage (or a demuxer is going round in circles).
constexpr int kMaxPacketsWithoutOutput = 4096;
constexpr int kAvioBufferSize = 32 * 1024;
constexpr int kMaxChannels = 64;             // libswresample's SWR_CH_MAX
constexpr int kMaxSourceRate = 1 << 20;      // 1 MHz; real files stop at 384 kHz

void SilenceFfmpegLogging() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_level(AV_LOG_QUIET); });
}

std::string AvErrorText(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof(text));
  return text;
}

[[noreturn]] void Refuse(const std::string& what) {
  ThrowInvalidArgument("audio file: " + what + "; supported formats: " + SupportedAudioFormatsText());
}

[[noreturn]] void RefuseUnsupported(const std::string& what) {
  ThrowUnsupportedMedia("audio file: " + what + "; supported formats: " + SupportedAudioFormatsText());
}

bool Allowed(const char* name, const char* list) { return name && av_match_list(name, list, ',') > 0; }

// The bytes as a read-only, seekable stream.
struct MemoryReader {
  const uint8_t* data = nullptr;
  int64_t size = 0;
  int64_t pos = 0;

  static int Read(void* opaque, uint8_t* buf, int buf_size) {
    auto* r = static_cast<MemoryReader*>(opaque);
    if (buf_size <= 0) return 0;
    const int64_t left = r->size - r->pos;
    if (left <= 0) return AVERROR_EOF;
    const int n = static_cast<int>(std::min<int64_t>(left, buf_size));
    std::memcpy(buf, r->data + r->pos, static_cast<size_t>(n));
    r->pos += n;
    return n;
  }

  static int64_t Seek(void* opaque, int64_t offset, int whence) {
    auto* r = static_cast<MemoryReader*>(opaque);
    whence &= ~AVSEEK_FORCE;
    if (whence == AVSEEK_SIZE) return r->size;
    int64_t base = 0;
    if (whence == SEEK_SET) {
      base = 0;
    } else if (whence == SEEK_CUR) {
      base = r->pos;
    } else if (whence == SEEK_END) {
      base = r->size;
    } else {
      return AVERROR(EINVAL);
    }
    // base is in [0, size]; checking the offset first keeps base + offset from overflowing.
    if (offset > r->size || offset < -r->size) return AVERROR(EINVAL);
    const int64_t target = base + offset;
    if (target < 0 || target > r->size) return AVERROR(EINVAL);
    r->pos = target;
    return target;
  }
};

// No demuxer may open another file or URL (HLS playlists, mov external references, ...).
int RefuseNestedOpen(AVFormatContext*, AVIOContext**, const char*, int, AVDictionary**) { return AVERROR(EPERM); }

struct AvioDeleter {
  void operator()(AVIOContext* pb) const {
    if (!pb) return;
    av_freep(&pb->buffer);
    avio_context_free(&pb);
  }
};
struct FormatDeleter {
  void operator()(AVFormatContext* f) const { avformat_close_input(&f); }
};
struct CodecDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwrDeleter {
  void operator()(SwrContext* s) const { swr_free(&s); }
};

// Decoded frames -> s16 mono 16 kHz -> float, with the output cap checked as it grows.
class Resampler {
 public:
  Resampler(std::vector<float>* out, int64_t max_samples, double max_seconds)
      : out_(out), max_samples_(max_samples), max_seconds_(max_seconds) {}
  ~Resampler() { av_channel_layout_uninit(&layout_); }

  void Push(const AVFrame& frame) {
    if (frame.nb_samples <= 0) return;
    const int channels = frame.ch_layout.nb_channels;
    if (channels <= 0 || channels > kMaxChannels) {
      Refuse("a decoded frame has " + std::to_string(channels) + " channels");
    }
    if (frame.sample_rate <= 0 || frame.sample_rate > kMaxSourceRate) {
      Refuse("a decoded frame has a sample rate of " + std::to_string(frame.sample_rate) + " Hz");
    }
    AVChannelLayout layout{};
    if (frame.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
      av_channel_layout_default(&layout, channels);  // what the CLI guesses, too
    } else if (av_channel_layout_copy(&layout, &frame.ch_layout) < 0) {
      Refuse("a decoded frame has an invalid channel layout");
    }
    // The CLI rebuilds its filter graph when the stream's parameters change (chained ogg,
    // mp3 with varying rates): the old resampler is flushed first.
    if (!swr_ || frame.format != format_ || frame.sample_rate != rate_ ||
        av_channel_layout_compare(&layout, &layout_) != 0) {
      Flush();
      Open(layout, static_cast<AVSampleFormat>(frame.format), frame.sample_rate);
    }
    av_channel_layout_uninit(&layout);
    Convert(const_cast<const uint8_t**>(frame.extended_data), frame.nb_samples);
  }

  void Flush() {
    if (swr_) Convert(nullptr, 0);
  }

 private:
  void Open(AVChannelLayout& layout, AVSampleFormat format, int rate) {
    swr_.reset();
    av_channel_layout_uninit(&layout_);
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;  // FFmpeg 5.1 takes the layouts non-const
    SwrContext* swr = nullptr;
    if (swr_alloc_set_opts2(&swr, &mono, AV_SAMPLE_FMT_S16, kWhisperSampleRate, &layout, format, rate, 0,
                            nullptr) < 0 ||
        !swr) {
      swr_free(&swr);
      Refuse("cannot convert its samples (format " + std::to_string(format) + ")");
    }
    swr_.reset(swr);
    const int ret = swr_init(swr_.get());
    if (ret < 0) Refuse("cannot resample " + std::to_string(rate) + " Hz audio: " + AvErrorText(ret));
    if (av_channel_layout_copy(&layout_, &layout) < 0) ThrowInternal("audio: out of memory");
    format_ = format;
    rate_ = rate;
  }

  // Converts `in` (or flushes the resampler's tail, when null) in steps that never hold
  // more than the cap allows: a frame claiming 1 Hz audio cannot make one call produce
  // gigabytes. Input that does not fit the output is buffered by libswresample and comes
  // out on the following calls: with a non-null, empty input mid-stream (a null one would
  // flush), and with null again when flushing.
  void Convert(const uint8_t** in, int in_samples) {
    const uint8_t* no_input[kMaxChannels] = {};
    while (true) {
      const int64_t room = max_samples_ - static_cast<int64_t>(out_->size());
      const int capacity = static_cast<int>(std::clamp<int64_t>(room + 1, 1, 1 << 16));
      if (buffer_.size() < static_cast<size_t>(capacity)) buffer_.resize(static_cast<size_t>(capacity));
      uint8_t* out_planes[1] = {reinterpret_cast<uint8_t*>(buffer_.data())};
      const int produced = swr_convert(swr_.get(), out_planes, capacity, in, in_samples);
      if (produced < 0) Refuse("resampling failed: " + AvErrorText(produced));
      if (produced > room) {
        throw Error(ErrorCode::kTooLarge,
                    "audio file: longer than the limit of " + FormatSeconds(max_seconds_) + " seconds");
      }
      const size_t at = out_->size();
      out_->resize(at + static_cast<size_t>(produced));
      float* dst = out_->data() + at;
      for (int i = 0; i < produced; ++i) dst[i] = static_cast<float>(buffer_[i]) / 32768.0f;
      if (produced < capacity) break;
      if (in) in = no_input;
      in_samples = 0;
    }
  }

  static std::string FormatSeconds(double seconds) {
    char text[32];
    std::snprintf(text, sizeof(text), "%g", seconds);
    return text;
  }

  std::vector<float>* out_;
  int64_t max_samples_;
  double max_seconds_;
  std::unique_ptr<SwrContext, SwrDeleter> swr_;
  AVChannelLayout layout_{};
  int format_ = -1;
  int rate_ = 0;
  std::vector<int16_t> buffer_;
};

}  // namespace

const std::vector<std::string>& SupportedAudioFormats() {
  static const std::vector<std::string> formats = {"flac", "m4a", "mp3", "mp4", "mpeg",
                                                   "mpga", "oga", "ogg", "wav", "webm"};
  return formats;
}

std::string SupportedAudioFormatsText() {
  std::string text;
  for (const std::string& format : SupportedAudioFormats()) {
    if (!text.empty()) text += ", ";
    text += format;
  }
  return text;
}

DecodedAudio DecodeAudio(std::span<const uint8_t> bytes, const AudioLimits& limits) {
  SilenceFfmpegLogging();
  if (bytes.empty()) Refuse("empty input");
  if (!(limits.max_duration_seconds > 0)) ThrowInvalidArgument("audio: max_duration_seconds must be positive");
  const double max_samples_d = std::floor(limits.max_duration_seconds * kWhisperSampleRate);
  const int64_t max_samples =
      max_samples_d >= 9.0e15 ? int64_t{9'000'000'000'000'000} : static_cast<int64_t>(max_samples_d);
  // av_probe_input_buffer2 refuses caps under its 2 KiB minimum.
  const int64_t probe_bytes = std::clamp<int64_t>(static_cast<int64_t>(std::min<size_t>(limits.max_probe_bytes, INT32_MAX)),
                                                  2048, INT32_MAX);

  MemoryReader reader{bytes.data(), static_cast<int64_t>(bytes.size()), 0};
  auto* avio_buffer = static_cast<uint8_t*>(av_malloc(kAvioBufferSize));
  if (!avio_buffer) ThrowInternal("audio: out of memory");
  std::unique_ptr<AVIOContext, AvioDeleter> pb(avio_alloc_context(avio_buffer, kAvioBufferSize, /*write_flag=*/0,
                                                                  &reader, &MemoryReader::Read, nullptr,
                                                                  &MemoryReader::Seek));
  if (!pb) {
    av_free(avio_buffer);
    ThrowInternal("audio: out of memory");
  }

  // Detect the container first so that a known but refused one is told apart from garbage.
  const AVInputFormat* detected = nullptr;
  int ret = av_probe_input_buffer2(pb.get(), &detected, "", nullptr, 0, static_cast<unsigned>(probe_bytes));
  if (ret < 0 || !detected) Refuse("not a recognized audio file (" + AvErrorText(ret) + ")");
  if (!Allowed(detected->name, kDemuxers)) RefuseUnsupported("the " + std::string(detected->name) + " format is not supported");

  AVFormatContext* raw_format = avformat_alloc_context();
  if (!raw_format) ThrowInternal("audio: out of memory");
  raw_format->pb = pb.get();
  raw_format->flags |= AVFMT_FLAG_CUSTOM_IO;
  raw_format->io_open = &RefuseNestedOpen;
  raw_format->probesize = probe_bytes;
  raw_format->format_probesize = static_cast<int>(probe_bytes);
  raw_format->max_analyze_duration = 5 * int64_t{AV_TIME_BASE};  // the CLI's default
  raw_format->max_streams = 64;
  raw_format->format_whitelist = av_strdup(kDemuxers);
  raw_format->codec_whitelist = av_strdup(kDecoders);
  raw_format->protocol_whitelist = av_strdup("");
  if (!raw_format->format_whitelist || !raw_format->codec_whitelist || !raw_format->protocol_whitelist) {
    avformat_free_context(raw_format);
    ThrowInternal("audio: out of memory");
  }
  // On failure avformat_open_input frees the context (but never a custom pb).
  ret = avformat_open_input(&raw_format, "", detected, nullptr);
  if (ret < 0) Refuse("cannot open the " + std::string(detected->name) + " file: " + AvErrorText(ret));
  std::unique_ptr<AVFormatContext, FormatDeleter> format(raw_format);

  // As the CLI: a failure here is fatal only if it left no stream to look at.
  ret = avformat_find_stream_info(format.get(), nullptr);
  if (ret < 0 && format->nb_streams == 0) Refuse("cannot read the streams: " + AvErrorText(ret));

  const int stream_index = av_find_best_stream(format.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  if (stream_index < 0) Refuse("no audio stream found");
  for (unsigned i = 0; i < format->nb_streams; ++i) {
    if (static_cast<int>(i) != stream_index) format->streams[i]->discard = AVDISCARD_ALL;
  }
  const AVCodecParameters* params = format->streams[stream_index]->codecpar;
  const AVCodec* codec = avcodec_find_decoder(params->codec_id);
  if (!codec) RefuseUnsupported("its audio codec (" + std::string(avcodec_get_name(params->codec_id)) + ") is not supported");
  if (!Allowed(codec->name, kDecoders)) RefuseUnsupported("the " + std::string(codec->name) + " audio codec is not supported");

  std::unique_ptr<AVCodecContext, CodecDeleter> decoder(avcodec_alloc_context3(codec));
  if (!decoder) ThrowInternal("audio: out of memory");
  ret = avcodec_parameters_to_context(decoder.get(), params);
  if (ret < 0) Refuse("invalid codec parameters: " + AvErrorText(ret));
  decoder->pkt_timebase = format->streams[stream_index]->time_base;
  decoder->thread_count = 1;  // requests decode in parallel already
  decoder->codec_whitelist = av_strdup(kDecoders);
  ret = avcodec_open2(decoder.get(), codec, nullptr);
  if (ret < 0) Refuse("cannot open the " + std::string(codec->name) + " decoder: " + AvErrorText(ret));

  DecodedAudio audio;
  audio.container = detected->name;
  audio.codec = codec->name;
  audio.source_sample_rate = params->sample_rate;
  audio.source_channels = params->ch_layout.nb_channels;

  // Room for the duration the container states, within the cap: saves the copies of
  // a growing vector. A header that lies costs address space up to the cap, no more
  // (reserved pages are not touched until samples arrive).
  if (format->duration > 0 && format->duration != AV_NOPTS_VALUE) {
    const double stated = static_cast<double>(format->duration) / AV_TIME_BASE * kWhisperSampleRate;
    audio.samples.reserve(static_cast<size_t>(std::min(stated * 1.01 + kWhisperSampleRate,
                                                       static_cast<double>(max_samples) + 1)));
  }

  std::unique_ptr<AVPacket, PacketDeleter> packet(av_packet_alloc());
  std::unique_ptr<AVFrame, FrameDeleter> frame(av_frame_alloc());
  if (!packet || !frame) ThrowInternal("audio: out of memory");
  Resampler resampler(&audio.samples, max_samples, limits.max_duration_seconds);

  int without_output = 0;
  bool first_frame = true;
  // Receives every frame the decoder has ready; returns whether any came out.
  auto drain = [&]() {
    bool any = false;
    while (true) {
      const int r = avcodec_receive_frame(decoder.get(), frame.get());
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) break;
      if (r < 0) break;  // a corrupt frame: skipped, as the CLI does
      if (first_frame && frame->sample_rate > 0) {
        audio.source_sample_rate = frame->sample_rate;
        audio.source_channels = frame->ch_layout.nb_channels;
        first_frame = false;
      }
      if (frame->nb_samples > 0) any = true;
      resampler.Push(*frame);
      av_frame_unref(frame.get());
    }
    return any;
  };

  while (true) {
    ret = av_read_frame(format.get(), packet.get());
    if (ret == AVERROR(EAGAIN)) {
      if (++without_output > kMaxPacketsWithoutOutput) Refuse("the demuxer makes no progress");
      continue;
    }
    if (ret < 0) break;  // end of file, or a read error the CLI also treats as the end
    bool any = false;
    if (packet->stream_index == stream_index) {
      // A refused packet (corrupt data) is skipped, as the CLI skips it.
      if (avcodec_send_packet(decoder.get(), packet.get()) == AVERROR(EAGAIN)) {
        any = drain();
        avcodec_send_packet(decoder.get(), packet.get());
      }
      any = drain() || any;
    }
    av_packet_unref(packet.get());
    without_output = any ? 0 : without_output + 1;
    if (without_output > kMaxPacketsWithoutOutput) {
      Refuse(audio.samples.empty() ? "no audio could be decoded" : "the audio stream stopped decoding");
    }
  }
  if (avcodec_send_packet(decoder.get(), nullptr) >= 0) drain();
  resampler.Flush();

  if (audio.samples.empty()) Refuse("no audio could be decoded");
  audio.duration_seconds = static_cast<double>(audio.samples.size()) / kWhisperSampleRate;
  return audio;
}

}  // namespace mms::media
