// Shared helpers for the tests: where the test data lives and how to read it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mms::testing {

// Path of a file under the source tree, e.g. SourcePath("tests/data/clip-reference/golden.json").
std::string SourcePath(const std::string& relative);

// The tiny CLIP checkpoint that is both the demo model and the golden reference model.
std::string TinyClipDir();

// n normally distributed floats (mean 0, standard deviation `scale`), the same for a seed.
std::vector<float> Random(size_t n, unsigned seed, float scale = 1.0f);

// Max error relative to the magnitude of the reference, so large and small outputs are
// judged alike: the measure fast kernels are held to against reference ones.
double NormalizedMaxError(const std::vector<float>& got, const std::vector<float>& want);

// A loopback port nobody listens on right now.
int FreePort();

// golden.json of the CLIP reference data (outputs of OpenAI's CLIP code).
const nlohmann::json& ClipGolden();

// A float32 .npy array (C order) as a flat vector; shape is returned in *shape.
std::vector<float> LoadNpyFloat32(const std::string& path, std::vector<long>* shape = nullptr);

double CosineSimilarity(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace mms::testing
