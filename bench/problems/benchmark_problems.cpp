#include "bench/problems/benchmark_problems.hpp"

#include <time.h>

#include <chrono>
#include <cmath>
#include <numbers>

#include "common/error.hpp"
#include "search/moo/hypervolume.hpp"

namespace autocompress {

namespace {

constexpr int kLevels = 101;

SearchSpace unit_space(size_t n) {
  SearchSpace s;
  for (size_t j = 0; j < n; ++j) {
    Knob k{"x" + std::to_string(j + 1), Knob::Type::kGeneric, {}, -1};
    for (int l = 0; l < kLevels; ++l) k.levels.emplace_back(l / double(kLevels - 1));
    s.knobs.push_back(std::move(k));
  }
  return s;
}

double x_of(const Candidate& c, size_t j) { return c[j] / double(kLevels - 1); }

// ZDT's f1 = x1 and g = 1 + 9 * mean(x2..xn); `shape` maps (f1, g) to f2 / g.
Problem zdt(const std::string& name, double (*shape)(double f1, double g)) {
  Problem p{name, unit_space(30), 2, nullptr, {11, 11}};
  p.evaluate = [shape](const Candidate& c) {
    double sum = 0;
    for (size_t j = 1; j < c.size(); ++j) sum += x_of(c, j);
    const double f1 = x_of(c, 0), g = 1 + 9 * sum / double(c.size() - 1);
    return std::vector<double>{f1, g * shape(f1, g)};
  };
  return p;
}

Problem dtlz2() {
  Problem p{"dtlz2", unit_space(12), 3, nullptr, {3, 3, 3}};
  p.evaluate = [](const Candidate& c) {
    double g = 0;
    for (size_t j = 2; j < c.size(); ++j) g += (x_of(c, j) - 0.5) * (x_of(c, j) - 0.5);
    const double a = x_of(c, 0) * std::numbers::pi / 2, b = x_of(c, 1) * std::numbers::pi / 2;
    return std::vector<double>{(1 + g) * std::cos(a) * std::cos(b),
                               (1 + g) * std::cos(a) * std::sin(b), (1 + g) * std::sin(a)};
  };
  return p;
}

}  // namespace

std::vector<std::string> problem_names() { return {"zdt1", "zdt2", "zdt3", "dtlz2"}; }

Problem make_problem(const std::string& name) {
  if (name == "zdt1") return zdt(name, [](double f1, double g) { return 1 - std::sqrt(f1 / g); });
  if (name == "zdt2") return zdt(name, [](double f1, double g) { return 1 - (f1 / g) * (f1 / g); });
  if (name == "zdt3")
    return zdt(name, [](double f1, double g) {
      return 1 - std::sqrt(f1 / g) - (f1 / g) * std::sin(10 * std::numbers::pi * f1);
    });
  if (name == "dtlz2") return dtlz2();
  throw UsageError("unknown test problem '" + name + "' (known: zdt1, zdt2, zdt3, dtlz2)");
}

namespace {

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

}  // namespace

SamplerContext problem_context(const Problem& problem) {
  SamplerContext ctx;
  ctx.space = &problem.space;
  ctx.senses.assign(problem.objectives, Sense::kMinimize);
  ctx.known.assign(problem.objectives, 0);
  ctx.known_values = [m = problem.objectives](const Candidate&) {
    return std::vector<double>(m, std::nan(""));
  };
  ctx.reference_point = problem.reference;
  return ctx;
}

ProblemRun continue_problem(Sampler& sampler, const Problem& problem, SamplerContext& ctx,
                            size_t budget) {
  const std::vector<Sense> senses = ctx.senses;
  std::vector<double> points;
  for (const auto& o : ctx.history) points.insert(points.end(), o.values.begin(), o.values.end());
  ProblemRun run;
  for (size_t t = 0; t < budget; ++t) {
    const auto start = std::chrono::steady_clock::now();
    const double start_cpu = thread_cpu_seconds();
    Candidate x = sampler.ask(ctx, 1).at(0);
    run.ask_cpu.push_back(thread_cpu_seconds() - start_cpu);
    run.ask_cpu_seconds += run.ask_cpu.back();
    run.ask_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    check_candidate(problem.space, x);
    Observation o{std::move(x), Observation::State::kComplete, {}, {}, ctx.next_number++, {}};
    o.values = problem.evaluate(o.x);
    points.insert(points.end(), o.values.begin(), o.values.end());
    ctx.history.push_back(std::move(o));
    run.hypervolume.push_back(hypervolume(points, problem.objectives, problem.reference, senses));
  }
  return run;
}

ProblemRun run_problem(Sampler& sampler, const Problem& problem, size_t budget) {
  SamplerContext ctx = problem_context(problem);
  return continue_problem(sampler, problem, ctx, budget);
}

}  // namespace autocompress
