// bf16 and int8 CLIP against the fp32 golden reference (OpenAI's CLIP code on the demo
// checkpoint): embeddings of every golden image and text by cosine, and the zero-shot
// top-1 label of every golden image. Prints the minimum cosines it found, so a change in
// the kernels shows up as a number and not only as a pass or a fail.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "engine/ops/packed_matmul.h"
#include "models/clip/clip_model.h"
#include "models/clip/clip_scoring.h"
#include "test_support.h"

namespace mms::models {
namespace {

using testing::ClipGolden;
using testing::CosineSimilarity;

std::string NpyName(const std::string& file) {  // "images/chelsea.png" -> "chelsea_png.npy"
  std::string base = file.substr(file.rfind('/') + 1);
  base[base.rfind('.')] = '_';
  return base + ".npy";
}

struct Quality {
  double min_image_cosine = 1.0, min_text_cosine = 1.0;
  std::string worst_image, worst_text;
  int images = 0, texts = 0, top1_agree = 0;
};

Quality Measure(const ClipModel& model) {
  const auto& golden = ClipGolden();
  const int64_t dim = model.embed_dim();
  Workspace ws;
  Quality q;

  std::vector<std::vector<int32_t>> ids;
  for (const auto& t : golden["texts"]) ids.push_back(t["ids"].get<std::vector<int32_t>>());
  std::vector<float> text_embeds(ids.size() * dim);
  model.EncodeTexts(ids, text_embeds.data(), ws);
  size_t i = 0;
  for (const auto& t : golden["texts"]) {
    const std::vector<float> got(text_embeds.begin() + i * dim, text_embeds.begin() + (i + 1) * dim);
    const double c = CosineSimilarity(got, t["embedding"].get<std::vector<float>>());
    if (c < q.min_text_cosine) {
      q.min_text_cosine = c;
      q.worst_text = t["name"];
    }
    ++q.texts;
    ++i;
  }

  // The labels' embeddings come from this model, as a served zero-shot request would.
  std::vector<std::vector<int32_t>> label_ids;
  for (const auto& label : golden["labels"]) {
    for (const auto& t : golden["texts"]) {
      if (t["text"] == label) label_ids.push_back(t["ids"].get<std::vector<int32_t>>());
    }
  }
  EXPECT_EQ(label_ids.size(), golden["labels"].size()) << "every label is among the golden texts";
  std::vector<float> label_embeds(label_ids.size() * dim);
  model.EncodeTexts(label_ids, label_embeds.data(), ws);

  for (const auto& image : golden["images"]) {
    const auto pixels =
        testing::LoadNpyFloat32(testing::SourcePath("tests/data/clip-reference/pixels_hf/" + NpyName(image["file"])));
    std::vector<float> embed(dim);
    model.EncodeImages(pixels.data(), 1, embed.data(), ws);
    const double c = CosineSimilarity(embed, image["hf"]["embedding"].get<std::vector<float>>());
    if (c < q.min_image_cosine) {
      q.min_image_cosine = c;
      q.worst_image = image["file"];
    }
    const auto probs = Softmax(ClipLogits(embed.data(), label_embeds.data(), label_ids.size(), dim, model.logit_scale()));
    const auto want = image["hf"]["probs"].get<std::vector<float>>();
    const auto top = std::max_element(probs.begin(), probs.end()) - probs.begin();
    const auto want_top = std::max_element(want.begin(), want.end()) - want.begin();
    q.top1_agree += top == want_top;
    ++q.images;
  }
  return q;
}

struct PrecisionCase {
  Precision precision;
  double min_cosine;  // design.md's tolerances
};

class PrecisionQualityTest : public ::testing::TestWithParam<PrecisionCase> {};

TEST_P(PrecisionQualityTest, EmbeddingsAndTop1MatchFp32Reference) {
  const auto c = GetParam();
  const auto model = ClipModel::Load(testing::TinyClipDir(), c.precision);
  if (model->precision() != c.precision) {
    // No fast kernel here (e.g. bf16 under ONEDNN_MAX_CPU_ISA=AVX2): the model must say so
    // and run fp32, which the bar below then holds trivially.
    EXPECT_EQ(model->precision(), Precision::kFp32);
    EXPECT_FALSE(model->precision_note().empty());
    std::printf("[ quality  ] %s fell back: %s\n", PrecisionName(c.precision), model->precision_note().c_str());
  } else {
    EXPECT_TRUE(model->precision_note().empty()) << model->precision_note();
  }
  const Quality q = Measure(*model);
  std::printf("[ quality  ] %s (running %s): min image cosine %.6f (%s), min text cosine %.6f (%s), top-1 %d/%d as fp32\n",
              PrecisionName(c.precision), PrecisionName(model->precision()), q.min_image_cosine, q.worst_image.c_str(),
              q.min_text_cosine, q.worst_text.c_str(), q.top1_agree, q.images);
  EXPECT_GE(q.min_image_cosine, c.min_cosine) << q.worst_image;
  EXPECT_GE(q.min_text_cosine, c.min_cosine) << q.worst_text;
  EXPECT_EQ(q.top1_agree, q.images);
  EXPECT_EQ(q.images, 12);
  EXPECT_EQ(q.texts, 26);
}

INSTANTIATE_TEST_SUITE_P(Precisions, PrecisionQualityTest,
                         ::testing::Values(PrecisionCase{Precision::kFp32, 0.9999}, PrecisionCase{Precision::kBf16, 0.999},
                                           PrecisionCase{Precision::kInt8, 0.99}),
                         [](const auto& info) { return std::string(PrecisionName(info.param.precision)); });

}  // namespace
}  // namespace mms::models
