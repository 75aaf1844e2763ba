// The search's known latency against measurement: random candidates of the example
// model's search space on --target host at batch 1, each costed as the search costs it
// (CompressionProblem::known, in microseconds, never measured) with latency_model "measured" (the
// host model of hwmodels/predict_host.hpp, warmed once on the uniform modes into a fresh cache)
// and "roofline" (the host profile's roofline), and measured: the model the search builds for it
// (CompressionProblem::build: pruned, refitted, factorized, quantized as `apply` does), whole-model
// median over --repeats runs with hwmodels measure(). Candidates are not measured before they are
// predicted. Reports, per latency model, Spearman's rank correlation, the share within +-10 % and
// the median |error|. Results in BENCHMARKS.md with the exact command.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "hwmodels/measure.hpp"
#include "rank_stats.hpp"
#include "search/study/problem.hpp"

namespace ac = autocompress;

namespace {

struct Args {
  int n = 30, repeats = 30;
  int known_only = 0;  // > 0: time known() over this many candidates, measure nothing
  uint64_t seed = 1;
  std::string cache;  // "" = a fresh temporary file
  std::string csv;
};

ac::ProblemConfig config(const std::string& latency_model, const std::string& cache) {
  ac::ProblemConfig c;
  c.model = std::string(AC_SOURCE_DIR) + "/examples/fashion_cnn.onnx";
  c.val_limit = 100;  // accuracy is not studied here
  c.calib_limit = 64;
  c.latency_model = latency_model;
  c.measure_cache = cache;
  return c;
}

// A uniformly random level of every free knob.
ac::Candidate random_candidate(const ac::SearchSpace& s, std::mt19937_64& rng) {
  ac::Candidate c(s.size(), 0);
  for (size_t j = 0; j < s.size(); ++j) {
    const auto& k = s.knobs[j];
    c[j] = k.fixed >= 0 ? k.fixed
                        : int(std::uniform_int_distribution<size_t>(0, k.levels.size() - 1)(rng));
  }
  return c;
}

void report(const char* name, const std::vector<double>& pred, const std::vector<double>& meas) {
  std::vector<double> err;
  for (size_t i = 0; i < pred.size(); ++i) err.push_back(std::abs(pred[i] - meas[i]) / meas[i]);
  std::printf("%-10s  Spearman %.3f   within +-10 %% %5.1f %%   median |error| %5.1f %%\n", name,
              spearman(pred, meas), 100 * share_within(pred, meas, 0.10), 100 * quantile(err, 0.5));
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  CLI::App app{"search latency model vs measured whole-model latency (host, batch 1)"};
  app.add_option("--n", a.n, "random candidates")->capture_default_str();
  app.add_option("--repeats", a.repeats, "timed whole-model runs per candidate (median)")
      ->capture_default_str();
  app.add_option("--seed", a.seed, "candidate seed")->capture_default_str();
  app.add_option("--cache", a.cache, "measurement cache (default: a fresh temporary file)");
  app.add_option("--csv", a.csv, "per-candidate rows: measured, predicted (measured, roofline)");
  app.add_option("--known-only", a.known_only,
                 "only time the known objectives over this many candidates per latency model");
  CLI11_PARSE(app, argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const bool fresh = a.cache.empty();
  if (fresh)
    a.cache = (std::filesystem::temp_directory_path() /
               ("ac_search_latency_" + std::to_string(::getpid()) + ".db"))
                  .string();
  const auto t0 = std::chrono::steady_clock::now();
  const ac::CompressionProblem measured(config("measured", a.cache));
  const double build_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const ac::CompressionProblem roofline(config("roofline", a.cache));
  std::printf("%s\n(problem with warm-up built in %.1f s)\n", measured.latency_model().c_str(),
              build_s);
  std::mt19937_64 rng(a.seed);
  if (a.known_only > 0) {
    std::vector<ac::Recipe> rs;
    for (int i = 0; i < a.known_only; ++i)
      rs.push_back(
          ac::candidate_to_recipe(measured.space(), random_candidate(measured.space().space, rng)));
    for (const auto* p : {&measured, &roofline}) {
      const auto t = std::chrono::steady_clock::now();
      double sum = 0;
      for (const auto& r : rs) sum += p->known(r).latency_s;
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
      std::printf("%s: %.1f us per candidate (checksum %g)\n", p->latency_model().c_str(),
                  1e6 * s / a.known_only, sum);
    }
    return 0;
  }
  std::vector<double> meas, host, roof;
  int busy = 0;                       // candidates whose three measurements all showed the load
  double host_cpu = 0, roof_cpu = 0;  // seconds spent in known(): what a search pays per candidate
  const auto timed = [](const ac::CompressionProblem& p, const ac::Recipe& r, double& spent) {
    const auto t = std::chrono::steady_clock::now();
    const double v = p.known(r).latency_s;
    spent += std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    return v;
  };
  std::FILE* csv = a.csv.empty() ? nullptr : std::fopen(a.csv.c_str(), "w");
  if (csv) std::fprintf(csv, "candidate,measured_s,measured_model_s,roofline_s\n");
  for (int i = 0; i < a.n; ++i) {
    const ac::Recipe r =
        ac::candidate_to_recipe(measured.space(), random_candidate(measured.space().space, rng));
    host.push_back(timed(measured, r, host_cpu));
    roof.push_back(timed(roofline, r, roof_cpu));
    const ac::Graph g = measured.build(r);
    const auto schedule = ac::describe(g, 1, ac::graph_precisions(g));
    // As the warm-up: a median over 1.5x the fastest run shows the load; measured again (3 tries)
    ac::Measurement mt;
    for (int t = 0; t < 3; ++t)
      if (mt = ac::measure(g, schedule, {1, 0, a.repeats}); mt.model_s <= 1.5 * mt.model_min_s)
        break;
    busy += mt.model_s > 1.5 * mt.model_min_s;
    meas.push_back(mt.model_s);
    std::printf("%3d  measured %8.1f us   model %8.1f us   roofline %8.1f us\n", i,
                meas.back() * 1e6, host.back() * 1e6, roof.back() * 1e6);
    if (csv) std::fprintf(csv, "%d,%.9g,%.9g,%.9g\n", i, meas.back(), host.back(), roof.back());
  }
  if (csv) std::fclose(csv);
  std::printf(
      "\n%d candidates, batch 1, all cores, medians of %d runs (%d measured on a busy "
      "machine)\n",
      a.n, a.repeats, busy);
  report("measured", host, meas);
  report("roofline", roof, meas);
  std::printf("known objectives per candidate: measured model %.0f us, roofline %.0f us\n",
              1e6 * host_cpu / a.n, 1e6 * roof_cpu / a.n);
  if (fresh)
    for (const char* ext : {"", "-wal", "-shm"}) std::filesystem::remove(a.cache + ext);
  return 0;
}
