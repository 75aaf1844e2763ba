// The host prediction-accuracy study: random recipes on the example model
// and the torchvision fixtures, predicted vs measured whole-model latency at the deploy batch and
// thread count. The host model (hwmodels/predict_host.hpp) is calibrated on one set of compressed
// models (calibration recipes, measured into a fresh cache) and tested on another (test recipes,
// never measured before their prediction). Reported next to the noise floor (a second
// measurement of each test model) and a FLOPs-only predictor fitted on the same calibration set:
// the share within +-10 %, Spearman rank correlation overall, per model and within latency bands,
// and per-layer error quantiles. Results in BENCHMARKS.md with the exact command.
//
// Random recipes: each prunable dependency group pruned with probability q_prune by 25/50/75 %
// (channels kept in multiples of 16); each Conv/Gemm (group 1) factorized with probability q_rank
// to rank 25/50 %; each Conv/Gemm (both factors of a factorized one) in int8 with probability
// q_int8 (--int8 caps it; 0 gives the float-only study), else bf16 with probability q_bf16; its
// weights at 4 bits with probability q_w4 (int8: 4-bit weights; fp32 / bf16: weight-only); the
// probabilities drawn per recipe, so recipes range from untouched to heavily compressed, float
// only to int8 throughout. Weights are not refitted: latency depends on shapes and modes only.
// int8 and 4-bit layers are quantized as `apply` does, on synthetic activation statistics
// (compressors/runnable.hpp), and described as the evaluator lowers the QDQ graph.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "compressors/dependency.hpp"
#include "compressors/lowrank.hpp"
#include "compressors/prune.hpp"
#include "compressors/recipe.hpp"
#include "compressors/runnable.hpp"
#include "hwmodels/calibrate.hpp"
#include "hwmodels/measure.hpp"
#include "hwmodels/predict_host.hpp"
#include "hwmodels/roofline.hpp"
#include "model/onnx_io.hpp"
#include "rank_stats.hpp"

namespace ac = autocompress;

namespace {

struct Args {
  int64_t batch = 8;
  int threads = 1, repeats = 15, calib = 20, test = 50;
  uint64_t seed = 1;
  double int8 = 0.6;  // the largest per-recipe int8 probability
  std::string csv, layers_csv;
  std::vector<std::string> models = {"examples/fashion_cnn.onnx", "tests/fixtures/resnet18_32.onnx",
                                     "tests/fixtures/mobilenet_v2_64.onnx"};
};

struct Candidate {
  std::string model;  // file stem
  int recipe = 0;
  ac::Graph g;
  std::vector<ac::LayerDesc> schedule;
  double macs = 0, bf16_share = 0, int8_share = 0;
  double weight_bytes = 0;  // as the evaluator stores them (fp32 4, bf16 2, int8 1 byte)
};

template <class T>
T pick(std::mt19937_64& rng, std::initializer_list<T> v) {
  return *(v.begin() + std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng));
}

bool chance(std::mt19937_64& rng, double q) {
  return std::uniform_real_distribution<double>(0, 1)(rng) < q;
}

ac::Graph random_compression(const ac::Graph& base, std::mt19937_64& rng, double int8) {
  std::uniform_real_distribution<double> u(0, 1);
  const double q_prune = u(rng) * 0.7, q_rank = u(rng) * 0.4, q_bf16 = u(rng);
  // Drawn after the float study's three, so --int8 0 gives its recipes back.
  const double q_int8 = int8 > 0 ? u(rng) * int8 : 0, q_w4 = int8 > 0 ? u(rng) * 0.5 : 0;
  std::map<int, double> ratios;
  for (const auto& grp : ac::dependency_groups(base))
    if (grp.prunable && chance(rng, q_prune)) ratios[grp.id] = pick(rng, {0.25, 0.5, 0.75});
  ac::Graph g = ac::prune(base, ratios, {});
  std::map<std::string, double> ranks;
  for (const auto& n : g.nodes)
    if ((n.op == "Gemm" || (n.op == "Conv" && n.i("group", 1) == 1)) && chance(rng, q_rank))
      ranks[n.name] = pick(rng, {0.25, 0.5});
  if (!ranks.empty()) g = ac::factorize(g, ranks);
  ac::Recipe modes;  // by layer, so both factors agree
  for (const auto& n : g.nodes) {
    if (n.op != "Conv" && n.op != "Gemm") continue;
    const std::string layer = ac::recipe_layer_of(n.name);
    if (modes.layers.count(layer)) continue;
    const bool i8 = q_int8 > 0 && chance(rng, q_int8), bf = !i8 && chance(rng, q_bf16);
    const bool w4 = int8 > 0 && chance(rng, q_w4);
    ac::LayerOverride& m = modes.layers[layer];
    m.precision = i8 ? ac::Precision::kInt8 : bf ? ac::Precision::kBf16 : ac::Precision::kFp32;
    m.wbits = w4 ? 4 : 8;
  }
  ac::set_mode_attrs(g, modes);
  return ac::runnable_model(g);
}

Candidate make_candidate(const std::string& path, const ac::Graph& base, int recipe,
                         const Args& a) {
  std::mt19937_64 rng(a.seed * 1000003 + uint64_t(recipe) * 7919 + std::hash<std::string>{}(path));
  Candidate c{path.substr(path.rfind('/') + 1), recipe, random_compression(base, rng, a.int8), {}};
  c.schedule = ac::describe(c.g, a.batch, ac::graph_precisions(c.g));
  double bf16_macs = 0, int8_macs = 0;
  for (const auto& d : c.schedule) {
    c.macs += double(ac::layer_macs(d));
    if (d.precision == ac::Precision::kBf16) bf16_macs += double(ac::layer_macs(d));
    if (d.precision == ac::Precision::kInt8) int8_macs += double(ac::layer_macs(d));
    if (d.wbits > 0)
      c.weight_bytes +=
          double(d.kh * d.kw * d.c_out * (d.c_in / d.groups)) * ac::precision_bits(d.precision) / 8;
  }
  c.bf16_share = bf16_macs / c.macs;
  c.int8_share = int8_macs / c.macs;
  return c;
}

ac::Measurement run(const Candidate& c, const Args& a) {
  return ac::measure(c.g, c.schedule, {a.batch, a.threads, a.repeats});
}

// --- statistics -------------------------------------------------------------------------------

// FLOPs-only: t = a x MACs + b, NNLS on rows weighted by 1 / t (relative errors).
struct FlopsModel {
  double per_mac = 0, fixed = 0;
  double operator()(double macs) const { return per_mac * macs + fixed; }
};

FlopsModel fit_flops(const std::vector<double>& macs, const std::vector<double>& seconds) {
  Eigen::MatrixXd A(Eigen::Index(macs.size()), 2);
  for (size_t i = 0; i < macs.size(); ++i)
    A.row(Eigen::Index(i)) << macs[i] / seconds[i] * 1e-9, 1 / seconds[i] * 1e-3;
  const Eigen::VectorXd x = ac::nnls_small(A, Eigen::VectorXd::Ones(A.rows()));
  return {x[0] * 1e-9, x[1] * 1e-3};
}

}  // namespace

namespace {

// A test model: predictions made before it was ever measured, then two measurements.
struct TestRow {
  const Candidate* c = nullptr;
  std::map<std::string, double> pred;  // predictor -> whole-model seconds
  double hit_share = 0;                // schedule layers found in the cache
  double meas1 = 0, meas2 = 0;
  double min1 = 0, min2 = 0;    // fastest runs of the two measurements
  std::vector<double> layer_s;  // per schedule entry, first measurement
};

const char* const kPredictors[] = {"host model (cache, scaled neighbours, fitted roofline)",
                                   "host model without the weights context (L3)",
                                   "host model without neighbour scaling",
                                   "host model, fitted roofline only (no cache lookups)",
                                   "host model, leave-one-architecture-out",
                                   "FLOPs only (a x MACs + b)"};
constexpr int kFlops = 5;

struct Fitted {
  ac::HostModel all, no_context, exact, cold;
  std::map<std::string, ac::HostModel> loao;  // model -> fitted without that model's entries
  FlopsModel flops;
};

Fitted calibrate_on(const std::map<std::string, std::vector<ac::CachedMeasurement>>& entries,
                    const std::vector<double>& macs, const std::vector<double>& seconds,
                    int threads) {
  const ac::Profile base = ac::find_profile("host");
  auto concat = [&](const std::string& except) {
    std::vector<ac::CachedMeasurement> out;
    for (const auto& [m, e] : entries)
      if (m != except) out.insert(out.end(), e.begin(), e.end());
    return out;
  };
  Fitted f;
  f.all = ac::fit_host_model(base, concat(""), threads, ac::this_host());
  f.all.llc_bytes = ac::host_llc_bytes();  // as load_host_model does on this host
  f.no_context = f.all;
  f.no_context.llc_bytes = 0;
  f.exact = f.all;
  f.exact.geometry.clear();
  f.cold = f.exact;
  f.cold.layers.clear();
  for (const auto& [m, e] : entries) {
    f.loao[m] = ac::fit_host_model(base, concat(m), threads, ac::this_host());
    f.loao[m].llc_bytes = f.all.llc_bytes;
  }
  f.flops = fit_flops(macs, seconds);
  return f;
}

void predict_row(TestRow& r, const Fitted& f) {
  const auto warm = ac::predict_host(r.c->schedule, f.all);
  r.pred[kPredictors[0]] = warm.total_s;
  r.hit_share = double(std::count(warm.measured.begin(), warm.measured.end(), true)) /
                double(warm.measured.size());
  r.pred[kPredictors[1]] = ac::predict_host(r.c->schedule, f.no_context).total_s;
  r.pred[kPredictors[2]] = ac::predict_host(r.c->schedule, f.exact).total_s;
  r.pred[kPredictors[3]] = ac::predict_host(r.c->schedule, f.cold).total_s;
  r.pred[kPredictors[4]] = ac::predict_host(r.c->schedule, f.loao.at(r.c->model)).total_s;
  r.pred[kPredictors[kFlops]] = f.flops(r.c->macs);
}

struct Summary {
  double within10 = 0, within20 = 0, median_err = 0, rho = 0, rho_models = 0, rho_bands = 0,
         rho_bands_min = 1;
};

// Spearman within each model and within its latency terciles (candidates a search must tell
// apart), averaged.
Summary summarize(const std::vector<TestRow>& rows, const std::vector<double>& pred,
                  const std::vector<double>& meas) {
  Summary s;
  s.within10 = share_within(pred, meas, 0.10);
  s.within20 = share_within(pred, meas, 0.20);
  std::vector<double> err;
  for (size_t i = 0; i < pred.size(); ++i) err.push_back(std::abs(pred[i] - meas[i]) / meas[i]);
  s.median_err = quantile(err, 0.5);
  s.rho = spearman(pred, meas);
  std::map<std::string, std::vector<size_t>> by_model;
  for (size_t i = 0; i < rows.size(); ++i) by_model[rows[i].c->model].push_back(i);
  int bands = 0;
  for (auto& [m, idx] : by_model) {
    std::vector<double> p, q;
    for (size_t i : idx) p.push_back(pred[i]), q.push_back(meas[i]);
    s.rho_models += spearman(p, q) / double(by_model.size());
    std::sort(idx.begin(), idx.end(), [&](size_t i, size_t j) { return meas[i] < meas[j]; });
    for (int b = 0; b < 3; ++b) {
      std::vector<double> bp, bq;
      for (size_t k = idx.size() * b / 3; k < idx.size() * (b + 1) / 3; ++k)
        bp.push_back(pred[idx[k]]), bq.push_back(meas[idx[k]]);
      const double rho = spearman(bp, bq);
      s.rho_bands += rho, s.rho_bands_min = std::min(s.rho_bands_min, rho), ++bands;
    }
  }
  s.rho_bands /= std::max(bands, 1);
  return s;
}

void print_summary_row(const char* name, const Summary& s) {
  std::printf("| %s | %.0f %% | %.0f %% | %.1f %% | %.3f | %.3f | %.3f (min %.3f) |\n", name,
              100 * s.within10, 100 * s.within20, 100 * s.median_err, s.rho, s.rho_models,
              s.rho_bands, s.rho_bands_min);
}

void print_groups(const std::vector<TestRow>& rows,
                  const std::function<std::string(const TestRow&)>& key);
void report_weight_context(const std::vector<TestRow>& rows);

// `fastest`: against the fastest run of each measurement instead of the median.
void report_whole_model(const std::vector<TestRow>& rows, bool fastest) {
  std::vector<double> m1, m2;
  for (const auto& r : rows)
    m1.push_back(fastest ? r.min1 : r.meas1), m2.push_back(fastest ? r.min2 : r.meas2);
  std::printf("\n%s\n", fastest ? "Against the fastest run of each measurement:"
                                : "Against the median run of each measurement:");
  std::printf(
      "\n| predictor vs 1st measurement | within +-10 %% | within +-20 %% | median |err| "
      "| Spearman, all | Spearman, per model (mean) | Spearman, per latency tercile "
      "(mean) |\n|---|---|---|---|---|---|---|\n");
  print_summary_row("noise floor: 2nd measurement", summarize(rows, m2, m1));
  for (const char* p : kPredictors) {
    std::vector<double> pred;
    for (const auto& r : rows) pred.push_back(r.pred.at(p));
    print_summary_row(p, summarize(rows, pred, m1));
  }
  if (fastest) return;
  std::printf("\nwithin +-10 %% by model (noise floor / host model / FLOPs only):\n");
  print_groups(rows, [](const TestRow& r) { return r.c->model; });
  std::printf("\nby precision mix:\n");
  print_groups(rows, [](const TestRow& r) {
    return std::string(r.c->int8_share > 0 ? "with int8" : "float only") +
           (r.c->bf16_share > 0 ? " + bf16" : "");
  });
  report_weight_context(rows);
}

// Whether a model's weights fit the last-level cache decides if a weight-bound layer streams them
// from DRAM every run or finds them in L3 from the previous run: a context the layer signature
// does not hold. The host model's median signed error by model and side of the L3 size shows it.
void report_weight_context(const std::vector<TestRow>& rows) {
  const double l3 = ac::host_llc_bytes() > 0 ? ac::host_llc_bytes() : 32.0 * 1048576;
  std::printf("\nhost model median signed error by model weights vs L3 (%.0f MiB):\n",
              l3 / 1048576);
  print_groups(rows, [l3](const TestRow& r) {
    return r.c->model + (r.c->weight_bytes <= l3 ? " fits" : " exceeds");
  });
}

// One line per group of test rows: the share within +-10 % of the noise floor, the host model and
// FLOPs only, the measured range and the cache hits.
void print_groups(const std::vector<TestRow>& rows,
                  const std::function<std::string(const TestRow&)>& key) {
  std::map<std::string, std::vector<const TestRow*>> by_model;
  for (const auto& r : rows) by_model[key(r)].push_back(&r);
  for (const auto& [m, rs] : by_model) {
    std::vector<double> a, b, h, f;
    double hits = 0;
    for (const auto* r : rs)
      a.push_back(r->meas1), b.push_back(r->meas2), h.push_back(r->pred.at(kPredictors[0])),
          f.push_back(r->pred.at(kPredictors[kFlops])), hits += r->hit_share / double(rs.size());
    std::vector<double> bias;  // signed relative error of the host model: a systematic miss
    for (size_t i = 0; i < a.size(); ++i) bias.push_back((h[i] - a[i]) / a[i]);
    std::printf(
        "  %-22s n=%zu  %3.0f %% / %3.0f %% / %3.0f %%   host model median error %+.1f %%, "
        "measured %.0f-%.0f us, cache hits %.0f %% of layers\n",
        m.c_str(), rs.size(), 100 * share_within(b, a, 0.1), 100 * share_within(h, a, 0.1),
        100 * share_within(f, a, 0.1), 100 * quantile(bias, 0.5),
        1e6 * *std::min_element(a.begin(), a.end()), 1e6 * *std::max_element(a.begin(), a.end()),
        100 * hits);
  }
}

// Per-layer |relative error| against the first measurement: cached values (the noise of a
// per-layer median) and the calibrated roofline (what unseen shapes get), by kind.
void report_layers(const std::vector<TestRow>& rows, const Fitted& f) {
  std::map<std::string, std::vector<double>> cached, scaled, modeled;
  for (const auto& r : rows) {
    const auto warm = ac::predict_host(r.c->schedule, f.all);
    for (size_t k = 0; k < r.c->schedule.size(); ++k) {
      const auto& d = r.c->schedule[k];
      if ((d.kind == ac::LayerKind::kReorder && !d.graph_op) || r.layer_s[k] <= 0) continue;
      const double roof = ac::roofline(d, f.all.profile).latency_s;
      for (const std::string& key : {std::string("all"), std::string(ac::kind_name(d.kind))}) {
        modeled[key].push_back(std::abs(roof - r.layer_s[k]) / r.layer_s[k]);
        const double err = std::abs(warm.layer_s[k] - r.layer_s[k]) / r.layer_s[k];
        if (warm.measured[k]) cached[key].push_back(err);
        if (warm.scaled[k]) scaled[key].push_back(err);
      }
    }
  }
  std::printf(
      "\n| test layers | cached (exact shape): n, p50 / p90 / p95 |err| | scaled "
      "neighbour: n, quantiles | fitted roofline (every layer): n, quantiles |\n"
      "|---|---|---|---|\n");
  auto cell = [](const std::vector<double>& v) {
    std::printf(" %zu: %.1f / %.1f / %.1f %% |", v.size(), 100 * quantile(v, 0.5),
                100 * quantile(v, 0.9), 100 * quantile(v, 0.95));
  };
  for (const auto& [key, v] : modeled) {
    std::printf("| %s |", key.c_str());
    cell(cached[key]), cell(scaled[key]), cell(v);
    std::printf("\n");
  }
}

// Per test layer: the first measurement and the host model's prediction, with its source.
void write_layers_csv(const std::string& path, const std::vector<TestRow>& rows, const Fitted& f) {
  std::ofstream o(path);
  o << "model,recipe,layer,kind,precision,source,measured_s,predicted_s,key\n";
  for (const auto& r : rows) {
    const auto warm = ac::predict_host(r.c->schedule, f.all);
    for (size_t k = 0; k < r.c->schedule.size(); ++k) {
      const auto& d = r.c->schedule[k];
      if (d.kind == ac::LayerKind::kReorder && !d.graph_op) continue;
      o << r.c->model << "," << r.c->recipe << "," << d.name << "," << ac::kind_name(d.kind) << ","
        << ac::precision_name(d.precision) << ","
        << (warm.measured[k] ? "cached"
            : warm.scaled[k] ? "scaled"
                             : "roofline")
        << "," << r.layer_s[k] << "," << warm.layer_s[k] << "," << ac::layer_key(d) << "\n";
    }
  }
}

void write_csv(const std::string& path, const std::vector<TestRow>& rows) {
  std::ofstream o(path);
  o << "model,recipe,macs,weight_bytes,bf16_share,int8_share,cache_hits,measured1_s,measured2_s,"
       "fastest1_s,"
       "fastest2_s";
  for (const char* p : kPredictors) o << ",\"" << p << "\"";
  o << "\n";
  for (const auto& r : rows) {
    o << r.c->model << "," << r.c->recipe << "," << r.c->macs << "," << r.c->weight_bytes << ","
      << r.c->bf16_share << "," << r.c->int8_share << "," << r.hit_share << "," << r.meas1 << ","
      << r.meas2 << "," << r.min1 << "," << r.min2;
    for (const char* p : kPredictors) o << "," << r.pred.at(p);
    o << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  CLI::App app("host prediction-accuracy study (docs/hardware.md, BENCHMARKS.md)");
  app.add_option("--batch", a.batch, "deploy batch")->capture_default_str();
  app.add_option("--threads", a.threads, "deploy threads")->capture_default_str();
  app.add_option("--repeats", a.repeats, "timed runs per measurement (medians)")
      ->capture_default_str();
  app.add_option("--calib", a.calib, "calibration recipes per model")->capture_default_str();
  app.add_option("--test", a.test, "test recipes per model")->capture_default_str();
  app.add_option("--seed", a.seed, "recipe seed")->capture_default_str();
  app.add_option("--int8", a.int8, "largest per-recipe int8 probability (0: float recipes only)")
      ->capture_default_str();
  app.add_option("--csv", a.csv, "write the per-model rows here");
  app.add_option("--layers-csv", a.layers_csv, "write the per-layer rows of the test models here");
  app.add_option("--models", a.models, "ONNX models (paths relative to the source tree)");
  CLI11_PARSE(app, argc, argv);
  try {
    const int threads = ac::measured_threads(a.threads);
    std::string tmpl = "/tmp/ac_hw_study_XXXXXX";
    const std::string dir = mkdtemp(tmpl.data());
    std::printf(
        "host prediction study: %s, oneDNN %s; batch %lld, %d threads, %d repeats; %d "
        "calibration + %d test recipes per model\n",
        ac::this_host().cpu.c_str(), ac::this_host().onednn.c_str(), (long long)a.batch, threads,
        a.repeats, a.calib, a.test);
    std::vector<ac::Graph> bases;
    for (const auto& m : a.models) bases.push_back(ac::load_onnx(AC_SOURCE_DIR "/" + m));
    // Calibration: measured into one fresh cache per model (the leave-one-out fits need them
    // apart).
    std::map<std::string, std::vector<ac::CachedMeasurement>> entries;
    std::vector<double> calib_macs, calib_s;
    for (size_t m = 0; m < a.models.size(); ++m) {
      ac::MeasureCache cache(dir + "/calib" + std::to_string(m) + ".db");
      for (int r = 0; r < a.calib; ++r) {
        const Candidate c = make_candidate(a.models[m], bases[m], r, a);
        const auto meas = run(c, a);
        ac::record(cache, c.schedule, meas, threads, a.repeats);
        calib_macs.push_back(c.macs), calib_s.push_back(meas.model_s);
      }
      entries[a.models[m].substr(a.models[m].rfind('/') + 1)] = cache.all();
      std::fprintf(stderr, "calibrated on %s\n", a.models[m].c_str());
    }
    const Fitted f = calibrate_on(entries, calib_macs, calib_s, threads);
    std::printf(
        "fitted: %d layer and %d model samples; total = %.3f x layers + %.2e s/B x "
        "reorder bytes + %.1f us; FLOPs only: %.3g ns/MAC + %.1f us\n",
        f.all.layer_samples, f.all.model_samples, f.all.layer_scale, f.all.reorder_s_per_byte,
        1e6 * f.all.fixed_s, 1e9 * f.flops.per_mac, 1e6 * f.flops.fixed);
    // Test: other recipes (seeds from 1000), predicted first, then measured in two passes.
    std::vector<Candidate> test;
    for (size_t m = 0; m < a.models.size(); ++m)
      for (int r = 0; r < a.test; ++r)
        test.push_back(make_candidate(a.models[m], bases[m], 1000 + r, a));
    std::vector<TestRow> rows(test.size());
    for (size_t i = 0; i < test.size(); ++i) rows[i].c = &test[i], predict_row(rows[i], f);
    for (auto& r : rows) {
      const auto meas = run(*r.c, a);
      r.meas1 = meas.model_s, r.min1 = meas.model_min_s, r.layer_s = meas.layer_s;
    }
    std::fprintf(stderr, "first pass measured\n");
    for (auto& r : rows) {
      const auto meas = run(*r.c, a);
      r.meas2 = meas.model_s, r.min2 = meas.model_min_s;
    }
    report_whole_model(rows, false);
    report_whole_model(rows, true);
    report_layers(rows, f);
    if (!a.csv.empty()) write_csv(a.csv, rows);
    if (!a.layers_csv.empty()) write_layers_csv(a.layers_csv, rows, f);
    std::filesystem::remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
