// The hardware model's cost per trial: predicting latency and energy of a whole resnet18
// (tests/fixtures/resnet18_32.onnx) from its layer descriptions, and describing it from the graph
// first. Goal: <= 100 us per prediction, so the model never slows a search.
#include <benchmark/benchmark.h>

#include "hwmodels/energy.hpp"
#include "hwmodels/layer_desc.hpp"
#include "hwmodels/profile.hpp"
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

}  // namespace

BENCHMARK_MAIN();
