// The bo sampler's time per suggestion on a compression-shaped study (goal: at most 2 s
// at 1,000 trials on ~80 dimensions): 80 knobs of the four compression types on 5 levels, one
// black-box objective (accuracy, maximized, collapsing past a damage threshold) and two known ones
// (latency, size), a history of n finished trials. Times one ask (q = 1) and a batch (q = 4,
// Kriging believer). The GP is trained on at most max_points (200) of the trials.
// Also bo on the standard problems with fewer seeds than search_bench's five (bo at 500
// evaluations costs minutes of CPU per seed with conditional quasi-Monte-Carlo EHVI): seeds 0..k-1,
// the first seed's hypervolume after 100 evaluations, the median after 500 over the seeds.
//   ./bo_bench --benchmark_filter=bo_suggest
//   ./bo_bench --benchmark_filter='bo_standard/zdt1/seeds:1'
// And auto's hand-over from bo to nsga2 (search/samplers/auto.hpp): auto with hand-over h is bo
// for trials < h and a fresh nsga2 from trial h on (the phase depends on the trial number only),
// so one 500-evaluation bo run per seed, continued by nsga2 from its first h trials, gives auto
// at h = 100, 200, 300 and bo alone ("never") at the cost of one bo run: medians over the seeds
// of the hypervolume after 500 evaluations, and bo's CPU per ask by trial window.
//   ./bo_bench --benchmark_filter='handover/.*/seeds:5'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "bench/problems/benchmark_problems.hpp"
#include "search/samplers/rng.hpp"
#include "search/samplers/sampler.hpp"

namespace ac = autocompress;

namespace {

constexpr size_t kKnobs = 80, kLevels = 5;

struct CompressionLike {
  ac::SearchSpace space;
  ac::SamplerContext ctx;

  static double accuracy(const ac::Candidate& c) {
    double damage = 0;
    for (size_t j = 0; j < kKnobs; ++j) damage += 0.002 * double(1 + j % 7) * c[j] * c[j] / 16.0;
    return damage > 0.3 ? 0.1 : 0.9 - damage;
  }
  static double latency(const ac::Candidate& c) {
    double v = 50;
    for (size_t j = 0; j < kKnobs; j += 2) v -= 0.4 * c[j] / double(kLevels - 1);
    return v;
  }
  static double size(const ac::Candidate& c) {
    double v = 100;
    for (size_t j = 0; j < kKnobs; ++j) v -= (0.5 + 0.01 * double(j)) * c[j] / double(kLevels - 1);
    return v;
  }

  explicit CompressionLike(size_t trials) {
    for (size_t j = 0; j < kKnobs; ++j) {
      ac::Knob k{"layer" + std::to_string(j), ac::Knob::Type(j % 4), {}, -1};
      for (size_t l = 0; l < kLevels; ++l) k.levels.emplace_back(double(l));
      space.knobs.push_back(std::move(k));
    }
    ctx.space = &space;
    ctx.senses = {ac::Sense::kMaximize, ac::Sense::kMinimize, ac::Sense::kMinimize};
    ctx.known = {0, 1, 1};
    ctx.known_values = [](const ac::Candidate& c) {
      return std::vector<double>{NAN, latency(c), size(c)};
    };
    ctx.reference_point = {0.5, 50, 100};
    ac::Rng rng(1);  // mostly mild compression, some aggressive: many collapse, as in a study
    for (size_t t = 0; t < trials; ++t) {
      ac::Candidate c(kKnobs);
      for (auto& v : c) v = int(rng.chance(0.7) ? rng.below(2) : rng.below(kLevels));
      ctx.history.push_back({c,
                             ac::Observation::State::kComplete,
                             {accuracy(c), latency(c), size(c)},
                             {},
                             ctx.next_number++,
                             {}});
    }
  }
};

void bo_suggest(benchmark::State& state) {
  CompressionLike problem(size_t(state.range(0)));
  auto bo = ac::make_sampler("bo", 0);
  for (auto _ : state) benchmark::DoNotOptimize(bo->ask(problem.ctx, size_t(state.range(1))));
}

void bo_standard(benchmark::State& state, const std::string& problem_name) {
  const auto problem = ac::make_problem(problem_name);
  const auto seeds = uint64_t(state.range(0));
  std::vector<double> finals;
  for (auto _ : state) {
    double ask_seconds = 0;
    for (uint64_t seed = 0; seed < seeds; ++seed) {
      auto bo = ac::make_sampler("bo", seed);
      const auto run = ac::run_problem(*bo, problem, 500);
      if (seed == 0) state.counters["hv100_seed0"] = run.hypervolume[99];
      finals.push_back(run.hypervolume.back());
      ask_seconds += run.ask_seconds;
    }
    state.counters["ms_per_suggestion"] = 1e3 * ask_seconds / double(seeds * 500);
  }
  std::sort(finals.begin(), finals.end());
  state.counters["hv500_median"] = finals[finals.size() / 2];
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

void handover(benchmark::State& state, const std::string& problem_name) {
  constexpr size_t kBudget = 500;
  const std::vector<size_t> handovers = {100, 200, 300, kBudget};  // kBudget: never (bo alone)
  const auto problem = ac::make_problem(problem_name);
  const auto seeds = uint64_t(state.range(0));
  std::vector<std::vector<double>> finals(handovers.size());
  std::vector<double> bo_cpu(kBudget, 0.0);  // summed over the seeds
  for (auto _ : state) {
    for (uint64_t seed = 0; seed < seeds; ++seed) {
      auto bo = ac::make_sampler("bo", seed);
      auto ctx = ac::problem_context(problem);
      for (size_t i = 0; i < handovers.size(); ++i) {
        const auto part =
            ac::continue_problem(*bo, problem, ctx, handovers[i] - ctx.history.size());
        for (size_t t = 0; t < part.ask_cpu.size(); ++t)
          bo_cpu[handovers[i] - part.ask_cpu.size() + t] += part.ask_cpu[t];
        if (handovers[i] == kBudget) {
          finals[i].push_back(part.hypervolume.back());
          continue;
        }
        auto fork = ctx;  // auto with this hand-over: a fresh nsga2 on bo's first h trials
        auto nsga2 = ac::make_sampler("nsga2", seed);
        finals[i].push_back(
            ac::continue_problem(*nsga2, problem, fork, kBudget - handovers[i]).hypervolume.back());
      }
      // Per seed on stderr as it finishes (a long run's partial results are usable).
      std::fprintf(
          stderr,
          "handover %s seed %llu: hv500 at hand-over 100 %.4f, 200 %.4f, 300 %.4f, never %.4f\n",
          problem_name.c_str(), (unsigned long long)seed, finals[0].back(), finals[1].back(),
          finals[2].back(), finals[3].back());
    }
  }
  for (size_t i = 0; i < handovers.size(); ++i) {
    const std::string at = handovers[i] == kBudget ? "never" : std::to_string(handovers[i]);
    state.counters["hv500_handover_" + at] = median(finals[i]);
  }
  for (size_t from = 0; from < kBudget; from += 100) {  // bo's CPU per ask, per 100 trials
    double sum = 0;
    for (size_t t = from; t < from + 100; ++t) sum += bo_cpu[t];
    state.counters["bo_cpu_ms_" + std::to_string(from) + "_" + std::to_string(from + 100)] =
        1e3 * sum / double(100 * seeds);
  }
}

}  // namespace

BENCHMARK(bo_suggest)
    ->ArgNames({"trials", "q"})
    ->Args({100, 1})
    ->Args({300, 1})
    ->Args({1000, 1})
    ->Args({1000, 4})
    ->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  for (const auto& problem : ac::problem_names())
    benchmark::RegisterBenchmark(("bo_standard/" + problem).c_str(), bo_standard, problem)
        ->ArgName("seeds")
        ->Arg(1)
        ->Arg(5)
        ->Iterations(1)
        ->Unit(benchmark::kSecond);
  for (const auto& problem : ac::problem_names())
    benchmark::RegisterBenchmark(("handover/" + problem).c_str(), handover, problem)
        ->ArgName("seeds")
        ->Arg(1)
        ->Arg(5)
        ->Iterations(1)
        ->Unit(benchmark::kSecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
