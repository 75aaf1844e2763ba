#include "cli/hw_commands.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/output_path.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/file.hpp"
#include "common/sha256.hpp"
#include "compressors/lowrank.hpp"
#include "compressors/prune.hpp"
#include "compressors/recipe.hpp"
#include "compressors/runnable.hpp"
#include "hwmodels/calibrate.hpp"
#include "hwmodels/energy.hpp"
#include "hwmodels/layer_desc.hpp"
#include "hwmodels/measure.hpp"
#include "hwmodels/predict_host.hpp"
#include "hwmodels/profile.hpp"
#include "model/onnx_io.hpp"

namespace autocompress::cli {

using nlohmann::json;

struct ProfileArgs {
  std::string model, target = "host", precision, recipe, cache;
  int64_t batch = 1;
  int wbits = 0, abits = 0, threads = 0, repeats = 20;
  bool json = false, measure = false, measure_unseen = false;
};

struct CalibrateArgs {
  std::string target = "host", from, output;
};

struct HwCommands::State {
  CLI::App* targets = nullptr;
  CLI::App* profile = nullptr;
  CLI::App* calibrate = nullptr;
  bool targets_json = false;
  ProfileArgs pa;
  CalibrateArgs ca;
};

namespace {

int run_targets(bool as_json) {
  const auto entries = list_profiles();
  if (as_json) {
    json rows = json::array();
    for (const auto& e : entries)
      rows.push_back(
          {{"name", e.name}, {"origin", e.origin}, {"path", e.path}, {"summary", e.summary}});
    std::cout << json{{"targets", rows}}.dump(2) << "\n";
    return 0;
  }
  for (const auto& e : entries)
    std::printf("%-14s %-8s %s\n", e.name.c_str(), e.origin.c_str(), e.summary.c_str());
  if (entries.empty()) std::printf("no target profiles found\n");
  std::printf("\nsearched:");
  for (const auto& d : profile_dirs()) std::printf(" %s (%s)", d.path.c_str(), d.origin.c_str());
  std::printf("\n");
  return 0;
}

// The model a recipe makes, for costing: pruned by the recipe's group ratios, factorized where
// rank < 1, each Conv/Gemm (both factors of a factorized one) carrying the recipe's precision and
// weight bits as attributes (model/graph.hpp). Weights are not refitted or quantized: latency and
// energy depend on shapes and modes only, so no calibration data is needed (compressors/apply.hpp
// builds the real model, with the same shapes; its int8 layers need calibration data).
Graph compressed_for_costing(const Graph& g, const ProfileArgs& a, const Profile& p) {
  if (a.recipe.empty()) return g;
  const Recipe r = load_recipe(a.recipe);
  std::set<Precision> legal(p.precisions.begin(), p.precisions.end());
  validate_recipe(r, g, {sha256_file(a.model), legal});
  // Default PruneOptions, as apply() prunes: the same kept channel counts.
  Graph out = prune(g, group_prune_ratios(r, dependency_groups(g)), PruneOptions{});
  std::map<std::string, double> ranks;
  for (const auto& l : weighted_layers(out))
    if (r.settings(l.name).rank < 1) ranks[l.name] = r.settings(l.name).rank;
  if (!ranks.empty()) out = factorize(out, ranks);
  set_mode_attrs(out, r);
  return out;
}

json layer_json(const LayerDesc& d, const LayerCost& c, const LayerEnergy& e) {
  return {{"name", d.name},
          {"kind", kind_name(d.kind)},
          {"precision", precision_name(d.precision)},
          {"wbits", d.wbits},
          {"abits", d.abits},
          {"macs", layer_macs(d)},
          {"padded_macs", c.macs},
          {"weight_bytes", c.weight_bytes},
          {"input_bytes", c.input_bytes},
          {"output_bytes", c.output_bytes},
          {"dram_bytes", c.dram_bytes},
          {"bound", bound_name(c.bound)},
          {"compute_s", c.compute_s},
          {"memory_s", c.memory_s},
          {"latency_s", c.latency_s},
          {"energy_pj", e.total_pj()}};
}

std::string shorten(const std::string& s, size_t n) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - (n - 3));
}

// Per-layer figures of one run of `profile`: the roofline / energy prediction on the target,
// the host prediction (--target host) and a measurement (--measure).
struct ProfileRun {
  std::vector<LayerDesc> schedule;
  Prediction roof;
  std::optional<HostModel> hm;
  std::optional<HostPrediction> host;
  std::optional<Measurement> meas;
  std::string cache_path;
  double latency(size_t k) const { return host ? host->layer_s[k] : roof.cost[k].latency_s; }
  double total() const { return host ? host->total_s : roof.latency_s; }
};

std::string precision_label(const LayerDesc& d, const Profile& p) {
  if (d.precision == Precision::kInt8 && p.bit_flexible && d.wbits)
    return "w" + std::to_string(d.wbits) + "a" + std::to_string(d.abits);
  if (d.wbits && d.wbits < precision_bits(d.precision))
    return std::string(precision_name(d.precision)) + "w" + std::to_string(d.wbits);
  return precision_name(d.precision);
}

void print_error(double pred, double meas) {
  if (meas > 0) std::printf(" %11.2f %+7.1f%%", meas * 1e6, 100 * (pred - meas) / meas);
}

void print_table(const ProfileArgs& a, const Profile& p, const ProfileRun& run) {
  std::printf("%s%s%s on %s (%s), batch %lld; energy %s\n", a.model.c_str(),
              a.recipe.empty() ? "" : " with ", a.recipe.c_str(), p.name.c_str(),
              p.verified ? "verified" : "unverified", (long long)a.batch, p.energy.label.c_str());
  if (run.host)
    std::printf("latency: cached measurements (src meas) else the calibrated roofline (model)\n");
  std::printf("\n%-40s %-9s %-7s %12s %12s %-7s %11s", "layer", "kind", "prec", "MACs",
              "DRAM bytes", "bound", "pred us");
  if (run.host) std::printf(" %-5s", "src");
  std::printf(" %11s", "energy uJ");
  if (run.meas) std::printf(" %11s %8s", "meas us", "error");
  std::printf("\n");
  int64_t macs = 0;
  double bytes = 0;
  const auto& s = run.schedule;
  for (size_t k = 0; k < s.size(); ++k) {
    const auto& c = run.roof.cost[k];
    macs += layer_macs(s[k]);
    bytes += c.dram_bytes;
    std::printf("%-40s %-9s %-7s %12lld %12.0f %-7s %11.2f", shorten(s[k].name, 40).c_str(),
                kind_name(s[k].kind), precision_label(s[k], p).c_str(), (long long)layer_macs(s[k]),
                c.dram_bytes, bound_name(c.bound), run.latency(k) * 1e6);
    if (run.host) std::printf(" %-5s", run.host->measured[k] ? "meas" : "model");
    std::printf(" %11.3f", run.roof.energy[k].total_pj() * 1e-6);
    if (run.meas) print_error(run.latency(k), run.meas->layer_s[k]);
    std::printf("\n");
  }
  std::printf("%-40s %-9s %-7s %12lld %12.0f %-7s %11.2f", "total", "", "", (long long)macs, bytes,
              "", run.total() * 1e6);
  if (run.host) std::printf(" %-5s", "");
  std::printf(" %11.3f", run.roof.energy_pj * 1e-6);
  if (run.meas) print_error(run.total(), run.meas->model_s);
  std::printf("\n");
  if (run.hm)
    std::printf(
        "\nhost model (%s, %d threads): %d cached layers, %d whole-model runs; total = "
        "%.3f x layers + reorders + %.1f us\n",
        run.cache_path.c_str(), run.hm->threads, run.hm->layer_samples, run.hm->model_samples,
        run.hm->layer_scale, run.hm->fixed_s * 1e6);
}

// --target host: cached per-layer measurements + the fitted roofline (hwmodels/predict_host.hpp).
// A --measure run is recorded in the cache after predicting, so it never predicts itself. The
// cache: --cache, else the default path; an unusable default (no home directory) leaves the host
// model uncached rather than failing.
void predict_on_host(const Graph& g, const ProfileArgs& a, const Profile& p, ProfileRun& run) {
  std::string why;
  auto cache = open_measure_cache(a.cache, &why);
  if (!cache)
    std::fprintf(stderr, "warning: no measurement cache (%s); host latency is modeled\n",
                 why.c_str());
  const int threads = measured_threads(a.threads);
  run.hm =
      cache ? load_host_model(p, *cache, threads) : fit_host_model(p, {}, threads, this_host());
  run.cache_path = cache ? cache->path() : "no cache";
  run.roof = predict(run.schedule, run.hm->profile);
  run.host = cache && a.measure_unseen
                 ? predict_host(g, run.schedule, *run.hm, *cache, {true, a.repeats})
                 : predict_host(run.schedule, *run.hm);
  if (run.meas && cache) record(*cache, run.schedule, *run.meas, threads, a.repeats);
}

json profile_json(const ProfileArgs& a, const Profile& p, const ProfileRun& run) {
  json rows = json::array();
  for (size_t k = 0; k < run.schedule.size(); ++k) {
    rows.push_back(layer_json(run.schedule[k], run.roof.cost[k], run.roof.energy[k]));
    rows.back()["latency_s"] = run.latency(k);
    if (run.host) rows.back()["source"] = run.host->measured[k] ? "measured" : "modeled";
    if (run.meas) rows.back()["measured_s"] = run.meas->layer_s[k];
  }
  json total{{"latency_s", run.total()}, {"energy_pj", run.roof.energy_pj}};
  if (run.meas) total["measured_s"] = run.meas->model_s;
  json out{
      {"model", a.model}, {"target", p.name}, {"verified", p.verified},        {"batch", a.batch},
      {"layers", rows},   {"total", total},   {"energy_label", p.energy.label}};
  if (!a.recipe.empty()) out["recipe"] = a.recipe;
  if (run.hm)
    out["host_model"] = {{"cache", run.cache_path},
                         {"threads", run.hm->threads},
                         {"layer_samples", run.hm->layer_samples},
                         {"model_samples", run.hm->model_samples},
                         {"layer_scale", run.hm->layer_scale},
                         {"fixed_s", run.hm->fixed_s}};
  return out;
}

int run_profile(const ProfileArgs& a) {
  const Profile p = find_profile(a.target);
  Graph g = compressed_for_costing(load_onnx(a.model), a, p);
  // On the host, int8 and weight-quantized layers are costed and measured as the evaluator runs
  // their QDQ model (Q/DQ steps, float stems; compressors/runnable.hpp).
  if (p.name == "host") g = runnable_model(g);
  LayerPrecision lp{p.precisions[0], a.wbits, a.abits};
  if (!a.precision.empty()) lp.mode = parse_mode(a.precision, "--precision");
  ProfileRun run;
  run.schedule = describe(g, a.batch, graph_precisions(g), lp);
  // Measured as the graph is: a recipe's modes are in it; --precision/--wbits only re-cost it.
  if (a.measure) run.meas = measure(g, run.schedule, {a.batch, a.threads, a.repeats});
  if (p.name == "host")
    predict_on_host(g, a, p, run);
  else
    run.roof = predict(run.schedule, p);
  if (a.json)
    std::cout << profile_json(a, p, run).dump(2) << "\n";
  else
    print_table(a, p, run);
  return 0;
}

// The profile's own JSON with the fitted fields replaced, so everything else (sources, energy)
// is kept as the user wrote it.
json fitted_profile_json(const Profile& p, const CalibrationFit& fit, const CalibrateArgs& a) {
  json j = json::parse(read_file(p.file, "cannot read"));
  for (int k = 0; k < kNumKinds; ++k)
    j["efficiency"][kind_name(LayerKind(k))] = fit.profile.efficiency[k];
  j["overhead_s"] = fit.profile.overhead_s;
  const std::string how = "fitted by autocompress calibrate from " + a.from;
  j["sources"]["efficiency"] = how;
  j["sources"]["overhead_s"] = how;
  return j;
}

int run_calibrate(const CalibrateArgs& a) {
  const Profile p = find_profile(a.target);
  refuse_input_as_output("--output", a.output,
                         {{"latency CSV", a.from}, {"target profile", p.file}});
  const auto samples = parse_latency_csv(read_file(a.from, "cannot read"), a.from);
  const CalibrationFit fit = calibrate(p, samples);
  const json out = fitted_profile_json(p, fit, a);
  parse_profile(out.dump(), a.output.empty() ? "(output)" : a.output);  // still a valid profile
  std::FILE* log = a.output.empty() ? stderr : stdout;
  std::fprintf(log, "%s: %zu layers from %s\n", p.name.c_str(), samples.size(), a.from.c_str());
  for (int k = 0; k < kNumKinds; ++k)
    if (fit.samples[k])
      std::fprintf(log, "  %-9s %5d layers  efficiency %.4g -> %.4g\n", kind_name(LayerKind(k)),
                   fit.samples[k], p.efficiency[k], fit.profile.efficiency[k]);
  std::fprintf(log, "  overhead  %.3g us -> %.3g us; rms relative error %.1f%%\n",
               p.overhead_s * 1e6, fit.profile.overhead_s * 1e6, 100 * fit.rms_relative_error);
  if (a.output.empty()) {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  write_file_atomically(a.output, out.dump(2) + "\n");
  return 0;
}

}  // namespace

HwCommands::HwCommands(CLI::App& app) : s_(std::make_unique<State>()) {
  s_->targets = app.add_subcommand("targets", "List the target profiles (bundled and user)");
  s_->targets->add_flag("--json", s_->targets_json, "JSON output");

  ProfileArgs& a = s_->pa;
  auto* c = app.add_subcommand("profile", "Predict per-layer latency and energy on a target");
  s_->profile = c;
  c->add_option("--model,-m", a.model, "ONNX model")->required();
  c->add_option("--target,-T", a.target, "target profile name or .json path")
      ->capture_default_str();
  c->add_option("--batch,-b", a.batch, "batch size")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  c->add_option("--precision", a.precision,
                "fp32 | bf16 | int8 for every Conv/Gemm (default: the target's first mode)");
  c->add_option("--wbits", a.wbits, "weight bits (0 = the mode's width)")->check(CLI::Range(0, 32));
  c->add_option("--abits", a.abits, "activation bits (0 = the mode's width)")
      ->check(CLI::Range(0, 32));
  c->add_option("--recipe,-r", a.recipe, "recipe JSON: per-layer prune, rank, precision, bits");
  c->add_flag("--measure", a.measure,
              "also measure per-layer and whole-model latency here with oneDNN (recorded in the "
              "measurement cache for --target host)");
  c->add_flag("--measure-unseen", a.measure_unseen,
              "--target host: measure the model first when a layer's shape is not cached");
  c->add_option("--cache", a.cache,
                "measurement cache (default $AC_MEASURE_CACHE, else "
                "~/.cache/autocompress/measurements.db)");
  c->add_option("--threads,-t", a.threads, "oneDNN threads deployed with (0 = all cores)")
      ->check(CLI::Range(0, 4096));
  c->add_option("--repeats", a.repeats, "timed runs for --measure (median)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  c->add_flag("--json", a.json, "JSON output");

  CalibrateArgs& ca = s_->ca;
  auto* cal = app.add_subcommand(
      "calibrate", "Fit a profile's efficiency factors and overhead to measured layer latencies");
  s_->calibrate = cal;
  cal->add_option("--target,-T", ca.target, "target profile name or .json path")
      ->capture_default_str();
  cal->add_option("--from", ca.from, "CSV of 'signature,latency_seconds' lines")->required();
  cal->add_option("--output,-o", ca.output, "write the fitted profile here (default: stdout)");
}

HwCommands::~HwCommands() = default;

std::optional<int> HwCommands::run() const {
  if (*s_->targets) return run_targets(s_->targets_json);
  if (*s_->profile) return run_profile(s_->pa);
  if (*s_->calibrate) return run_calibrate(s_->ca);
  return std::nullopt;
}

}  // namespace autocompress::cli
