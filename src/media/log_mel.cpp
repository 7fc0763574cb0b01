// Whisper's log-mel spectrogram (whisper/audio.py `log_mel_spectrogram`), computed in
// double: the reference is torch's float32 STFT, and double keeps this side's own error
// far below the 1e-4 the two are compared at.
//
// The 400-point real FFT of each frame is a 200-point complex FFT of the even/odd sample
// pairs (Stockham, radices 4·2·5·5, natural order out) and the usual split into the
// spectra of the even and odd samples; frames are independent and run in parallel.
#include "media/log_mel.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <limits>
#include <numbers>
#include <string>

#include "base/error.h"

namespace mms::media {

namespace {

using Complex = std::complex<double>;

constexpr int kBins = kWhisperFft / 2 + 1;  // 201
constexpr int kHalf = kWhisperFft / 2;      // 200: the complex FFT's size
constexpr int kPad = kWhisperFft / 2;       // centre padding on each side
constexpr int kSampleRate = 16000;
constexpr int kFramesPerBlock = 64;

// Slaney's mel scale as librosa computes it (htk=False): linear below 1 kHz, log above.
double HzToMel(double hz) {
  constexpr double f_sp = 200.0 / 3.0;
  constexpr double min_log_hz = 1000.0;
  constexpr double min_log_mel = min_log_hz / f_sp;
  const double logstep = std::log(6.4) / 27.0;
  return hz >= min_log_hz ? min_log_mel + std::log(hz / min_log_hz) / logstep : hz / f_sp;
}

double MelToHz(double mel) {
  constexpr double f_sp = 200.0 / 3.0;
  constexpr double min_log_hz = 1000.0;
  constexpr double min_log_mel = min_log_hz / f_sp;
  const double logstep = std::log(6.4) / 27.0;
  return mel >= min_log_mel ? min_log_hz * std::exp(logstep * (mel - min_log_mel)) : f_sp * mel;
}

// librosa.filters.mel(sr=16000, n_fft=400, n_mels, fmin=0, fmax=8000, htk=False,
// norm="slaney"): computed in float64 and returned as float32, as Whisper ships it.
std::vector<float> SlaneyMelFilters(int n_mels) {
  std::vector<double> mel_f(static_cast<size_t>(n_mels) + 2);
  const double mel_min = HzToMel(0.0);
  const double mel_max = HzToMel(kSampleRate / 2.0);
  for (int i = 0; i < n_mels + 2; ++i) {
    // np.linspace: start + i * step, the last point exact
    const double mel = i == n_mels + 1 ? mel_max : mel_min + i * ((mel_max - mel_min) / (n_mels + 1));
    mel_f[static_cast<size_t>(i)] = MelToHz(mel);
  }
  std::vector<float> weights(static_cast<size_t>(n_mels) * kBins);
  for (int m = 0; m < n_mels; ++m) {
    const double fdiff_lo = mel_f[m + 1] - mel_f[m];
    const double fdiff_hi = mel_f[m + 2] - mel_f[m + 1];
    const double enorm = 2.0 / (mel_f[m + 2] - mel_f[m]);
    for (int k = 0; k < kBins; ++k) {
      const double freq = k * (kSampleRate / 2.0) / (kBins - 1);  // np.fft.rfftfreq
      const double lower = -(mel_f[m] - freq) / fdiff_lo;
      const double upper = (mel_f[m + 2] - freq) / fdiff_hi;
      const double w = std::max(0.0, std::min(lower, upper));
      weights[static_cast<size_t>(m) * kBins + k] = static_cast<float>(w * enorm);
    }
  }
  return weights;
}

// A filter's non-zero run of bins, in double for the products.
struct SparseFilter {
  int first = 0;
  std::vector<double> weights;
};

// Forward DFT of 200 complex points (Stockham autosort, decimation in frequency).
class Fft200 {
 public:
  Fft200() {
    int n = kHalf;
    int stride = 1;
    for (int radix : kRadices) {
      const int m = n / radix;
      Stage stage{radix, m, stride, {}};
      stage.twiddles.resize(static_cast<size_t>(m) * radix);
      for (int p = 0; p < m; ++p) {
        for (int e = 0; e < radix; ++e) {
          const double angle = -2.0 * std::numbers::pi * p * e / n;
          stage.twiddles[static_cast<size_t>(p) * radix + e] = Complex(std::cos(angle), std::sin(angle));
        }
      }
      stages_.push_back(std::move(stage));
      n = m;
      stride *= radix;
    }
  }

  // x is transformed in place; work is scratch of the same size.
  void Forward(Complex* x, Complex* work) const {
    Complex* in = x;
    Complex* out = work;
    for (const Stage& stage : stages_) {
      switch (stage.radix) {
        case 2: Radix2(stage, in, out); break;
        case 4: Radix4(stage, in, out); break;
        default: Radix5(stage, in, out); break;
      }
      std::swap(in, out);
    }
    if (in != x) std::copy(in, in + kHalf, x);
  }

 private:
  static constexpr std::array<int, 4> kRadices = {4, 2, 5, 5};
  struct Stage {
    int radix;
    int m;       // the sub-transforms' length
    int stride;  // how many interleaved transforms of length radix * m
    std::vector<Complex> twiddles;
  };

  static void Radix2(const Stage& st, const Complex* x, Complex* y) {
    const int m = st.m, s = st.stride;
    for (int p = 0; p < m; ++p) {
      const Complex w1 = st.twiddles[static_cast<size_t>(p) * 2 + 1];
      for (int q = 0; q < s; ++q) {
        const Complex a = x[q + s * p], b = x[q + s * (p + m)];
        y[q + s * (2 * p)] = a + b;
        y[q + s * (2 * p + 1)] = (a - b) * w1;
      }
    }
  }

  static void Radix4(const Stage& st, const Complex* x, Complex* y) {
    const int m = st.m, s = st.stride;
    for (int p = 0; p < m; ++p) {
      const Complex* w = &st.twiddles[static_cast<size_t>(p) * 4];
      for (int q = 0; q < s; ++q) {
        const Complex a0 = x[q + s * p], a1 = x[q + s * (p + m)], a2 = x[q + s * (p + 2 * m)],
                      a3 = x[q + s * (p + 3 * m)];
        const Complex t0 = a0 + a2, t1 = a0 - a2, t2 = a1 + a3;
        const Complex t3 = Complex((a1 - a3).imag(), -(a1 - a3).real());  // -i (a1 - a3)
        y[q + s * (4 * p)] = t0 + t2;
        y[q + s * (4 * p + 1)] = (t1 + t3) * w[1];
        y[q + s * (4 * p + 2)] = (t0 - t2) * w[2];
        y[q + s * (4 * p + 3)] = (t1 - t3) * w[3];
      }
    }
  }

  static void Radix5(const Stage& st, const Complex* x, Complex* y) {
    const double c1 = std::cos(2 * std::numbers::pi / 5), c2 = std::cos(4 * std::numbers::pi / 5);
    const double s1 = std::sin(2 * std::numbers::pi / 5), s2 = std::sin(4 * std::numbers::pi / 5);
    const int m = st.m, s = st.stride;
    for (int p = 0; p < m; ++p) {
      const Complex* w = &st.twiddles[static_cast<size_t>(p) * 5];
      for (int q = 0; q < s; ++q) {
        const Complex a0 = x[q + s * p], a1 = x[q + s * (p + m)], a2 = x[q + s * (p + 2 * m)],
                      a3 = x[q + s * (p + 3 * m)], a4 = x[q + s * (p + 4 * m)];
        const Complex t1 = a1 + a4, t2 = a2 + a3, t3 = a1 - a4, t4 = a2 - a3;
        const Complex b1 = a0 + c1 * t1 + c2 * t2, b2 = a0 + c2 * t1 + c1 * t2;
        const Complex d1 = s1 * t3 + s2 * t4, d2 = s2 * t3 - s1 * t4;
        const Complex i_d1(-d1.imag(), d1.real()), i_d2(-d2.imag(), d2.real());  // i d
        y[q + s * (5 * p)] = a0 + t1 + t2;
        y[q + s * (5 * p + 1)] = (b1 - i_d1) * w[1];
        y[q + s * (5 * p + 2)] = (b2 - i_d2) * w[2];
        y[q + s * (5 * p + 3)] = (b2 + i_d2) * w[3];
        y[q + s * (5 * p + 4)] = (b1 + i_d1) * w[4];
      }
    }
  }

  std::vector<Stage> stages_;
};

// Everything that depends on the window size only, computed once.
struct StftTables {
  std::array<double, kWhisperFft> window{};  // periodic Hann
  std::array<Complex, kBins> split{};        // exp(-2 pi i k / 400)
  Fft200 fft;

  StftTables() {
    for (int n = 0; n < kWhisperFft; ++n) window[n] = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * n / kWhisperFft);
    for (int k = 0; k < kBins; ++k) {
      const double angle = -2.0 * std::numbers::pi * k / kWhisperFft;
      split[k] = Complex(std::cos(angle), std::sin(angle));
    }
  }

  // |X_k|^2 for k in [0, 200] of the windowed 400 samples.
  void Power(const float* frame, double* power) const {
    std::array<Complex, kHalf> z;
    std::array<Complex, kHalf> work;
    for (int n = 0; n < kHalf; ++n) {
      z[n] = Complex(window[2 * n] * frame[2 * n], window[2 * n + 1] * frame[2 * n + 1]);
    }
    fft.Forward(z.data(), work.data());
    for (int k = 0; k < kBins; ++k) {
      const Complex zk = z[k % kHalf];
      const Complex zc = std::conj(z[(kHalf - k) % kHalf]);
      const Complex even = 0.5 * (zk + zc);
      const Complex diff = 0.5 * (zk - zc);
      const Complex odd(diff.imag(), -diff.real());  // diff / i
      power[k] = std::norm(even + split[k] * odd);
    }
  }
};

const StftTables& Tables() {
  static const StftTables tables;
  return tables;
}

}  // namespace

LogMelSpectrogram::LogMelSpectrogram(int n_mels) : n_mels_(n_mels) {
  if (n_mels != 80 && n_mels != 128) {
    ThrowInvalidArgument("log-mel spectrogram: n_mels must be 80 or 128, got " + std::to_string(n_mels));
  }
  filters_ = SlaneyMelFilters(n_mels);
}

LogMelSpectrogram::Mel LogMelSpectrogram::Compute(std::span<const float> samples, int64_t pad_samples) const {
  if (pad_samples < 0) ThrowInvalidArgument("log-mel spectrogram: negative padding");
  const int64_t n = static_cast<int64_t>(samples.size());
  const int64_t length = n + pad_samples;  // the signal: samples, then zeros
  Mel mel;
  mel.frames = length / kWhisperHop;  // torch's 1 + length / hop frames, less the last
  if (mel.frames == 0) return mel;
  mel.values.assign(static_cast<size_t>(n_mels_) * static_cast<size_t>(mel.frames), 0.0f);

  std::vector<SparseFilter> filters(static_cast<size_t>(n_mels_));
  for (int m = 0; m < n_mels_; ++m) {
    const float* row = &filters_[static_cast<size_t>(m) * kBins];
    int first = 0, last = kBins;
    while (first < kBins && row[first] == 0.0f) ++first;
    while (last > first && row[last - 1] == 0.0f) --last;
    filters[m].first = first;
    filters[m].weights.assign(row + first, row + last);
  }

  // The centred frame t covers signal[t * 160 - 200, t * 160 + 200), reflected at both
  // ends of the signal (torch's pad_mode="reflect": index -i is i, length - 1 + i is
  // length - 1 - i). torch refuses a signal of 200 samples or fewer; here an index still
  // outside after one reflection reads 0, so short input gives a finite mel.
  auto sample_at = [&](int64_t i) -> float {
    if (i < 0) i = -i;
    if (i >= length) i = 2 * (length - 1) - i;
    if (i < 0 || i >= n) return 0.0f;
    return samples[static_cast<size_t>(i)];
  };

  const StftTables& tables = Tables();
  const int64_t frames = mel.frames;
  const int64_t blocks = (frames + kFramesPerBlock - 1) / kFramesPerBlock;
  const int n_mels = n_mels_;
  double global_max = -std::numeric_limits<double>::infinity();
#pragma omp parallel for schedule(static) reduction(max : global_max) if (frames > 4 * kFramesPerBlock)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t t0 = b * kFramesPerBlock;
    const int count = static_cast<int>(std::min<int64_t>(kFramesPerBlock, frames - t0));
    std::array<float, kWhisperFft> padded;
    std::array<double, kBins> power;
    std::vector<float> block(static_cast<size_t>(kFramesPerBlock) * n_mels);  // [frame][mel]
    for (int j = 0; j < count; ++j) {
      const int64_t start = (t0 + j) * kWhisperHop - kPad;
      const float* frame;
      if (start >= 0 && start + kWhisperFft <= n) {
        frame = samples.data() + start;
      } else {
        for (int i = 0; i < kWhisperFft; ++i) padded[i] = sample_at(start + i);
        frame = padded.data();
      }
      tables.Power(frame, power.data());
      for (int m = 0; m < n_mels; ++m) {
        const SparseFilter& f = filters[m];
        double sum = 0.0;
        for (size_t k = 0; k < f.weights.size(); ++k) sum += f.weights[k] * power[f.first + k];
        const double log_value = std::log10(std::max(sum, 1e-10));
        global_max = std::max(global_max, log_value);
        block[static_cast<size_t>(j) * n_mels + m] = static_cast<float>(log_value);
      }
    }
    for (int m = 0; m < n_mels; ++m) {
      float* row = &mel.values[static_cast<size_t>(m) * frames + t0];
      for (int j = 0; j < count; ++j) row[j] = block[static_cast<size_t>(j) * n_mels + m];
    }
  }

  // torch clamps and scales in float32: so does this.
  const float floor_value = static_cast<float>(static_cast<float>(global_max) - 8.0f);
  for (float& v : mel.values) v = (std::max(v, floor_value) + 4.0f) / 4.0f;
  return mel;
}

LogMelSpectrogram::Mel LogMelSpectrogram::ComputeWindow(std::span<const float> samples) const {
  const size_t kept = std::min<size_t>(samples.size(), kWhisperWindowSamples);
  return Compute(samples.first(kept), kWhisperWindowSamples - static_cast<int64_t>(kept));
}

std::vector<float> MelWindow(const LogMelSpectrogram::Mel& mel, int n_mels, int64_t first_frame) {
  if (n_mels <= 0 || mel.frames < 0 ||
      mel.values.size() != static_cast<size_t>(n_mels) * static_cast<size_t>(mel.frames)) {
    ThrowInvalidArgument("mel window: the mel is not " + std::to_string(n_mels) + " x " + std::to_string(mel.frames));
  }
  if (first_frame < 0) ThrowInvalidArgument("mel window: negative first frame " + std::to_string(first_frame));
  std::vector<float> window(static_cast<size_t>(n_mels) * kWhisperWindowFrames, 0.0f);
  const int64_t end = std::min<int64_t>(mel.frames, first_frame + kWhisperWindowFrames);
  if (first_frame >= end) return window;
  const int64_t count = end - first_frame;
  for (int m = 0; m < n_mels; ++m) {
    const float* src = &mel.values[static_cast<size_t>(m) * mel.frames + first_frame];
    std::copy(src, src + count, &window[static_cast<size_t>(m) * kWhisperWindowFrames]);
  }
  return window;
}

}  // namespace mms::media
