// The search's latency model (search/study/problem.hpp, latency_model): the measured host model of
// hwmodels/predict_host.hpp on target host, read from a temporary measurement cache and warmed
// once; the roofline on request; and the attribute-graph schedule of ObjectiveModel keyed as the
// runnable QDQ model is, so int8 layers hit the cache.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "common/error.hpp"
#include "compressors/runnable.hpp"
#include "hwmodels/measure.hpp"
#include "hwmodels/predict_host.hpp"
#include "hwmodels/roofline.hpp"
#include "model/onnx_io.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/search/study/small_problem.hpp"

namespace autocompress {
namespace {

// The original with these per-layer modes as attributes (the costing graph of a recipe without
// pruning or low rank), as the evaluator runs it.
Graph runnable_with(const Graph& g, const Recipe& r) {
  Graph out = g;
  set_mode_attrs(out, r);
  return runnable_model(out);
}

// Layer keys as the host model looks them up (inferred reorders are priced per byte, not keyed).
std::vector<std::string> keys(const std::vector<LayerDesc>& schedule) {
  std::vector<std::string> out;
  for (const auto& d : schedule)
    if (d.kind != LayerKind::kReorder || d.graph_op) out.push_back(layer_key(as_run_here(d)));
  return out;
}

TEST(LatencyModelKeys, Int8AndMixedRecipesKeyAsTheRunnableModel) {
  const Graph g = load_onnx(std::string(AC_SOURCE_DIR) + "/examples/fashion_cnn.onnx");
  const Profile host = find_profile("host");
  const auto hm = std::make_shared<HostModel>(fit_host_model(host, {}, 2, this_host()));
  const ObjectiveModel om(g, host, 1, host.channel_multiple, {}, hm);
  Recipe int8;
  int8.defaults.precision = Precision::kInt8;
  Recipe mixed;
  mixed.layers["/res/conv1/conv1.0/Conv"].precision = Precision::kInt8;
  mixed.layers["/expand/expand.0/Conv"].precision = Precision::kBf16;
  mixed.layers["/conv5/conv5.0/Conv"].precision = Precision::kInt8;
  mixed.layers["/conv5/conv5.0/Conv"].wbits = 4;
  for (const Recipe* r : {&int8, &mixed}) {
    const Graph q = runnable_with(g, *r);
    const auto want = keys(describe(q, 1, graph_precisions(q)));
    const auto got = keys(om.schedule(*r));
    EXPECT_EQ(got, want);
  }
}

TEST(LatencyModelConfig, ParsedValidatedAndResolved) {
  EXPECT_EQ(parse_problem_config(nlohmann::json::object()).latency_model, "auto");  // old studies
  ProblemConfig c;
  c.latency_model = "roofline";
  c.measure_cache = "/tmp/m.db";
  const ProblemConfig back = parse_problem_config(problem_config_json(c));
  EXPECT_EQ(back.latency_model, "roofline");
  EXPECT_EQ(back.measure_cache, "/tmp/m.db");
  try {
    parse_problem_config({{"latency_model", "fast"}});
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("latency_model must be auto, measured or roofline, got "
                                         "'fast'"),
              std::string::npos)
        << e.what();
  }
  c.latency_model = "auto";
  EXPECT_EQ(resolved_latency_model(c, "host"), "roofline");  // until validated in the search
  EXPECT_EQ(resolved_latency_model(c, "bitfusion"), "roofline");
  c.latency_model = "measured";
  EXPECT_EQ(resolved_latency_model(c, "host"), "measured");
  try {
    resolved_latency_model(c, "cortex_a76");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("latency_model 'measured' needs target host"),
              std::string::npos)
        << e.what();
  }
}

Recipe uniform(Precision p) {
  Recipe r;
  r.defaults.precision = p;
  return r;
}

// One measured problem per process (the warm-up measures into a fresh temporary cache).
struct Measured {
  const testing::TempDir dir{"ac_latency_model"};
  std::string cache = dir.file("m.db");
  CompressionProblem problem{[this] {
    ProblemConfig c = small_problem_config(100, 1.0);
    c.latency_model = "measured";
    c.measure_cache = cache;
    return c;
  }()};
  HostModel reloaded() const {
    const MeasureCache mc(cache);
    return load_host_model(problem.target(), mc, 0);
  }
};

const Measured& measured() {
  static const Measured m;
  return m;
}

TEST(LatencyModelMeasured, OriginalIsThePredictionFromTheWarmedCache) {
  const auto& m = measured();
  if (m.problem.latency_model().find("rejected") != std::string::npos)
    GTEST_SKIP() << "measured on a busy machine: " << m.problem.latency_model();
  const HostModel hm = m.reloaded();
  if (m.problem.latency_model().find("machine busy") == std::string::npos) {
    EXPECT_GE(hm.model_samples, 3);  // fp32, bf16, int8 everywhere
  }
  const Graph g = load_onnx(m.problem.config().model);
  const double want = predict_host(describe(g, 1), hm).total_s;
  EXPECT_NEAR(m.problem.known(Recipe{}).latency_s, want, 1e-12 * want);
  const auto attrs = m.problem.study_spec("s").user_attrs;
  EXPECT_EQ(attrs.at("latency_model").rfind("measured host model (cache " + m.cache, 0), 0u)
      << attrs.at("latency_model");
  EXPECT_EQ(nlohmann::json::parse(attrs.at("config"))["latency_model"], "measured");
}

// Every layer of the uniform modes is cached after the warm-up: a second problem on this cache
// measures nothing and, the fit being a function of the cache, costs every candidate the same.
TEST(LatencyModelMeasured, UniformRecipesComeFromMeasuredEntries) {
  const auto& m = measured();
  if (m.problem.latency_model().find("machine busy") != std::string::npos ||
      m.problem.latency_model().find("rejected") != std::string::npos)
    GTEST_SKIP() << "the warm-up kept no measurement: " << m.problem.latency_model();
  const HostModel hm = m.reloaded();
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    const auto schedule = m.problem.objective_model().schedule(uniform(p));
    const HostPrediction h = predict_host(schedule, hm);
    for (size_t k = 0; k < schedule.size(); ++k) {
      if (schedule[k].kind != LayerKind::kReorder || schedule[k].graph_op) {
        EXPECT_TRUE(h.measured[k]) << precision_name(p) << " " << schedule[k].name;
      }
    }
    EXPECT_NEAR(m.problem.known(uniform(p)).latency_s, h.total_s, 1e-12 * h.total_s);
  }
}

TEST(LatencyModelRoofline, IsTheTargetsRoofline) {
  ProblemConfig c = small_problem_config(100, 1.0);
  c.latency_model = "roofline";
  const CompressionProblem p(c);
  for (Precision mode : {Precision::kFp32, Precision::kInt8}) {
    const Recipe r = uniform(mode);
    EXPECT_EQ(p.known(r).latency_s, predict(p.objective_model().schedule(r), p.target()).latency_s);
  }
  EXPECT_EQ(p.study_spec("s").user_attrs.at("latency_model"), "roofline of target host");
}

}  // namespace
}  // namespace autocompress
