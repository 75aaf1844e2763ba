// fp32 FMA peak of this machine: independent AVX-512 (or AVX2) FMA chains on every thread.
// GFLOP/s = threads x iterations x chains x lanes x 2 / time. Compiled with -march=native.
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <omp.h>

namespace {

#if defined(__AVX512F__)
using vec = __m512;
constexpr int kLanes = 16;
inline vec fma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
inline vec splat(float v) { return _mm512_set1_ps(v); }
inline float first(vec v) { return _mm512_reduce_add_ps(v); }
#else
using vec = __m256;
constexpr int kLanes = 8;
inline vec fma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
inline vec splat(float v) { return _mm256_set1_ps(v); }
inline float first(vec v) { return v[0]; }
#endif

constexpr int kChains = 12;  // enough independent chains to cover FMA latency x ports

float chains(int64_t iters) {
  vec acc[kChains];
#pragma GCC unroll 16
  for (int k = 0; k < kChains; ++k) acc[k] = splat(float(k) * 1e-3f);
  const vec a = splat(0.999999f), b = splat(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < kChains; ++k) acc[k] = fma(acc[k], a, b);  // chains stay in registers
  }
  float s = 0;
  for (int k = 0; k < kChains; ++k) s += first(acc[k]);
  return s;
}

void BM_FmaPeak(benchmark::State& state) {
  const int threads = int(state.range(0));
  constexpr int64_t kIters = 20'000'000;
  float sink = 0;
  for (auto _ : state) {
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += chains(kIters);
  }
  benchmark::DoNotOptimize(sink);
  const double flops = double(threads) * kIters * kChains * kLanes * 2;
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * state.iterations() / 1e9, benchmark::Counter::kIsRate);
  state.counters["lanes"] = kLanes;
}
BENCHMARK(BM_FmaPeak)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
