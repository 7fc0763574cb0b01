// Decodes an uploaded audio file (every container OpenAI's audio API accepts: flac, mp3,
// mp4 / m4a, mpeg / mpga, ogg / oga, wav, webm) into 16 kHz mono samples exactly as
// OpenAI's Whisper loads audio: down-mix and resample with libswresample's default
// filter, then quantise to int16 and divide by 32768.
//
// The bytes are hostile: they are read from memory only (a custom AVIOContext; no
// protocol, no file, no network), only allowlisted demuxers and decoders may open them,
// probing is capped, and duration and decoded samples are capped while decoding (a file
// that lies in its header cannot make it allocate or loop past the caps). Every failure
// is an Error(kInvalidArgument, kUnsupportedMedia or kTooLarge) that says what failed and
// lists the supported formats; nothing a file contains can crash or hang it. Measured on
// the reference files and every accepted container: the same samples as the ffmpeg CLI.
// Thread-safe: FFmpeg's logging is silenced once (call_once), nothing else is shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace mms::media {

struct AudioLimits {
  double max_duration_seconds = 4 * 3600.0;  // of decoded audio, after resampling
  size_t max_probe_bytes = 1 << 20;          // what format detection may read (at least 2 KiB)
  // Also bounds memory: 16 kHz mono float samples at most max_duration_seconds * 16000.
};

struct DecodedAudio {
  std::vector<float> samples;  // 16 kHz mono, int16 / 32768
  double duration_seconds = 0;  // samples.size() / 16000
  std::string container;        // FFmpeg's demuxer ("wav", "mp3", "ogg", "mov,mp4,m4a,3gp,3g2,mj2", ...)
  std::string codec;            // the decoder used ("pcm_s16le", "mp3float", "opus", ...)
  int source_sample_rate = 0;
  int source_channels = 0;
};

constexpr int kWhisperSampleRate = 16000;

// The file extensions the API accepts, for error messages and docs.
const std::vector<std::string>& SupportedAudioFormats();
// "flac, m4a, mp3, mp4, mpeg, mpga, oga, ogg, wav, webm"
std::string SupportedAudioFormatsText();

// Throws Error(kUnsupportedMedia) for a container or codec outside the allowlist,
// Error(kTooLarge) as soon as the decoded audio passes max_duration_seconds, and
// Error(kInvalidArgument) for a file that is empty, does not open, has no audio stream
// or decodes to no samples. Undecodable packets inside a file are skipped, as the CLI
// skips them.
DecodedAudio DecodeAudio(std::span<const uint8_t> bytes, const AudioLimits& limits = {});

}  // namespace mms::media
