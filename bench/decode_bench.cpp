// Image decode throughput through open_dataset: `decode_bench DIR S C [threads]` opens the image
// folder DIR for a [N,3,C,C] model with Resize(S) (0: none) + CenterCrop(C) + ImageNet
// normalization, and times (1) the uint8 cache filled at open (every image decoded once, TBB
// threads) and (2) streaming with no cache, batches of 64 decoded in parallel per read. The peer
// is bench/decode_peer.py; the commands and figures are in BENCHMARKS.md. A measurement, not a
// Google Benchmark.
#include <tbb/global_control.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "data/data_spec.hpp"

namespace ac = autocompress;

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: decode_bench DIR S C [threads]\n");
    return 2;
  }
  const int64_t s = std::atoll(argv[2]), c = std::atoll(argv[3]);
  const int threads = argc > 4 ? std::atoi(argv[4]) : 2;
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, size_t(threads));
  ac::DataSpec spec;
  spec.source = argv[1];
  if (s > 0) spec.preprocessing.resize = {s};
  spec.preprocessing.center_crop = {c};
  spec.preprocessing.norm = {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
  const ac::Shape input = {1, 3, c, c};
  using clock = std::chrono::steady_clock;
  const auto secs = [](clock::time_point t0) {
    return std::chrono::duration<double>(clock::now() - t0).count();
  };
  try {
    auto t0 = clock::now();
    const ac::OpenedDataset cached = ac::open_dataset(spec, input);
    const double open_s = secs(t0);
    const int64_t n = cached.data.size();
    spec.cache_bytes = 0;
    const ac::OpenedDataset streamed = ac::open_dataset(spec, input);
    std::vector<float> batch;
    t0 = clock::now();
    for (int64_t first = 0; first < n; first += 64) {
      const int64_t b = std::min<int64_t>(64, n - first);
      batch.resize(size_t(b * 3 * c * c));
      streamed.data.read(first, b, batch);
    }
    const double stream_s = secs(t0);
    std::printf("%s: %lld images, %d threads: cache fill %.0f images/s, streamed %.0f images/s\n",
                cached.kind.c_str(), static_cast<long long>(n), threads, double(n) / open_s,
                double(n) / stream_s);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 5;
  }
  return 0;
}
