#include "cli/hw_commands.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "evaluator/onednn_executor.hpp"
#include "hwmodels/calibrate.hpp"
#include "hwmodels/energy.hpp"
#include "hwmodels/layer_desc.hpp"
#include "hwmodels/profile.hpp"
#include "model/onnx_io.hpp"

namespace autocompress::cli {

using nlohmann::json;

struct ProfileArgs {
  std::string model, target = "host", precision;
  int64_t batch = 1;
  int wbits = 0, abits = 0, threads = 0, repeats = 20;
  bool json = false, measure = false;
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

// Median seconds per schedule entry measured with the oneDNN evaluator (steps matched by node
// name; reorders the evaluator inserts count towards the node they prepare), and the total.
struct Measured {
  std::vector<double> per_layer;
  double total = 0;
};

Measured measure(const Graph& g, const std::vector<LayerDesc>& schedule, const ProfileArgs& a) {
  for (const auto& d : schedule)
    if (d.precision != Precision::kFp32 || (d.wbits && d.wbits != 32))
      throw UsageError("--measure runs the model as it is (fp32); layer '" + d.name + "' is " +
                       precision_name(d.precision));
  auto ex = compile(g, {a.batch, a.threads});
  std::vector<HostTensor> inputs;
  for (const auto& in : g.inputs) {
    HostTensor t{with_batch(g.value(in).shape, a.batch), {}};
    t.data.resize(size_t(numel(t.shape)));
    for (size_t k = 0; k < t.data.size(); ++k) t.data[k] = float(k % 17) / 17.0f - 0.5f;
    inputs.push_back(std::move(t));
  }
  Measured m;
  m.per_layer.assign(schedule.size(), 0.0);
  for (const auto& s : profile_steps(*ex, inputs, a.repeats)) {
    m.total += s.seconds;
    for (size_t k = 0; k < schedule.size(); ++k)
      if (schedule[k].name == s.node) {
        m.per_layer[k] += s.seconds;
        break;
      }
  }
  return m;
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

void print_table(const ProfileArgs& a, const Profile& p, const std::vector<LayerDesc>& s,
                 const Prediction& r, const Measured* m) {
  std::printf("%s on %s (%s), batch %lld; energy %s\n\n", a.model.c_str(), p.name.c_str(),
              p.verified ? "verified" : "unverified", (long long)a.batch, p.energy.label.c_str());
  std::printf("%-40s %-9s %-5s %12s %12s %-7s %11s %11s", "layer", "kind", "prec", "MACs",
              "DRAM bytes", "bound", "pred us", "energy uJ");
  if (m) std::printf(" %11s %8s", "meas us", "error");
  std::printf("\n");
  int64_t macs = 0;
  double bytes = 0;
  for (size_t k = 0; k < s.size(); ++k) {
    const auto& c = r.cost[k];
    macs += layer_macs(s[k]);
    bytes += c.dram_bytes;
    std::string prec = precision_name(s[k].precision);
    if (s[k].precision == Precision::kInt8 && p.bit_flexible && s[k].wbits)
      prec = "w" + std::to_string(s[k].wbits) + "a" + std::to_string(s[k].abits);
    std::printf("%-40s %-9s %-5s %12lld %12.0f %-7s %11.2f %11.3f", shorten(s[k].name, 40).c_str(),
                kind_name(s[k].kind), prec.c_str(), (long long)layer_macs(s[k]), c.dram_bytes,
                bound_name(c.bound), c.latency_s * 1e6, r.energy[k].total_pj() * 1e-6);
    if (m && m->per_layer[k] > 0)
      std::printf(" %11.2f %+7.1f%%", m->per_layer[k] * 1e6,
                  100 * (c.latency_s - m->per_layer[k]) / m->per_layer[k]);
    std::printf("\n");
  }
  std::printf("%-40s %-9s %-5s %12lld %12.0f %-7s %11.2f %11.3f", "total", "", "", (long long)macs,
              bytes, "", r.latency_s * 1e6, r.energy_pj * 1e-6);
  if (m) std::printf(" %11.2f %+7.1f%%", m->total * 1e6, 100 * (r.latency_s - m->total) / m->total);
  std::printf("\n");
}

int run_profile(const ProfileArgs& a) {
  const Profile p = find_profile(a.target);
  const Graph g = load_onnx(a.model);
  LayerPrecision lp{p.precisions[0], a.wbits, a.abits};
  if (!a.precision.empty()) lp.mode = parse_mode(a.precision, "--precision");
  const auto schedule = describe(g, a.batch, {}, lp);
  const Prediction r = predict(schedule, p);
  std::optional<Measured> m;
  if (a.measure) m = measure(g, schedule, a);
  if (!a.json) {
    print_table(a, p, schedule, r, m ? &*m : nullptr);
    return 0;
  }
  json rows = json::array();
  for (size_t k = 0; k < schedule.size(); ++k) {
    rows.push_back(layer_json(schedule[k], r.cost[k], r.energy[k]));
    if (m) rows.back()["measured_s"] = m->per_layer[k];
  }
  json total{{"latency_s", r.latency_s}, {"energy_pj", r.energy_pj}};
  if (m) total["measured_s"] = m->total;
  std::cout << json{{"model", a.model},       {"target", p.name},
                    {"verified", p.verified}, {"energy_label", p.energy.label},
                    {"batch", a.batch},       {"layers", rows},
                    {"total", total}}
                   .dump(2)
            << "\n";
  return 0;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path, "cannot read");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The profile's own JSON with the fitted fields replaced, so everything else (sources, energy)
// is kept as the user wrote it.
json fitted_profile_json(const Profile& p, const CalibrationFit& fit, const CalibrateArgs& a) {
  json j = json::parse(read_text(p.file));
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
  const auto samples = parse_latency_csv(read_text(a.from), a.from);
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
  std::ofstream f(a.output);
  if (!(f << out.dump(2) << "\n")) throw IoError(a.output, "cannot write");
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
  c->add_flag("--measure", a.measure, "also measure per-layer latency here with oneDNN (fp32)");
  c->add_option("--threads,-t", a.threads, "oneDNN threads for --measure (0 = all cores)")
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
