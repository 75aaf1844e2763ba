// The autocompress command line. The only place that knows about the terminal, and the one place
// where typed errors become messages and exit codes.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include "cli/compress_commands.hpp"
#include "cli/hw_commands.hpp"
#include "cli/pareto_commands.hpp"
#include "cli/search_commands.hpp"
#include "cli/serve_commands.hpp"
#include "cli/storage_commands.hpp"
#include "common/error.hpp"
#include "data/dataset.hpp"
#include "evaluator/evaluate.hpp"
#include "evaluator/onednn_executor.hpp"
#include "evaluator/reference.hpp"
#include "model/onnx_io.hpp"

namespace ac = autocompress;
using nlohmann::json;

namespace {

constexpr const char* kDefaultData = "/usr/share/datasets/fashion-mnist";

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string human(double v) {
  if (v >= 1e9) return fmt("%.2f G", v / 1e9);
  if (v >= 1e6) return fmt("%.2f M", v / 1e6);
  if (v >= 1e3) return fmt("%.1f k", v / 1e3);
  return fmt("%.0f ", v);
}

// ---------------------------------------------------------------- inspect
struct InspectArgs {
  std::string model;
  bool json = false;
};

int64_t node_params(const ac::Graph& g, const ac::Node& n) {
  int64_t p = 0;
  for (const auto& in : n.inputs)
    if (!in.empty() && g.is_initializer(in) && g.initializer(in).is_float())
      p += g.initializer(in).size();
  return p;
}

int inspect(const InspectArgs& a) {
  const ac::Graph g = ac::load_onnx(a.model);
  int64_t params = 0, macs = 0;
  json rows = json::array();
  for (const auto& n : g.nodes) {
    const int64_t p = node_params(g, n), m = ac::node_macs(g, n);
    params += p;
    macs += m;
    std::string in = n.inputs.empty() ? "" : ac::shape_str(g.value(n.inputs[0]).shape);
    rows.push_back({{"name", n.name}, {"op", n.op}, {"input", in},
                    {"output", ac::shape_str(g.value(n.outputs[0]).shape)},
                    {"params", p}, {"macs", m}});
  }
  if (a.json) {
    std::cout << json{{"model", a.model}, {"opset", g.opset}, {"nodes", rows},
                      {"total_params", params}, {"total_macs", macs},
                      {"weighted_layers", ac::weighted_layers(g).size()}}
                     .dump(2)
              << "\n";
    return 0;
  }
  std::printf("%s  (opset %lld, input %s, output %s)\n\n", a.model.c_str(), (long long)g.opset,
              ac::shape_str(g.value(g.inputs.at(0)).shape).c_str(),
              ac::shape_str(g.value(g.outputs.at(0)).shape).c_str());
  std::printf("%-28s %-20s %-18s %-18s %10s %12s\n", "name", "op", "input", "output", "params",
              "MACs");
  for (const auto& r : rows)
    std::printf("%-28s %-20s %-18s %-18s %10lld %12lld\n", r["name"].get<std::string>().c_str(),
                r["op"].get<std::string>().c_str(), r["input"].get<std::string>().c_str(),
                r["output"].get<std::string>().c_str(), (long long)r["params"].get<int64_t>(),
                (long long)r["macs"].get<int64_t>());
  std::printf("\n%zu nodes, %zu weighted layers, %sparams (%sB fp32), %sMACs per sample\n",
              g.nodes.size(), ac::weighted_layers(g).size(), human(double(params)).c_str(),
              human(4.0 * double(params)).c_str(), human(double(macs)).c_str());
  return 0;
}

// ---------------------------------------------------------------- eval
struct EvalArgs {
  std::string model, data = kDefaultData, labels, split = "test", reference, executor = "onednn";
  std::string precision = "fp32";
  int64_t batch = 256, limit = 0;
  int threads = 0;
  bool json = false;
};

std::unique_ptr<ac::Executor> make_executor(const std::string& kind, const ac::Graph& g,
                                            int64_t batch, int threads) {
  if (kind == "onednn") return ac::compile(g, {batch, threads});
  if (kind == "reference") return ac::make_reference_executor(g);
  throw ac::UsageError("--executor must be 'onednn' or 'reference', got '" + kind + "'");
}

ac::Dataset load_data(const EvalArgs& a, const ac::Normalization& norm) {
  if (std::filesystem::is_directory(a.data))
    return ac::load_mnist_dir(a.data, ac::parse_split(a.split), norm, a.limit);
  return ac::load_images(a.data, a.labels, norm, a.limit);
}

void print_eval(const EvalArgs& a, const ac::Graph& g, const ac::Dataset& ds,
                const ac::EvalResult& r, double compile_s, int threads) {
  const auto& m = r.metrics;
  if (a.json) {
    json j{{"model", a.model},         {"data", ds.source},       {"images", m.count},
           {"precision", a.precision},
           {"batch", a.batch},         {"threads", threads},      {"executor", a.executor},
           {"seconds", r.seconds},     {"images_per_s", r.images_per_s},
           {"compile_seconds", compile_s}};
    if (std::filesystem::is_directory(a.data)) j["split"] = a.split;
    if (m.top1) j["top1"] = *m.top1;
    if (m.top5) j["top5"] = *m.top5;
    if (m.agreement) j["agreement"] = *m.agreement;
    if (m.kl) j["kl"] = *m.kl;
    std::cout << j.dump(2) << "\n";
    return;
  }
  const auto layers = ac::weighted_layers(g);
  int64_t macs = 0;
  for (const auto& l : layers) macs += l.macs;
  std::printf("model      %s (%zu weighted layers, %sMACs per image)\n", a.model.c_str(),
              layers.size(), human(double(macs)).c_str());
  std::printf("data       %s (%lld images)\n", ds.source.c_str(), (long long)m.count);
  if (m.top1) std::printf("top-1      %.2f %%\n", 100 * *m.top1);
  if (m.top5) std::printf("top-5      %.2f %%\n", 100 * *m.top5);
  if (m.agreement) std::printf("agreement  %.2f %% top-1 with %s\n", 100 * *m.agreement,
                               a.reference.c_str());
  if (m.kl) std::printf("KL         %.3g nats (mean, reference || model)\n", *m.kl);
  std::printf("speed      %.0f images/s, %.3f s wall (%s %s, batch %lld, %d threads; compile %.3f s)\n",
              r.images_per_s, r.seconds, a.executor.c_str(), a.precision.c_str(),
              (long long)a.batch, threads, compile_s);
}

int eval(const EvalArgs& a) {
  ac::Graph g = ac::load_onnx(a.model);
  if (a.precision != "fp32") {  // every Conv/Gemm computes in this mode (graph.hpp)
    if (a.precision != "bf16")
      throw ac::UsageError("--precision must be fp32 or bf16, got '" + a.precision + "'");
    for (auto& n : g.nodes)
      if (n.op == "Conv" || n.op == "Gemm") n.attrs["precision"] = a.precision;
  }
  const ac::Dataset ds = load_data(a, ac::model_normalization(g));
  ac::check_fits(ds, g.value(g.inputs.at(0)).shape);
  std::vector<float> ref;
  if (!a.reference.empty()) {
    ac::Array arr = ac::read_npy(a.reference);
    if (arr.dtype != ac::DType::kFloat) throw ac::DataError(a.reference, "reference logits must be float32");
    if (arr.shape.size() != 2 || arr.shape[0] < ds.size())
      throw ac::DataError(a.reference, "reference logits must be [N, classes] with N >= " +
                                           std::to_string(ds.size()) + ", got " +
                                           ac::shape_str(arr.shape));
    ref = std::move(arr.f);
    ref.resize(ds.size() * arr.shape[1]);  // --limit keeps the first images
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto ex = make_executor(a.executor, g, a.batch, a.threads);
  const double compile_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto r = ac::evaluate(*ex, g, ds, a.batch, ref);
  print_eval(a, g, ds, r, compile_s, a.threads > 0 ? a.threads : omp_get_max_threads());
  return 0;
}

// ---------------------------------------------------------------- run
struct RunArgs {
  std::string model, input, output, executor = "onednn";
  int threads = 0;
};

int run(const RunArgs& a) {
  const ac::Graph g = ac::load_onnx(a.model);
  if (g.inputs.size() != 1 || g.outputs.size() != 1)
    throw ac::UsageError("run supports models with one input and one output");
  ac::Array x = ac::read_npy(a.input);
  ac::HostTensor in{x.shape, {}};
  if (x.dtype == ac::DType::kFloat) {
    in.data = std::move(x.f);
  } else {
    throw ac::DataError(a.input, std::string("input must be float32, got ") + ac::dtype_name(x.dtype));
  }
  auto ex = make_executor(a.executor, g, in.shape.empty() ? 1 : in.shape[0], a.threads);
  const auto out = ex->run({in});
  ac::write_npy(a.output, out[0].shape, out[0].data);
  std::printf("wrote %s %s\n", a.output.c_str(), ac::shape_str(out[0].shape).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"autocompress: automated compression search for trained neural networks"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("autocompress 0.1.0, oneDNN ") +
                                        std::to_string(dnnl::version()->major) + "." +
                                        std::to_string(dnnl::version()->minor) + "." +
                                        std::to_string(dnnl::version()->patch));

  InspectArgs ia;
  auto* inspect_cmd = app.add_subcommand("inspect", "Show a model's layers, shapes, params, MACs");
  inspect_cmd->add_option("--model,-m", ia.model, "ONNX model")->required();
  inspect_cmd->add_flag("--json", ia.json, "JSON output");

  EvalArgs ea;
  auto* eval_cmd = app.add_subcommand("eval", "Evaluate a model on a dataset");
  eval_cmd->add_option("--model,-m", ea.model, "ONNX model")->required();
  eval_cmd->add_option("--data,-d", ea.data,
                       "Fashion-MNIST-style directory, IDX images file, or images .npy")
      ->capture_default_str();
  eval_cmd->add_option("--labels", ea.labels, "labels file (.npy or IDX) for --data files");
  eval_cmd->add_option("--split", ea.split, "train | val | test (directories only; val = last 10k of train)")
      ->capture_default_str();
  eval_cmd->add_option("--reference", ea.reference,
                       "reference logits .npy[.gz] (N x classes) for agreement and KL");
  eval_cmd->add_option("--batch,-b", ea.batch, "batch size")->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  eval_cmd->add_option("--threads,-t", ea.threads, "oneDNN threads (0 = all cores)")->capture_default_str()->check(CLI::Range(0, 4096));
  eval_cmd->add_option("--limit", ea.limit, "evaluate only the first N images")->check(CLI::Range(int64_t(0), int64_t(1) << 40));
  eval_cmd->add_option("--executor", ea.executor, "onednn | reference")->capture_default_str();
  eval_cmd->add_option("--precision", ea.precision, "compute mode of every Conv/Gemm: fp32 | bf16")
      ->capture_default_str();
  eval_cmd->add_flag("--json", ea.json, "JSON output");

  RunArgs ra;
  auto* run_cmd = app.add_subcommand("run", "Run a model on an input tensor (.npy), write raw outputs");
  run_cmd->add_option("--model,-m", ra.model, "ONNX model")->required();
  run_cmd->add_option("--input,-i", ra.input, "input tensor .npy (float32)")->required();
  run_cmd->add_option("--output,-o", ra.output, "output .npy")->required();
  run_cmd->add_option("--threads,-t", ra.threads, "oneDNN threads (0 = all cores)")->check(CLI::Range(0, 4096));
  run_cmd->add_option("--executor", ra.executor, "onednn | reference")->capture_default_str();

  ac::cli::HwCommands hw_commands(app);  // targets, profile
  ac::cli::CompressCommands compress_commands(app);  // apply, inspect --recipe
  ac::cli::StorageCommands storage_commands(app);  // studies, trials, export
  ac::cli::SearchCommands search_commands(app);    // search, ask, tell, sensitivity
  ac::cli::ParetoCommands pareto_commands(app);    // pareto, report
  ac::cli::ServeCommands serve_commands(app);      // serve (external samplers)

  try {
    app.parse(argc, argv);
    if (auto rc = hw_commands.run()) return *rc;
    if (auto rc = storage_commands.run()) return *rc;
    if (auto rc = search_commands.run()) return *rc;
    if (auto rc = pareto_commands.run()) return *rc;
    if (auto rc = serve_commands.run()) return *rc;
    if (auto rc = compress_commands.run()) return *rc;
    if (*inspect_cmd) return inspect(ia);
    if (*eval_cmd) return eval(ea);
    if (*run_cmd) return run(ra);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const ac::Error& e) {
    std::fprintf(stderr, "autocompress: error: %s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "autocompress: internal error: %s\n", e.what());
    return 1;
  }
  return 0;
}
