// The search overhead per trial at 5,000 trials (goal: under 10 ms for nsga2): the study
// machinery's real path on the example model's compression problem, everything but the
// evaluation. A SQLite study holds the uniform baselines and then random recipes of the space
// with results shaped like the search's (values, constraints, the recipe attr, 9 metrics), 5,000
// finished trials; each iteration is one trial as StudyRunner::worker_loop pays for it:
//   ask_one: storage ask, the runner's StudyCache refresh (only new and unfinished trials are
//            read), the warm-start check, nsga2's ask, set_params, the recipe JSON, the front
//            for early stopping;
//   storage tell of the result.
// The runner's first refresh reads the whole study (first_refresh below); it falls in the first
// of the 100 iterations. A run with progress output adds a refresh and the summary per trial.
// The parts alone: the whole listing (what each trial used to read, up to 3 times), the context
// built from it from scratch, front_points on it, a fresh StudyCache's first refresh, a refresh
// that finds nothing new, the cached summary, nsga2's ask.
//   ./study_bench                        (Time = wall, CPU = this thread's)
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>

#include "compressors/recipe.hpp"
#include "search/samplers/rng.hpp"
#include "search/study/space_builder.hpp"
#include "search/study/study.hpp"
#include "storage/sqlite_storage.hpp"

namespace ac = autocompress;

namespace {

constexpr int64_t kTrials = 5000;

// What CompressionProblem::evaluate records, with a made-up accuracy instead of an evaluation.
ac::TrialResult result_of(const ac::CompressionProblem& p, const ac::Candidate& x, ac::Rng& rng) {
  ac::TrialResult r;
  r.user_attrs["recipe"] = ac::recipe_to_json(ac::candidate_to_recipe(p.space(), x));
  r.values = p.known_values(x);
  double level = 0;
  for (int v : x) level += v;
  const double drop = 0.2 * level / double(x.size()) + rng.uniform();  // points
  for (auto& v : r.values)
    if (std::isnan(v)) v = p.original_accuracy() - drop / 100;
  r.constraints = {drop - 1.0};
  for (double v : p.cheap_constraints(x)) r.constraints.push_back(v);
  for (const char* m :
       {"latency_ms", "energy_mj", "size_mb", "macs", "build_s", "accuracy_se", "images", "eval_s"})
    r.metrics[m] = rng.uniform();
  r.metrics["accuracy_drop"] = drop;
  return r;
}

// The example model's problem, a SQLite study of kTrials finished trials and its runner; built
// once per process (the file is removed at exit).
struct Fixture {
  std::string dir = std::filesystem::temp_directory_path() / "ac_study_bench";
  std::unique_ptr<ac::CompressionProblem> problem;
  std::unique_ptr<ac::SqliteStorage> storage;
  std::unique_ptr<ac::StudyRunner> runner;
  ac::Rng rng{7};

  Fixture() {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    ac::ProblemConfig pc;
    pc.model = std::string(AC_SOURCE_DIR) + "/examples/fashion_cnn.onnx";
    pc.val_limit = 256;
    pc.calib_limit = 64;
    pc.max_accuracy_drop = 1.0;
    problem = std::make_unique<ac::CompressionProblem>(pc);
    storage = std::make_unique<ac::SqliteStorage>(dir + "/study.db");
    ac::StudyOptions so;
    so.name = "bench";
    so.sampler = "nsga2";
    so.worker_name = "bench";
    runner = std::make_unique<ac::StudyRunner>(*storage, *problem, so);
    const auto& space = problem->space();
    std::vector<ac::Candidate> xs;
    for (const auto& b : ac::warm_start_baselines(space)) xs.push_back(b.x);
    while (int64_t(xs.size()) < kTrials) {
      ac::Candidate x(space.space.size());
      for (size_t j = 0; j < x.size(); ++j)
        x[j] = int(rng.below(space.space.knobs[j].levels.size()));
      xs.push_back(std::move(x));
    }
    const int64_t id = runner->study().id;
    for (const auto& x : xs) {
      const auto t = storage->ask(id, "prefill");
      storage->set_params(id, t.number, ac::candidate_params(space, x));
      storage->tell(id, t.number, result_of(*problem, x, rng));
    }
  }
  ~Fixture() { std::filesystem::remove_all(dir); }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void study_trial(benchmark::State& state) {
  auto& f = fixture();
  const int64_t id = f.runner->study().id;
  for (auto _ : state) {
    const auto a = f.runner->ask_one();  // with the front for early stopping
    f.storage->tell(id, a.number, result_of(*f.problem, a.x, f.rng));
  }
  state.counters["trials_at_end"] = double(f.storage->trials(id).size());
}

void list_trials(benchmark::State& state) {
  auto& f = fixture();
  for (auto _ : state) benchmark::DoNotOptimize(f.storage->trials(f.runner->study().id));
}

void build_context(benchmark::State& state) {
  auto& f = fixture();
  const auto trials = f.storage->trials(f.runner->study().id);
  for (auto _ : state) benchmark::DoNotOptimize(ac::sampler_context(*f.problem, trials));
}

void front_points(benchmark::State& state) {
  auto& f = fixture();
  const auto trials = f.storage->trials(f.runner->study().id);
  for (auto _ : state) benchmark::DoNotOptimize(f.problem->front_points(trials));
}

void first_refresh(benchmark::State& state) {
  auto& f = fixture();
  for (auto _ : state) {
    ac::StudyCache cache(*f.problem, f.runner->study());
    benchmark::DoNotOptimize(cache.refresh(*f.storage));
  }
}

void cached_refresh(benchmark::State& state) {
  auto& f = fixture();
  ac::StudyCache cache(*f.problem, f.runner->study());
  cache.refresh(*f.storage);
  for (auto _ : state) benchmark::DoNotOptimize(cache.refresh(*f.storage));
}

void cached_summary(benchmark::State& state) {
  auto& f = fixture();
  ac::StudyCache cache(*f.problem, f.runner->study());
  cache.refresh(*f.storage);
  for (auto _ : state) benchmark::DoNotOptimize(cache.summary());
}

void nsga2_ask(benchmark::State& state) {
  auto& f = fixture();
  const auto ctx = ac::sampler_context(*f.problem, f.storage->trials(f.runner->study().id));
  auto nsga2 = ac::make_sampler("nsga2", 0);
  for (auto _ : state) benchmark::DoNotOptimize(nsga2->ask(ctx, 1));
}

}  // namespace

BENCHMARK(study_trial)->Unit(benchmark::kMillisecond)->Iterations(100);
BENCHMARK(list_trials)->Unit(benchmark::kMillisecond);
BENCHMARK(build_context)->Unit(benchmark::kMillisecond);
BENCHMARK(front_points)->Unit(benchmark::kMillisecond);
BENCHMARK(first_refresh)->Unit(benchmark::kMillisecond);
BENCHMARK(cached_refresh)->Unit(benchmark::kMillisecond);
BENCHMARK(cached_summary)->Unit(benchmark::kMillisecond);
BENCHMARK(nsga2_ask)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
