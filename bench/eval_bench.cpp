// Full evaluation of the embedded example model on the 10k Fashion-MNIST test images with the
// oneDNN evaluator: images/s and GFLOP/s (2 x MACs per image). Args: batch, threads.
#include <benchmark/benchmark.h>

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
  static const ac::Dataset ds = ac::load_mnist_dir("/usr/share/datasets/fashion-mnist",
                                                   ac::Split::kTest, ac::model_normalization(model()));
  return ds;
}

void BM_EvalFashionTest(benchmark::State& state) {
  const int64_t batch = state.range(0);
  const int threads = int(state.range(1));
  auto ex = ac::compile(model(), {batch, threads});
  ac::evaluate(*ex, model(), test_set(), batch);  // warm-up: compiles the tail-batch plan too
  double top1 = 0;
  for (auto _ : state) top1 = *ac::evaluate(*ex, model(), test_set(), batch).metrics.top1;
  int64_t macs = 0;
  for (const auto& l : ac::weighted_layers(model())) macs += l.macs;
  const double images = double(test_set().size()) * state.iterations();
  state.SetItemsProcessed(int64_t(images));
  state.counters["images/s"] = benchmark::Counter(images, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(images * 2.0 * macs / 1e9, benchmark::Counter::kIsRate);
  state.counters["top1"] = top1;
}
BENCHMARK(BM_EvalFashionTest)
    ->ArgNames({"batch", "threads"})
    ->Args({256, 2})
    ->Args({256, 1})
    ->Args({64, 2})
    ->Args({1024, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
