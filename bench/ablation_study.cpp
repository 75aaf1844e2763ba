// The ablation of BENCHMARKS.md ("Compression without fine-tuning"): the example model, calibration
// on the first 512 train images, top-1 on the validation split (10k) and the test split, paired
// standard errors of the differences. Asserts the goal (uniform int8 loses <= 0.5 points)
// and that every recovery step on by default in ApplyOptions gains more than two paired SEs.
// Minutes of evaluation: a measurement campaign with asserted goals, built with the benchmarks and
// not run by the test command:
//   build/bench/ablation_study

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <numeric>

#include "compressors/apply.hpp"
#include "evaluator/evaluate.hpp"
#include "evaluator/metrics.hpp"
#include "evaluator/onednn_executor.hpp"
#include "model/onnx_io.hpp"

namespace autocompress {
namespace {

const std::string kSrc = AC_SOURCE_DIR;
const std::string kFashion = "/usr/share/datasets/fashion-mnist";

Recipe uniform(const nlohmann::json& defaults) {
  nlohmann::json j{{"format", "autocompress-recipe"},
                   {"version", 1},
                   {"model_sha256", std::string(64, '0')},
                   {"defaults", defaults}};
  return parse_recipe(j.dump(), "ablation");
}

// 1 per correctly classified sample.
std::vector<uint8_t> correct(const Graph& m, const Dataset& ds) {
  auto ex = compile(m, {256, 1});  // one thread: no OpenMP spinning on a shared machine
  const EvalResult e = evaluate(*ex, m, ds, 256, {}, true);
  std::vector<int64_t> top1;
  append_top1(e.outputs, e.classes, top1);
  std::vector<uint8_t> c(top1.size());
  for (size_t i = 0; i < c.size(); ++i) c[i] = top1[i] == ds.labels[i];
  return c;
}

double mean(const std::vector<uint8_t>& c) {  // accuracy, fraction
  return std::accumulate(c.begin(), c.end(), 0.0) / double(c.size());
}

struct Row {
  std::string name;
  std::vector<uint8_t> val, test;
};

class Ablation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Graph g = load_onnx(kSrc + "/examples/fashion_cnn.onnx");
    const Normalization norm = model_normalization(g);
    val_ = new Dataset(load_mnist_dir(kFashion, Split::kVal, norm));
    test_ = new Dataset(load_mnist_dir(kFashion, Split::kTest, norm));
    ApplyOptions o;
    o.recover.threads = o.calib.threads = 1;
    ctx_ = new ApplyContext(std::move(g), load_mnist_dir(kFashion, Split::kTrain, norm, 512), o);
    base_ = new Row{"fp32", correct(ctx_->original(), *val_), correct(ctx_->original(), *test_)};
  }
  static void TearDownTestSuite() { delete ctx_, delete val_, delete test_, delete base_; }

  static Row run(const std::string& name, const Recipe& r, const ApplyOptions& o) {
    const Graph m = apply(*ctx_, r, o);
    Row row{name, correct(m, *val_), correct(m, *test_)};
    const PairedDrop d = paired_drop(base_->val, row.val);
    std::printf("%-44s val %.2f %% (drop %+.2f, paired SE %.2f)  test %.2f %%\n", name.c_str(),
                100 * d.accuracy, -d.drop, d.se, 100 * mean(row.test));
    return row;
  }
  // Gain of `with` over `without` in points and its paired SE, printed.
  static std::pair<double, double> gain(const Row& with, const Row& without) {
    const PairedDrop d = paired_drop(with.val, without.val);  // the drop of `without`: the gain
    std::printf("  gain of %s over %s: %+.2f points (paired SE %.2f)\n", with.name.c_str(),
                without.name.c_str(), d.drop, d.se);
    return {d.drop / 100, d.se / 100};
  }

  static inline ApplyContext* ctx_ = nullptr;
  static inline Dataset *val_ = nullptr, *test_ = nullptr;
  static inline Row* base_ = nullptr;
};

TEST_F(Ablation, UniformInt8) {
  std::printf("%-44s val %.2f %%  test %.2f %%\n", "fp32", 100 * mean(base_->val),
              100 * mean(base_->test));
  const Recipe r = uniform({{"precision", "int8"}});
  ApplyOptions o = ctx_->options();
  Row best = run("int8 (defaults)", r, o);
  for (ActScale m : {ActScale::kMinMax, ActScale::kPercentile, ActScale::kMse}) {
    o = ctx_->options();
    o.quant.act_scale = m;
    run(std::string("int8, activation scales ") + act_scale_name(m), r, o);
  }
  o = ctx_->options();
  o.quant.bias_correction = true;
  gain(run("int8 with bias correction", r, o), best);
  o = ctx_->options();
  o.quant.mse_clipping = false;
  gain(best, run("int8 without MSE weight clipping", r, o));
  EXPECT_LE(mean(base_->val) - mean(best.val), 0.005);
}

TEST_F(Ablation, FourBitWeights) {
  const Recipe r = uniform({{"wbits", 4}});
  ApplyOptions o = ctx_->options();
  o.quant.mse_clipping = o.quant.bias_correction = false;
  const Row naive = run("4-bit weights, max-abs, no bias correction", r, o);
  o.quant.mse_clipping = true;
  const Row mse = run("4-bit weights, MSE clipping", r, o);
  o.quant.mse_clipping = false, o.quant.bias_correction = true;
  const Row bc = run("4-bit weights, bias correction", r, o);
  o.quant.mse_clipping = true;
  const Row both = run("4-bit weights, MSE clipping + bias correction", r, o);
  const auto [g_mse, se_mse] = gain(mse, naive);
  const auto [g_bc, se_bc] = gain(bc, naive);
  gain(both, mse);
  gain(both, bc);
  if (ctx_->options().quant.mse_clipping) {
    EXPECT_GT(g_mse, 2 * se_mse);
  }
  if (ctx_->options().quant.bias_correction) {
    EXPECT_GT(g_bc, 2 * se_bc);
  }
}

TEST_F(Ablation, HalfRank) {
  const Recipe r = uniform({{"rank", 0.5}});
  ApplyOptions o = ctx_->options();
  o.bn_reestimation = o.data_aware_lowrank = false;
  const Row plain = run("rank 0.5, plain SVD", r, o);
  o.bn_reestimation = true;
  const Row bn = run("rank 0.5, BN re-estimation", r, o);
  // Printed only: every layer at half rank compounds errors far beyond what a search keeps, and
  // each layer's data-aware fit assumes the original model's inputs (see RankPerLayer).
  o.bn_reestimation = false, o.data_aware_lowrank = true;
  run("rank 0.5, data-aware", r, o);
  const auto [g, se] = gain(bn, plain);
  if (ctx_->options().bn_reestimation) {
    EXPECT_GT(g, 2 * se);
  }
}

// One layer factorized at a time, plain SVD against data-aware (its input's second moment).
TEST_F(Ablation, RankPerLayer) {
  double gains = 0, var = 0;
  for (const char* layer : {"/res/conv1/conv1.0/Conv", "/expand/expand.0/Conv",
                            "/conv5/conv5.0/Conv", "/fc1/Gemm", "/dsep/pw/pw.0/Conv"})
    for (double rank : {0.5, 0.25}) {
      const nlohmann::json j{{"format", "autocompress-recipe"},
                             {"version", 1},
                             {"model_sha256", std::string(64, '0')},
                             {"layers", {{layer, {{"rank", rank}}}}}};
      const Recipe r = parse_recipe(j.dump(), "ablation");
      const std::string name = std::string(layer) + " rank " + (rank == 0.5 ? "0.5" : "0.25");
      ApplyOptions o = ctx_->options();
      o.data_aware_lowrank = false;
      const Row plain = run(name + ", plain SVD", r, o);
      o.data_aware_lowrank = true;
      const auto [g, se] = gain(run(name + ", data-aware", r, o), plain);
      gains += g, var += se * se;  // the sum's SE, as if the ten gains were independent
    }
  std::printf("  summed gain of data-aware: %+.2f points (SE %.2f)\n", 100 * gains,
              100 * std::sqrt(var));
  if (ctx_->options().data_aware_lowrank) {
    EXPECT_GT(gains, 2 * std::sqrt(var));
  }
}

TEST_F(Ablation, HalfPruningThroughApply) {
  const Recipe r = uniform({{"prune", 0.5}});
  ApplyOptions o = ctx_->options();
  o.ls_reconstruction = o.bn_reestimation = false;
  const Row plain = run("prune 0.5, no recovery", r, o);
  o.ls_reconstruction = true;
  const Row ls = run("prune 0.5, LS reconstruction", r, o);
  o.bn_reestimation = true;
  const Row both = run("prune 0.5, LS + BN re-estimation", r, o);
  const auto [g, se] = gain(ls, plain);
  gain(both, ls);
  EXPECT_GT(g, 2 * se);
  o.bn_reestimation = false;
  run("prune 0.5 + LS, then int8", uniform({{"prune", 0.5}, {"precision", "int8"}}), o);
}

}  // namespace
}  // namespace autocompress
