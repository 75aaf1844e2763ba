// Whole models that nobody here wrote, and the embedded example model, against torch's outputs.
// Rule, per sample: max |ours - torch| <= 1e-4 * max |torch|.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "data/dataset.hpp"
#include "evaluator/evaluate.hpp"
#include "evaluator/onednn_executor.hpp"
#include "evaluator/reference.hpp"
#include "model/onnx_io.hpp"

namespace autocompress {
namespace {

const std::string kSrc = AC_SOURCE_DIR;

// Largest per-sample error relative to that sample's largest |torch| logit.
double worst_relative_error(const std::vector<float>& ours, const std::vector<float>& torch,
                            int64_t classes) {
  EXPECT_EQ(ours.size(), torch.size());
  double worst = 0;
  for (size_t s = 0; s * classes < torch.size(); ++s) {
    double scale = 0, err = 0;
    for (int64_t c = 0; c < classes; ++c) {
      scale = std::max(scale, double(std::abs(torch[s * classes + c])));
      err = std::max(err, double(std::abs(ours[s * classes + c] - torch[s * classes + c])));
    }
    worst = std::max(worst, err / scale);
  }
  return worst;
}

class TorchvisionFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchvisionFixture, BothExecutorsMatchTorch) {
  const std::string base = kSrc + "/tests/fixtures/" + GetParam();
  const Graph g = load_onnx(base + ".onnx");
  Array x = read_npy(base + "_input.npy");
  Array y = read_npy(base + "_output.npy");
  HostTensor in{x.shape, x.f};
  const int64_t classes = y.shape[1];
  auto dnn = compile(g, {x.shape[0], 2});
  const double dnn_err = worst_relative_error(dnn->run({in})[0].data, y.f, classes);
  EXPECT_LE(dnn_err, 1e-4) << "oneDNN";
  auto ref = make_reference_executor(g);
  const double ref_err = worst_relative_error(ref->run({in})[0].data, y.f, classes);
  EXPECT_LE(ref_err, 1e-4) << "reference";
  RecordProperty("onednn_rel_err", std::to_string(dnn_err));
}

INSTANTIATE_TEST_SUITE_P(Models, TorchvisionFixture,
                         ::testing::Values("resnet18_32", "mobilenet_v2_64",
                                           "mobilenet_v2_x035_224"));

TEST(TorchvisionFixture, ResnetKeepsItsStructure) {
  const Graph g = load_onnx(kSrc + "/tests/fixtures/resnet18_32.onnx");
  int bn = 0, add = 0;
  for (const auto& n : g.nodes) {
    bn += n.op == "BatchNormalization";
    add += n.op == "Add";
  }
  EXPECT_EQ(weighted_layers(g).size(), 21u);  // 20 convs + fc
  EXPECT_EQ(bn, 20);
  EXPECT_EQ(add, 8);
}

// The embedded default: top-1 on the 10k test images equals torch's recorded value to within
// 0.05 percentage points, and every sample's logits match torch's reference.
TEST(ExampleModel, MatchesTorchOnTheTestSplit) {
  const Graph g = load_onnx(kSrc + "/examples/fashion_cnn.onnx");
  std::ifstream info_file(kSrc + "/examples/fashion_cnn.json");
  ASSERT_TRUE(info_file) << "examples/fashion_cnn.json";
  const auto info = nlohmann::json::parse(info_file);
  const Dataset ds =
      load_mnist_dir("/usr/share/datasets/fashion-mnist", Split::kTest, model_normalization(g));
  const Array torch = read_npy(kSrc + "/examples/fashion_cnn_test_logits.npy.gz");
  ASSERT_EQ(torch.shape, (Shape{10000, 10}));
  auto ex = compile(g, {256, 2});
  const EvalResult r = evaluate(*ex, g, ds, 256, torch.f, true);
  EXPECT_NEAR(*r.metrics.top1 * 100, info["test_top1"].get<double>() * 100, 0.05);
  EXPECT_GE(*r.metrics.top1, 0.91);
  EXPECT_LE(worst_relative_error(r.outputs, torch.f, 10), 1e-4);
  EXPECT_EQ(*r.metrics.agreement, 1.0);
}

TEST(ExampleModel, ReferenceExecutorAgreesOnASlice) {
  const Graph g = load_onnx(kSrc + "/examples/fashion_cnn.onnx");
  const Dataset ds =
      load_mnist_dir("/usr/share/datasets/fashion-mnist", Split::kTest, model_normalization(g), 64);
  Array torch = read_npy(kSrc + "/examples/fashion_cnn_test_logits.npy.gz");
  torch.f.resize(64 * 10);
  auto ref = make_reference_executor(g);
  const EvalResult r = evaluate(*ref, g, ds, 32, torch.f, true);
  EXPECT_LE(worst_relative_error(r.outputs, torch.f, 10), 1e-4);
}

}  // namespace
}  // namespace autocompress
