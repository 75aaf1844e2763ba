// Full evaluation of the embedded example model on the 10k Fashion-MNIST test images with the
// oneDNN evaluator: images/s and GFLOP/s (2 x MACs per image). Args: batch, threads.
// BM_EvalFashionPrecision: every Conv/Gemm in fp32 (0), bf16 (1) or int8 (2, the QDQ graph of
// compressors/quantize_pass calibrated on 512 train images, run on integer primitives).
#include <benchmark/benchmark.h>

#include "compressors/calibrate.hpp"
#include "compressors/quantize_pass.hpp"
#include "data/dataset.hpp"
#include "evaluator/evaluate.hpp"
#include "evaluator/onednn_executor.hpp"
#include "model/onnx_io.hpp"

namespace ac = autocompress;

namespace {

const ac::Graph& model() {
  static const ac::Graph g = ac::load_onnx(AC_SOURCE_DIR "/examples/fashion_cnn.onnx");
  return g;
}

const ac::Dataset& test_set() {
  static const ac::Dataset ds = ac::load_mnist_dir(
      "/usr/share/datasets/fashion-mnist", ac::Split::kTest, ac::model_normalization(model()));
  return ds;
}

// Every Conv/Gemm in `p`; int8 through the quantize pass (per-channel 8-bit weights with MSE
// clipping, percentile activation scales, bias correction), calibrated on train images.
ac::Graph model_in(ac::Precision p) {
  std::map<std::string, ac::QuantSetting> settings;
  for (const auto& l : ac::weighted_layers(model())) settings[l.name] = {p, 8};
  if (p != ac::Precision::kInt8) return ac::quantize(model(), settings, {}, {});
  const ac::Dataset calib =
      ac::load_mnist_dir("/usr/share/datasets/fashion-mnist", ac::Split::kTrain,
                         ac::model_normalization(model()), 512);
  const ac::QuantizeOptions o;
  const auto stats = ac::collect_activation_stats(
      model(), calib, ac::quantize_needs(model(), settings, o), ac::CalibOptions{});
  return ac::quantize(model(), settings, stats, o);
}

void run_eval(benchmark::State& state, const ac::Graph& g) {
  const int64_t batch = state.range(0);
  const int threads = int(state.range(1));
  auto ex = ac::compile(g, {batch, threads});
  ac::evaluate(*ex, g, test_set(), batch);  // warm-up: compiles the tail-batch plan too
  double top1 = 0;
  for (auto _ : state) top1 = *ac::evaluate(*ex, g, test_set(), batch).metrics.top1;
  int64_t macs = 0;
  for (const auto& l : ac::weighted_layers(model())) macs += l.macs;
  const double images = double(test_set().size()) * state.iterations();
  state.SetItemsProcessed(int64_t(images));
  state.counters["images/s"] = benchmark::Counter(images, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(images * 2.0 * macs / 1e9, benchmark::Counter::kIsRate);
  state.counters["top1"] = top1;
}

void BM_EvalFashionTest(benchmark::State& state) { run_eval(state, model()); }
BENCHMARK(BM_EvalFashionTest)
    ->ArgNames({"batch", "threads"})
    ->Args({256, 2})
    ->Args({256, 1})
    ->Args({64, 2})
    ->Args({1024, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

void BM_EvalFashionPrecision(benchmark::State& state) {
  static const ac::Graph graphs[] = {model_in(ac::Precision::kFp32), model_in(ac::Precision::kBf16),
                                     model_in(ac::Precision::kInt8)};
  run_eval(state, graphs[state.range(2)]);
}
// fp32, int8, bf16, then again: alternating rounds on a noisy machine.
BENCHMARK(BM_EvalFashionPrecision)
    ->ArgNames({"batch", "threads", "precision"})
    ->Args({256, 2, 0})
    ->Args({256, 2, 2})
    ->Args({256, 2, 1})
    ->Args({256, 2, 0})
    ->Args({256, 2, 2})
    ->Args({256, 2, 1})
    ->Args({256, 1, 0})
    ->Args({256, 1, 2})
    ->Args({256, 1, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
