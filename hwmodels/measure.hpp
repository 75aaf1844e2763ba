// Measuring on this host: per-layer and whole-model latency of a model compiled with the oneDNN
// evaluator, at the batch and thread count the user deploys with, and the layer *signature* that
// keys a measurement (hwmodels/measure_cache.hpp) so a shape is measured once per machine.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "evaluator/executor.hpp"
#include "hwmodels/layer_desc.hpp"
#include "hwmodels/measure_cache.hpp"
#include "model/graph.hpp"

namespace autocompress {

// What makes a measurement specific to a machine.
struct HostInfo {
  std::string cpu;     // /proc/cpuinfo "model name" ("unknown cpu" when absent)
  std::string onednn;  // dnnl::version(), "2.6.0"
};
// This machine, read once and cached (thread-safe).
const HostInfo& this_host();

// A layer as measured: its description, the threads it ran on and the machine.
struct SignedLayer {
  LayerDesc layer;  // name is not part of the signature (it stays empty after parsing)
  int threads = 0;
  HostInfo host;
};

// One line without commas (safe as a CSV field):
//   "conv|b=64|c=1x16|in=28x28|out=28x28|k=3x3|s=1|g=1|taps=9|n=1|res=0|fp32|w=32|a=32|o=32|
//    t=2|cpu=AMD EPYC 9R14|dnnl=2.6.0"
// ',' and '|' in the host strings become ' '. taps is printed to round-trip exactly. After "o="
// an int8 layer or reorder with a signed side has "|s8=IO" (I, O: 1 = s8, 0 = u8), and a layer
// recorded with its weights context "|llc=0" or "|llc=1" (LayerDesc::llc).
std::string layer_signature(const SignedLayer& s);
// d as this host's oneDNN evaluator runs it: weights at the width of the layer's mode. There are no
// sub-byte kernels here: 4-bit int8 weights are stored as s8, and weight-only quantization under
// fp32 / bf16 is dequantized at compile time (evaluator/fusion.hpp), so those layers run, and are
// measured and cached, as their mode's kernel.
LayerDesc as_run_here(LayerDesc d);
// The last-level cache of this machine in bytes (sysfs; 0 when unknown), read once.
double host_llc_bytes();
// The context of a schedule's layers on a host with `llc_bytes` of last-level cache: 1 when the
// weights of the whole schedule, as the evaluator stores them (as_run_here), fit it, else 0; -1
// for llc_bytes <= 0. A weight-bound layer (small maps, many channels) reads its weights from DRAM
// every run in the one case and from L3 in the other: the same layer, different times.
int weights_context(const std::vector<LayerDesc>& schedule, double llc_bytes);
// The layer part of a signature (up to "|o=32"): the key within one host and thread count.
std::string layer_key(const LayerDesc& d);
// The machine part of every signature: "t=2|cpu=AMD EPYC 9R14|dnnl=2.6.0" (cleaned as above).
std::string host_fields(int threads, const HostInfo& host);
// The thread count a measurement records: `threads`, or the number of cores for 0.
int measured_threads(int threads);
// The inverse of layer_signature. Throws DataError (file = `where`) naming the field that is
// missing or malformed.
SignedLayer parse_signature(const std::string& sig, const std::string& where = "signature");

struct MeasureOptions {
  int64_t batch = 1;
  int threads = 0;   // oneDNN threads; 0 = all cores
  int repeats = 20;  // timed runs after one warm-up; medians are reported
};

// Median latencies of one model on this host.
struct Measurement {
  std::vector<double> layer_s;          // per schedule entry (0 for entries no step ran for)
  std::vector<std::string> signatures;  // per schedule entry, at options' batch and threads
  double reorder_s = 0;    // layout / precision reorders oneDNN inserted (overhead, not a layer)
  double other_s = 0;      // steps no schedule entry claims (output copies, fills)
  double steps_s = 0;      // sum of every step's median (layer_s + reorder_s + other_s)
  double model_s = 0;      // median of whole-model runs (steps not waited on one by one)
  double model_min_s = 0;  // fastest whole-model run: on a loaded machine runs longer than a
                           // scheduler time slice are preempted, and the median shows the load
};

// Compiles g with the oneDNN evaluator and measures it: steps are matched to `schedule` (from
// describe(g, options.batch, ...)) by node name; reorder steps and residual copies go to reorder_s
// except where the schedule has a kReorder layer of that name. Inputs are a fixed deterministic
// pattern. Throws UsageError for repeats < 1 or batch < 1; evaluator errors pass through.
Measurement measure(const Graph& g, const std::vector<LayerDesc>& schedule,
                    const MeasureOptions& options);

// A model compiled once for timing whole-model runs on this host (the search's measured latency,
// hwmodels/interleaved.hpp): at `batch` and `threads` (0 = all cores), on the fixed input pattern
// of measure(). run_once() is not thread-safe; it runs with `threads` OpenMP threads and gives the
// calling thread back its own thread count. Evaluator errors pass through the constructor.
class TimedModel {
 public:
  TimedModel(const Graph& g, int64_t batch, int threads);
  ~TimedModel();
  double run_once();  // seconds of one whole-model run

 private:
  std::unique_ptr<Executor> ex_;
  std::vector<HostTensor> inputs_;
  int threads_;
};

// A whole-model run as the cache keeps it (hwmodels/predict_host.hpp fits the host's whole-model
// overhead to these): the sum of the per-layer medians of the same measurement, the bytes the
// schedule's kReorder layers convert, and the median whole-model latency.
struct ModelSample {
  double layers_s = 0;
  double reorder_bytes = 0;
  double seconds = 0;
};
// Bytes read and written by the inferred kReorder entries of a schedule (source + destination
// widths); graph_op reorders are measured steps, summed with the layers.
double reorder_bytes(const std::vector<LayerDesc>& schedule);
// The cache key of a model sample: "model|layers=..|reorder_bytes=..|id=<hash of the layer
// signatures>|t=..|cpu=..|dnnl=..". Not a layer signature: parse_signature rejects it.
std::string model_signature(const std::vector<std::string>& layer_signatures, double layers_s,
                            double reorder_bytes, int threads, const HostInfo& host);
// The sample of a model signature measured on `host` with `threads`; std::nullopt for any other
// key (layer signatures, other machines).
std::optional<ModelSample> parse_model_signature(const std::string& sig, double seconds,
                                                 int threads, const HostInfo& host);

// Stores what `m` measured: every layer a step ran for (under its plain signature and under the
// one with the schedule's weights context on this host), and the whole-model sample.
void record(MeasureCache& cache, const std::vector<LayerDesc>& schedule, const Measurement& m,
            int threads, int repeats);

// Per-layer seconds of `schedule` on this host, a shape measured once per machine: entries whose
// signature is in `cache` are read from it; when any is missing the model is measured once and
// every layer a step ran for is stored (median over options.repeats), with the model sample.
// Entries no step runs for (inferred kReorder layers: oneDNN's reorders count as reorder_s) stay 0
// and are not stored; QuantizeLinear / DequantizeLinear steps (graph_op reorders) are layers.
std::vector<double> measure_cached(const Graph& g, const std::vector<LayerDesc>& schedule,
                                   const MeasureOptions& options, MeasureCache& cache);

}  // namespace autocompress
