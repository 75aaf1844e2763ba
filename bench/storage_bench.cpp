// Trial storage on SQLite: recording one trial (ask, set params, tell) and listing the Pareto set
// of a study that already holds 1,000 or 10,000 trials. Goals: under 1 ms per recorded
// trial, and flat: t(10k) / t(1k) <= 1.2 for recording. bench/peer_optuna.py times Optuna's
// RDBStorage doing the same operations at the same sizes.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <memory>

#include "search/moo/pareto.hpp"
#include "storage/sqlite_storage.hpp"

namespace ac = autocompress;

namespace {

constexpr int kLayers = 4;  // 4 layers x (prune, precision, wbits) = 12 params per trial

ac::StudySpec spec() {
  ac::StudySpec s;
  s.name = "bench";
  s.model_sha256 = std::string(64, '0');
  s.objectives = {{"accuracy", ac::Direction::kMaximize}, {"latency_ms", ac::Direction::kMinimize}};
  s.constraints = {"accuracy_drop"};
  return s;
}

void record(ac::Storage& st, int64_t study, uint64_t& rng) {
  auto next = [&] {  // xorshift: cheap, deterministic
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return double(rng % 1000000) / 1e6;
  };
  const auto t = st.ask(study, "bench");
  std::vector<ac::Param> params;
  for (int l = 0; l < kLayers; ++l) {
    const std::string layer = "layer" + std::to_string(l) + "/";
    params.push_back({layer + "prune", 0.05 * std::floor(next() * 10)});
    params.push_back({layer + "precision", std::string(next() < 0.5 ? "int8" : "fp32")});
    params.push_back({layer + "wbits", double(2 + int(next() * 7))});
  }
  st.set_params(study, t.number, params);
  ac::TrialResult r;
  const double acc = 0.8 + 0.2 * next();
  r.values = {acc, 0.5 + 4 * next() * acc};
  r.metrics = {{"top5", 0.99}, {"kl", next()}, {"macs", 1e6 * next()}, {"params", 1e5 * next()}};
  r.constraints = {0.9 - acc};
  st.tell(study, t.number, r);
}

// Temporary directories, removed at exit.
struct Dirs {
  std::vector<std::string> paths;
  ~Dirs() {
    for (const auto& p : paths) std::filesystem::remove_all(p);
  }
} dirs;

// A database holding a study with n trials, made once per n.
std::string database(int64_t n) {
  static std::map<int64_t, std::string> made;
  if (auto it = made.find(n); it != made.end()) return it->second;
  std::string dir = (std::filesystem::temp_directory_path() / "ac_storage_bench_XXXXXX").string();
  if (!mkdtemp(dir.data())) throw std::runtime_error("mkdtemp");
  dirs.paths.push_back(dir);
  const std::string path = dir + "/trials.db";
  ac::SqliteStorage st(path);
  const auto s = st.create_study(spec());
  uint64_t rng = 88172645463325252ull;
  for (int64_t i = 0; i < n; ++i) record(st, s.id, rng);
  return made[n] = path;
}

// range(0): trials already in the study; range(1): 1 = synchronous=FULL (an fsync per commit,
// like Optuna's SQLite default), 0 = our default synchronous=NORMAL in WAL.
void BM_RecordTrial(benchmark::State& state) {
  const std::string base = database(state.range(0));
  // Work on a copy so that every run starts from exactly n trials.
  const std::string path = base + ".record.db";
  std::filesystem::copy_file(base, path, std::filesystem::copy_options::overwrite_existing);
  {
    ac::SqliteOptions o;
    o.full_sync = state.range(1) != 0;
    ac::SqliteStorage st(path, o);
    const int64_t study = st.get_study("bench").id;
    uint64_t rng = 1234567;
    for (auto _ : state) record(st, study, rng);
  }
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  state.counters["trials_in_study"] = double(state.range(0));
}

void BM_ListParetoSet(benchmark::State& state) {
  ac::SqliteOptions o;
  o.read_only = true;
  ac::SqliteStorage st(database(state.range(0)), o);
  const auto study = st.get_study("bench");
  const std::vector<ac::Sense> sense = {ac::Sense::kMaximize, ac::Sense::kMinimize};
  size_t front = 0;
  for (auto _ : state) {
    const auto trials = st.trials(study.id);
    std::vector<double> points;
    std::vector<uint8_t> feasible;
    points.reserve(trials.size() * 2);
    for (const auto& t : trials) {
      points.insert(points.end(), t.values.begin(), t.values.end());
      feasible.push_back(ac::is_feasible(t.constraints));
    }
    front = ac::pareto_front(points, 2, sense, feasible).size();
    benchmark::DoNotOptimize(front);
  }
  state.counters["pareto_set"] = double(front);
}

}  // namespace

BENCHMARK(BM_RecordTrial)
    ->ArgNames({"trials", "full_sync"})
    ->ArgsProduct({{1000, 10000}, {0, 1}})
    ->Iterations(300)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ListParetoSet)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
