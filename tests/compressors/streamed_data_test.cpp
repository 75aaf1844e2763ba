// Evaluation and calibration read a dataset through Dataset::read, so an image folder streamed
// from disk gives the same numbers as the same images materialized in memory (the fixture of
// tests/data/make_image_folder.py, a small 3-channel 20x20 classifier built here).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "compressors/apply.hpp"
#include "compressors/calibrate.hpp"
#include "data/data_spec.hpp"
#include "evaluator/evaluate.hpp"
#include "evaluator/onednn_executor.hpp"
#include "tests/data/torchvision_fixture.hpp"
#include "tests/evaluator/graph_builder.hpp"

namespace autocompress {
namespace {

class StreamedFolder : public testing::TorchvisionFixture {
 protected:
  // The class folders at 20x20 RGB; cache_bytes 0 decodes every read from disk.
  static OpenedDataset open(int64_t cache_bytes) {
    DataSpec s;
    s.source = folder();
    s.preprocessing.resize = {24};
    s.preprocessing.center_crop = {20};
    s.preprocessing.norm = {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
    s.cache_bytes = cache_bytes;
    return open_dataset(s, {1, 3, 20, 20});
  }
  static Graph model() {
    testing::GraphBuilder b({1, 3, 20, 20});
    const std::string h = b.unary("Relu", b.conv("x", 8, 3, 1, {1, 1, 1, 1}));
    return b.finish({b.gemm(b.flatten(b.global_pool(h)), 3)});
  }
};

void expect_same_stats(const ActivationStats& a, const ActivationStats& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [t, s] : a) {
    const TensorStats& o = b.at(t);
    EXPECT_EQ(s.min, o.min) << t;
    EXPECT_EQ(s.max, o.max) << t;
    EXPECT_EQ(s.count, o.count) << t;
    EXPECT_EQ(s.channel_mean, o.channel_mean) << t;
    EXPECT_EQ(s.hist.max_abs, o.hist.max_abs) << t;
    EXPECT_EQ(s.hist.counts, o.hist.counts) << t;
  }
}

TEST_F(StreamedFolder, EvaluateAndCalibrateAsMaterialized) {
  const Graph g = model();
  for (int64_t cache : {kDefaultImageCacheBytes, int64_t(0)}) {
    const OpenedDataset o = open(cache);
    ASSERT_TRUE(o.data.stream);
    ASSERT_TRUE(o.data.images.empty());
    const Dataset mem = materialize(o.data);
    ASSERT_FALSE(mem.stream);
    ASSERT_EQ(mem.size(), 9);
    auto ex = compile(g, {4, 1});
    // Batches of 4 over 9 images: the last one short.
    const EvalResult s = evaluate(*ex, g, o.data, 4, {}, true);
    const EvalResult m = evaluate(*ex, g, mem, 4, {}, true);
    EXPECT_EQ(s.outputs, m.outputs);
    EXPECT_EQ(s.metrics.top1, m.metrics.top1);
    EXPECT_EQ(s.metrics.count, 9);

    CalibOptions c;
    c.batch = 4;
    c.threads = 1;
    const auto tensors = quantizable_tensors(g);
    expect_same_stats(collect_activation_stats(g, o.data, tensors, c),
                      collect_activation_stats(g, mem, tensors, c));
    // The first samples of a stream stay streamed and read as the materialized prefix.
    const Dataset head = first_samples(o.data, 5);
    EXPECT_TRUE(head.stream);
    EXPECT_EQ(head.size(), 5);
    EXPECT_EQ(head.labels.size(), 5u);
    expect_same_stats(collect_activation_stats(g, head, tensors, c),
                      collect_activation_stats(g, first_samples(mem, 5), tensors, c));
  }
}

TEST(CalibrationBatch, TheDatasetAndTheByteBudgetBoundIt) {
  CalibOptions o;
  o.batch = 128;
  o.max_batch_bytes = 1000;
  EXPECT_EQ(calibration_batch(o, 5000, 10), 100);  // the budget
  EXPECT_EQ(calibration_batch(o, 40, 10), 40);     // the dataset
  EXPECT_EQ(calibration_batch(o, 5000, 1), 128);   // o.batch
  EXPECT_EQ(calibration_batch(o, 5000, 5000), 1);  // one image over the budget: still one
  EXPECT_EQ(calibration_batch(o, 0, 10), 1);
}

// A byte budget of one image per batch runs batches of one; the statistics equal one batch of
// all images up to the kernels' rounding for another batch size.
TEST_F(StreamedFolder, CalibrationUnderAByteBudgetMatchesOneBatch) {
  const Graph g = model();
  const Dataset mem = materialize(open(kDefaultImageCacheBytes).data);
  const auto tensors = quantizable_tensors(g);
  CalibOptions one, all;
  one.threads = all.threads = 1;
  one.max_batch_bytes = 1;
  const ActivationStats a = collect_activation_stats(g, mem, tensors, one),
                        b = collect_activation_stats(g, mem, tensors, all);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [t, s] : a) {
    const TensorStats& o = b.at(t);
    EXPECT_NEAR(s.min, o.min, 1e-5 * (1 + std::fabs(o.min))) << t;
    EXPECT_NEAR(s.max, o.max, 1e-5 * (1 + std::fabs(o.max))) << t;
    EXPECT_EQ(s.count, o.count) << t;
    ASSERT_EQ(s.channel_mean.size(), o.channel_mean.size()) << t;
    for (size_t c = 0; c < s.channel_mean.size(); ++c)
      EXPECT_NEAR(s.channel_mean[c], o.channel_mean[c], 1e-4 * (1 + std::fabs(o.channel_mean[c])))
          << t;
  }
}

}  // namespace
}  // namespace autocompress
