#!/usr/bin/env bash
# Regenerates tests/data/audio/: utt1.wav of the Whisper reference (16 kHz mono s16, 4.4 s)
# in every container the audio API accepts, plus the refusals the decoder tests need.
# Needs the ffmpeg CLI (Debian 12: FFmpeg 5.1; the files are reproducible with it).
# load_audio_samples.json and *.load_audio.s16 record what OpenAI's load_audio (the CLI)
# decodes from them, for the tests to compare with.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=tests/data/whisper-reference/audio/utt1.wav
out=tests/data/audio
mkdir -p "$out"
ff() { ffmpeg -hide_banner -loglevel error -nostdin -y "$@"; }
# Reproducible files: no encoder version or creation time in the metadata.
meta=(-map_metadata -1 -fflags +bitexact -flags:a +bitexact)

# Accepted: one file per container and codec.
ff -i "$src" "${meta[@]}" -c:a flac "$out/utt1.flac"
ff -i "$src" "${meta[@]}" -c:a libmp3lame -b:a 32k "$out/utt1.mp3"
ff -i "$src" "${meta[@]}" -c:a libvorbis -q:a 0 "$out/utt1.ogg"
ff -i "$src" "${meta[@]}" -c:a libopus -b:a 24k "$out/utt1.opus.oga"
ff -i "$src" "${meta[@]}" -c:a aac -b:a 32k "$out/utt1.m4a"
ff -i "$src" "${meta[@]}" -c:a libopus -b:a 24k "$out/utt1.webm"
ff -i "$src" "${meta[@]}" -c:a mp2 -b:a 64k -f mpeg "$out/utt1.mpeg"
# 44.1 kHz stereo float wav: another sample format and a down-mix.
ff -i tests/data/whisper-reference/audio/stereo44k.wav "${meta[@]}" -t 0.25 -c:a pcm_f32le "$out/stereo44k_f32.wav"
# An mp4 with a video track before the audio track: the audio stream is picked.
ff -f lavfi -i "color=c=gray:s=32x32:r=5:d=4.4" -i "$src" "${meta[@]}" -map 0:v -map 1:a \
   -c:v mpeg4 -q:v 31 -c:a aac -b:a 24k "$out/utt1_with_video.mp4"
# Five minutes of digital silence (tiny as FLAC): the duration cap.
ff -f lavfi -i "anullsrc=r=16000:cl=mono" -t 300 "${meta[@]}" -c:a flac -sample_fmt s16 "$out/silence300.flac"

# Refused: a container outside the allowlist, a codec outside it in an allowed
# container, and a file without audio.
ff -i "$src" "${meta[@]}" -t 0.5 -c:a pcm_s16be "$out/utt1.aiff"
ff -i "$src" "${meta[@]}" -t 0.5 -c:a alac "$out/utt1_alac.m4a"
ff -f lavfi -i "color=c=gray:s=32x32:r=5:d=1" "${meta[@]}" -c:v mpeg4 -q:v 31 "$out/video_only.mp4"
# What OpenAI's load_audio (the ffmpeg CLI) makes of the accepted files: the sample
# counts, and for two lossy files the samples (int16 LE) themselves.
cli() { ffmpeg -nostdin -loglevel error -i "$1" -f s16le -ac 1 -acodec pcm_s16le -ar 16000 -; }
cli "$out/utt1.mp3" >"$out/utt1.mp3.load_audio.s16"
cli "$out/utt1.m4a" >"$out/utt1.m4a.load_audio.s16"
{
  echo "{"
  sep=""
  for f in utt1.flac utt1.mp3 utt1.ogg utt1.opus.oga utt1.m4a utt1.webm utt1.mpeg utt1_with_video.mp4 stereo44k_f32.wav silence300.flac; do
    printf '%s "%s": %d' "$sep" "$f" $(( $(cli "$out/$f" | wc -c) / 2 ))
    sep=$',\n'
  done
  printf '\n}\n'
} >"$out/load_audio_samples.json"
# The fuzz harness's seeds (fuzz/corpus/audio_decoder): a tenth of a second in each
# accepted container, and one refused file.
seeds=fuzz/corpus/audio_decoder
mkdir -p "$seeds"
short=(-i "$src" -ss 1.0 -t 0.1 "${meta[@]}")
ff "${short[@]}" -c:a pcm_s16le "$seeds/seed.wav"
ff "${short[@]}" -ac 2 -ar 8000 -c:a pcm_u8 "$seeds/seed_u8_stereo.wav"
ff "${short[@]}" -c:a flac "$seeds/seed.flac"
ff "${short[@]}" -c:a libmp3lame -b:a 32k "$seeds/seed.mp3"
ff "${short[@]}" -c:a libvorbis -q:a 0 "$seeds/seed.ogg"
ff "${short[@]}" -c:a libopus -b:a 16k "$seeds/seed.opus.oga"
ff "${short[@]}" -c:a aac -b:a 16k "$seeds/seed.m4a"
ff "${short[@]}" -c:a libopus -b:a 16k "$seeds/seed.webm"
ff "${short[@]}" -c:a mp2 -b:a 32k -f mpeg "$seeds/seed.mpeg"
ff "${short[@]}" -c:a pcm_s16be "$seeds/refused.aiff"
ls -l "$seeds"

ls -l "$out"
du -sh "$out"
