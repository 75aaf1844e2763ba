// The hardware model's cost per trial: predicting latency and energy of a whole resnet18
// (tests/fixtures/resnet18_32.onnx) from its layer descriptions, and describing it from the graph
// first, and the host model's prediction from a warm measurement cache. Goal: <= 100 us per
// prediction, so the model never slows a search.
#include <benchmark/benchmark.h>

#include "hwmodels/energy.hpp"
#include "hwmodels/layer_desc.hpp"
#include "hwmodels/predict_host.hpp"
#include "hwmodels/profile.hpp"
#include "hwmodels/roofline.hpp"
#include "model/onnx_io.hpp"

namespace ac = autocompress;

namespace {

const ac::Graph& resnet18() {
  static const ac::Graph g = ac::load_onnx(AC_SOURCE_DIR "/tests/fixtures/resnet18_32.onnx");
  return g;
}

const ac::Profile& target(int64_t which) {
  static const ac::Profile host = ac::find_profile("host");
  static const ac::Profile bitfusion = ac::find_profile("bitfusion");
  return which == 0 ? host : bitfusion;
}

ac::LayerPrecision mode_of(const ac::Profile& p) { return {p.precisions[0], 0, 0}; }

// Arg: 0 = host (fp32), 1 = bitfusion (int8 8x8).
void BM_PredictResNet18(benchmark::State& state) {
  const ac::Profile& p = target(state.range(0));
  const auto schedule = ac::describe(resnet18(), 1, {}, mode_of(p));
  for (auto _ : state) benchmark::DoNotOptimize(ac::predict(schedule, p).latency_s);
  state.counters["layers"] = double(schedule.size());
  state.SetLabel(p.name);
}
BENCHMARK(BM_PredictResNet18)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// describe() + predict(): what a trial pays when its recipe changes the graph.
void BM_DescribeAndPredictResNet18(benchmark::State& state) {
  const ac::Profile& p = target(state.range(0));
  for (auto _ : state) {
    const auto schedule = ac::describe(resnet18(), 1, {}, mode_of(p));
    benchmark::DoNotOptimize(ac::predict(schedule, p).latency_s);
  }
  state.SetLabel(p.name);
}
BENCHMARK(BM_DescribeAndPredictResNet18)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// The host model from a warm cache (hwmodels/predict_host.hpp): every layer of resnet18 at batch
// 1 cached (Arg 100) or only every other one (Arg 50: the rest scaled from a cached layer of the
// same geometry or modeled), as a search sees it after fit_host_model read the cache once. The
// cached values are roofline times: what is timed is the lookup, not the numbers.
void BM_PredictHostResNet18(benchmark::State& state) {
  const ac::Profile& p = target(0);
  const auto schedule = ac::describe(resnet18(), 1, {}, mode_of(p));
  std::vector<ac::CachedMeasurement> entries;
  for (size_t k = 0; k < schedule.size(); ++k)
    if (state.range(0) == 100 || k % 2 == 0)
      entries.push_back({ac::layer_signature({schedule[k], 2, ac::this_host()}),
                         ac::roofline(schedule[k], p).latency_s, 10, ""});
  const ac::HostModel m = ac::fit_host_model(p, entries, 2, ac::this_host());
  for (auto _ : state) benchmark::DoNotOptimize(ac::predict_host(schedule, m).total_s);
  state.counters["layers"] = double(schedule.size());
  state.counters["cached"] = double(entries.size());
}
BENCHMARK(BM_PredictHostResNet18)->Arg(100)->Arg(50)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
