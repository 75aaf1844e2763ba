#include "cli/model_commands.hpp"

#include <omp.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/data_flags.hpp"
#include "cli/format.hpp"
#include "cli/output_path.hpp"
#include "common/error.hpp"
#include "compressors/recipe.hpp"
#include "data/data_spec.hpp"
#include "evaluator/evaluate.hpp"
#include "evaluator/onednn_executor.hpp"
#include "evaluator/reference.hpp"
#include "model/onnx_io.hpp"

namespace autocompress::cli {

namespace {

using nlohmann::json;

// ---------------------------------------------------------------- inspect
struct InspectArgs {
  std::string model;
  bool json = false;
};

int64_t node_params(const Graph& g, const Node& n) {
  int64_t p = 0;
  for (const auto& in : n.inputs)
    if (!in.empty() && g.is_initializer(in) && g.initializer(in).is_float())
      p += g.initializer(in).size();
  return p;
}

int run_inspect(const InspectArgs& a) {
  const Graph g = load_onnx(a.model);
  int64_t params = 0, macs = 0;
  json rows = json::array();
  for (const auto& n : g.nodes) {
    const int64_t p = node_params(g, n), m = node_macs(g, n);
    params += p;
    macs += m;
    std::string in = n.inputs.empty() ? "" : shape_str(g.value(n.inputs[0]).shape);
    rows.push_back({{"name", n.name},
                    {"op", n.op},
                    {"input", in},
                    {"output", shape_str(g.value(n.outputs[0]).shape)},
                    {"params", p},
                    {"macs", m}});
  }
  if (a.json) {
    std::cout << json{{"model", a.model},   {"opset", g.opset},
                      {"nodes", rows},      {"total_params", params},
                      {"total_macs", macs}, {"weighted_layers", weighted_layers(g).size()}}
                     .dump(2)
              << "\n";
    return 0;
  }
  std::printf("%s  (opset %lld, input %s, output %s)\n\n", a.model.c_str(), (long long)g.opset,
              shape_str(g.value(g.inputs.at(0)).shape).c_str(),
              shape_str(g.value(g.outputs.at(0)).shape).c_str());
  std::printf("%-28s %-20s %-18s %-18s %10s %12s\n", "name", "op", "input", "output", "params",
              "MACs");
  for (const auto& r : rows)
    std::printf("%-28s %-20s %-18s %-18s %10lld %12lld\n", r["name"].get<std::string>().c_str(),
                r["op"].get<std::string>().c_str(), r["input"].get<std::string>().c_str(),
                r["output"].get<std::string>().c_str(), (long long)r["params"].get<int64_t>(),
                (long long)r["macs"].get<int64_t>());
  std::printf("\n%zu nodes, %zu weighted layers, %sparams (%sB fp32), %sMACs per sample\n",
              g.nodes.size(), weighted_layers(g).size(), human(double(params)).c_str(),
              human(4.0 * double(params)).c_str(), human(double(macs)).c_str());
  return 0;
}

// ---------------------------------------------------------------- eval
struct EvalArgs {
  std::string model, reference, executor = "onednn";
  DataFlags data{kDefaultData, "", "test"};
  PreprocessFlags pre;
  std::string precision = "fp32";
  int64_t batch = 256;
  int threads = 0;
  bool json = false;
};

std::unique_ptr<Executor> make_executor(const std::string& kind, const Graph& g, int64_t batch,
                                        int threads) {
  if (kind == "onednn") return compile(g, {batch, threads});
  if (kind == "reference") return make_reference_executor(g);
  throw UsageError("--executor must be 'onednn' or 'reference', got '" + kind + "'");
}

void print_eval(const EvalArgs& a, const Graph& g, const DataSpec& spec, const OpenedDataset& od,
                const EvalResult& r, double compile_s, int threads) {
  const Dataset& ds = od.data;
  const auto& m = r.metrics;
  if (a.json) {
    json j{{"model", a.model},
           {"data", ds.source},
           {"kind", od.kind},
           {"images", m.count},
           {"precision", a.precision},
           {"batch", a.batch},
           {"threads", threads},
           {"executor", a.executor},
           {"seconds", r.seconds},
           {"images_per_s", r.images_per_s},
           {"compile_seconds", compile_s}};
    static const char* const kSplits[] = {"train", "val", "test"};
    if (spec.split) j["split"] = kSplits[int(*spec.split)];
    if (m.top1) j["top1"] = *m.top1;
    if (m.top5) j["top5"] = *m.top5;
    if (m.agreement) j["agreement"] = *m.agreement;
    if (m.kl) j["kl"] = *m.kl;
    std::cout << j.dump(2) << "\n";
    return;
  }
  const auto layers = weighted_layers(g);
  int64_t macs = 0;
  for (const auto& l : layers) macs += l.macs;
  std::printf("model      %s (%zu weighted layers, %sMACs per image)\n", a.model.c_str(),
              layers.size(), human(double(macs)).c_str());
  std::printf("data       %s (%lld images)\n", ds.source.c_str(), (long long)m.count);
  std::printf("kind       %s\n", od.kind.c_str());
  if (m.top1) std::printf("top-1      %.2f %%\n", 100 * *m.top1);
  if (m.top5) std::printf("top-5      %.2f %%\n", 100 * *m.top5);
  if (m.agreement)
    std::printf("agreement  %.2f %% top-1 with %s\n", 100 * *m.agreement, a.reference.c_str());
  if (m.kl) std::printf("KL         %.3g nats (mean, reference || model)\n", *m.kl);
  std::printf(
      "speed      %.0f images/s, %.3f s wall (%s %s, batch %lld, %d threads; compile %.3f s)\n",
      r.images_per_s, r.seconds, a.executor.c_str(), a.precision.c_str(), (long long)a.batch,
      threads, compile_s);
}

int run_eval(const EvalArgs& a) {
  Graph g = load_onnx(a.model);
  if (a.precision != "fp32") {  // every Conv/Gemm computes in this mode (graph.hpp)
    if (a.precision != "bf16")
      throw UsageError("--precision must be fp32 or bf16, got '" + a.precision + "'");
    Recipe uniform;
    uniform.defaults.precision = Precision::kBf16;
    set_mode_attrs(g, uniform);
  }
  const DataSpec spec = data_spec(a.data, a.pre, g);
  const OpenedDataset od = open_dataset(spec, g.value(g.inputs.at(0)).shape);
  const Dataset& ds = od.data;
  std::vector<float> ref;
  if (!a.reference.empty()) {
    Array arr = read_npy(a.reference);
    if (arr.dtype != DType::kFloat)
      throw DataError(a.reference, "reference logits must be float32");
    if (arr.shape.size() != 2 || arr.shape[0] < ds.size())
      throw DataError(a.reference, "reference logits must be [N, classes] with N >= " +
                                       std::to_string(ds.size()) + ", got " + shape_str(arr.shape));
    ref = std::move(arr.f);
    ref.resize(ds.size() * arr.shape[1]);  // --limit keeps the first images
  }
  EvalArgs used = a;  // no arena for images that are not there
  used.batch = std::max<int64_t>(1, std::min(a.batch, ds.size()));
  const auto t0 = std::chrono::steady_clock::now();
  auto ex = make_executor(a.executor, g, used.batch, a.threads);
  const double compile_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto r = evaluate(*ex, g, ds, used.batch, ref);
  print_eval(used, g, spec, od, r, compile_s, a.threads > 0 ? a.threads : omp_get_max_threads());
  return 0;
}

// ---------------------------------------------------------------- run
struct RunArgs {
  std::string model, input, output, executor = "onednn";
  int threads = 0;
};

int run_model(const RunArgs& a) {
  refuse_input_as_output("--output", a.output,
                         {{"input model", a.model}, {"input tensor", a.input}});
  const Graph g = load_onnx(a.model);
  if (g.inputs.size() != 1 || g.outputs.size() != 1)
    throw UsageError("run supports models with one input and one output");
  Array x = read_npy(a.input);
  if (!x.shape.empty() && x.shape[0] == 0)
    throw DataError(a.input, "holds no samples: shape " + shape_str(x.shape) + " has batch 0");
  HostTensor in{x.shape, {}};
  if (x.dtype == DType::kFloat) {
    in.data = std::move(x.f);
  } else {
    throw DataError(a.input, std::string("input must be float32, got ") + dtype_name(x.dtype));
  }
  auto ex = make_executor(a.executor, g, in.shape.empty() ? 1 : in.shape[0], a.threads);
  const auto out = ex->run({in});
  write_npy(a.output, out[0].shape, out[0].data);
  std::printf("wrote %s %s\n", a.output.c_str(), shape_str(out[0].shape).c_str());
  return 0;
}

}  // namespace

struct ModelCommands::State {
  CLI::App* inspect = nullptr;
  CLI::App* eval = nullptr;
  CLI::App* run = nullptr;
  InspectArgs ia;
  EvalArgs ea;
  RunArgs ra;
};

ModelCommands::ModelCommands(CLI::App& app) : s_(std::make_unique<State>()) {
  s_->inspect = app.add_subcommand("inspect", "Show a model's layers, shapes, params, MACs");
  s_->inspect->add_option("--model,-m", s_->ia.model, "ONNX model")->required();
  s_->inspect->add_flag("--json", s_->ia.json, "JSON output");

  s_->eval = app.add_subcommand("eval", "Evaluate a model on a dataset");
  s_->eval->add_option("--model,-m", s_->ea.model, "ONNX model")->required();
  add_data_flags(*s_->eval, s_->ea.data, s_->ea.pre);
  s_->eval->add_option("--reference", s_->ea.reference,
                       "reference logits .npy[.gz] (N x classes) for agreement and KL");
  s_->eval->add_option("--batch,-b", s_->ea.batch, "batch size")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  s_->eval->add_option("--threads,-t", s_->ea.threads, "oneDNN threads (0 = all cores)")
      ->capture_default_str()
      ->check(CLI::Range(0, 4096));
  s_->eval->add_option("--executor", s_->ea.executor, "onednn | reference")->capture_default_str();
  s_->eval
      ->add_option("--precision", s_->ea.precision, "compute mode of every Conv/Gemm: fp32 | bf16")
      ->capture_default_str();
  s_->eval->add_flag("--json", s_->ea.json, "JSON output");

  s_->run = app.add_subcommand("run", "Run a model on an input tensor (.npy), write raw outputs");
  s_->run->add_option("--model,-m", s_->ra.model, "ONNX model")->required();
  s_->run->add_option("--input,-i", s_->ra.input, "input tensor .npy (float32)")->required();
  s_->run->add_option("--output,-o", s_->ra.output, "output .npy")->required();
  s_->run->add_option("--threads,-t", s_->ra.threads, "oneDNN threads (0 = all cores)")
      ->check(CLI::Range(0, 4096));
  s_->run->add_option("--executor", s_->ra.executor, "onednn | reference")->capture_default_str();
}

ModelCommands::~ModelCommands() = default;

std::optional<int> ModelCommands::run() const {
  if (*s_->inspect) return run_inspect(s_->ia);
  if (*s_->eval) return run_eval(s_->ea);
  if (*s_->run) return run_model(s_->ra);
  return std::nullopt;
}

}  // namespace autocompress::cli
