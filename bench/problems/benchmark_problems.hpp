// Standard multi-objective test problems on the search's discrete spaces, and a driver that runs a
// sampler on them: how samplers are compared with each other and with Optuna (bench/).
// Every variable is discretized to 101 levels, x = level / 100 in [0, 1].
// - ZDT1, ZDT2, ZDT3 (Zitzler, Deb, Thiele 2000): 2 objectives, 30 variables; fronts at
//   x2..x30 = 0: f2 = 1 - sqrt(f1), 1 - f1^2, 1 - sqrt(f1) - f1 sin(10 pi f1).
// - DTLZ2 (Deb, Thiele, Laumanns, Zitzler 2002): 3 objectives, 12 variables; front on the unit
//   sphere's positive octant at x3..x12 = 0.5.
// All objectives are minimized and black-box (none known, no constraints).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "search/samplers/sampler.hpp"

namespace autocompress {

struct Problem {
  std::string name;
  SearchSpace space;
  size_t objectives = 2;
  std::function<std::vector<double>(const Candidate&)> evaluate;
  std::vector<double> reference;  // (11, 11) for ZDT, (3, 3, 3) for DTLZ2
};

// "zdt1", "zdt2", "zdt3", "dtlz2"; throws UsageError for another name.
Problem make_problem(const std::string& name);
std::vector<std::string> problem_names();

struct ProblemRun {
  std::vector<double> hypervolume;  // after each evaluation: entry i = after i + 1 evaluations
  double ask_seconds = 0;           // wall time spent inside Sampler::ask
  double ask_cpu_seconds = 0;       // this thread's CPU time inside Sampler::ask
  std::vector<double> ask_cpu;      // per evaluation: this thread's CPU seconds inside ask
};

// Runs `budget` sequential trials (ask one, evaluate, record), the hypervolume trace at the
// problem's reference point. The sampler carries its seed.
ProblemRun run_problem(Sampler& sampler, const Problem& problem, size_t budget);
// The same for `budget` more trials on `ctx`, whose history may already hold trials of `problem`
// (the hypervolume trace covers the whole history): one sampler's run continued by another, as
// auto hands over from bo to nsga2.
ProblemRun continue_problem(Sampler& sampler, const Problem& problem, SamplerContext& ctx,
                            size_t budget);

// The SamplerContext of `problem` with no history yet.
SamplerContext problem_context(const Problem& problem);

}  // namespace autocompress
