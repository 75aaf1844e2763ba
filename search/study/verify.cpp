#include "search/study/verify.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "common/error.hpp"
#include "common/sha256.hpp"
#include "data/data_spec_json.hpp"
#include "data/image_folder.hpp"
#include "evaluator/evaluate.hpp"
#include "evaluator/onednn_executor.hpp"
#include "model/onnx_io.hpp"

namespace autocompress {

namespace {

using nlohmann::json;

// P(B <= k) for B ~ Binomial(n, 1/2), summed in log space (n up to thousands).
double binomial_half_cdf(int64_t k, int64_t n) {
  double p = 0;
  for (int64_t i = 0; i <= k; ++i)
    p += std::exp(std::lgamma(double(n) + 1) - std::lgamma(double(i) + 1) -
                  std::lgamma(double(n - i) + 1) - double(n) * std::log(2.0));
  return std::min(1.0, p);
}

ProblemConfig study_config(const Study& s, const VerifyOptions& o) {
  std::optional<ProblemConfig> recorded = recorded_config(s);
  if (!recorded)
    throw ConfigError("verify", "study '" + s.name +
                                    "' has no recorded configuration (user attr \"config\"): it "
                                    "was not made by `autocompress search`, so " +
                                    key_ref("verify") + " cannot rebuild its candidates");
  ProblemConfig c = std::move(*recorded);
  if (!o.model.empty()) c.model = o.model;
  if (!std::filesystem::exists(c.model))
    throw ConfigError("model", key_ref("verify") + ": the study's model '" + c.model +
                                   "' is not there (relative to this directory?); give it with " +
                                   key_ref("model"));
  if (!s.model_sha256.empty() && sha256_file(c.model) != s.model_sha256)
    throw ConfigError("model", key_ref("verify") + ": model '" + c.model + "' has sha256 " +
                                   sha256_file(c.model) + ", the study was made for " +
                                   s.model_sha256);
  return c;
}

}  // namespace

DataSpec test_spec(const ProblemConfig& c, const VerifyOptions& o, const Normalization& norm) {
  DataSpec s = validation_spec(c, norm);  // the study's preprocessing
  s.limit = o.test_limit;
  std::error_code ec;
  if (o.test_data.empty() &&
      (!std::filesystem::is_directory(s.source, ec) || detect_dir_kind(s.source) != DirKind::kIdx))
    throw ConfigError("data", key_ref("verify") + ": the study validated on '" + s.source +
                                  "', which has no test split; give the test images with " +
                                  key_ref("data") + " (and " + key_ref("labels") + ")");
  if (!o.test_data.empty()) s.source = o.test_data, s.labels = o.test_labels;
  s.split.reset();
  if (o.test_split ||
      (std::filesystem::is_directory(s.source, ec) && detect_dir_kind(s.source) == DirKind::kIdx))
    s.split = o.test_split.value_or(Split::kTest);
  if (o.preprocess) o.preprocess(s.preprocessing);
  return s;
}

namespace {

// Wall seconds of one run.
double timed_run(Executor& ex, const std::vector<HostTensor>& in) {
  const auto t0 = std::chrono::steady_clock::now();
  ex.run(in);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

MedianInterval median_interval(std::vector<double> x, double level) {
  if (x.empty()) throw UsageError("median_interval: empty sample");
  std::sort(x.begin(), x.end());
  const size_t n = x.size();
  MedianInterval m;
  m.median = n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
  // k = 1 is [min, max]; widen k while the narrower interval still has the coverage.
  size_t k = 1;
  m.coverage = 1 - 2 * binomial_half_cdf(0, int64_t(n));
  while (k + 1 <= (n + 1) / 2) {
    const double c = 1 - 2 * binomial_half_cdf(int64_t(k), int64_t(n));
    if (c < level) break;
    ++k, m.coverage = c;
  }
  m.lo = x[k - 1], m.hi = x[n - k];
  return m;
}

json verified_json(const VerifiedTrial& v) {
  const double acc_pts = 100 * v.test.accuracy, acc_half = 100 * kZ95 * v.accuracy_se;
  json j = {{"number", v.item.number},
            {"front", v.item.front},
            {"test_images", v.test.n},
            {"test_accuracy", v.test.accuracy},
            {"test_accuracy_ci95", {(acc_pts - acc_half) / 100, (acc_pts + acc_half) / 100}},
            {"test_drop", v.test.drop},
            {"test_drop_se", v.test.se},
            {"test_drop_ci95", {v.test.drop - kZ95 * v.test.se, v.test.drop + kZ95 * v.test.se}},
            {"latency_ms", v.latency_ms.median},
            {"latency_ms_ci", {v.latency_ms.lo, v.latency_ms.hi}},
            {"latency_ci_coverage", v.latency_ms.coverage},
            {"latency_batch", v.batch},
            {"threads", v.threads}};
  j["size_mb"] = std::isnan(v.size_mb) ? json(nullptr) : json(v.size_mb);
  if (!v.item.baseline.empty()) j["uniform_policy"] = v.item.baseline;
  return j;
}

struct Verifier::Test {
  Dataset data;
  std::string kind;
  std::vector<int64_t> original_top1;
  std::vector<uint8_t> original_correct;
};

Verifier::Verifier(const Study& s, const VerifyOptions& o)
    : opt_(o), test_(std::make_unique<Test>()) {
  if (o.repeats < 1)
    throw ConfigError("repeats",
                      key_ref("repeats") + " must be >= 1, got " + std::to_string(o.repeats));
  const ProblemConfig c = study_config(s, o);
  // The test data first: a missing one fails before the problem's calibration is paid for.
  {
    const Graph g = load_onnx(c.model);
    const DataSpec spec = test_spec(c, o, model_normalization(g));
    try {
      OpenedDataset od = open_dataset(spec, g.value(g.inputs.at(0)).shape);
      test_->data = std::move(od.data);
      test_->kind = std::move(od.kind);
    } catch (const IoError& e) {
      if (!spec.split) throw;
      throw IoError(spec.source,
                    "the " + split_name(*spec.split) +
                        " split is missing (t10k-images / t10k-labels for test): " + e.what());
    }
  }
  problem_ = std::make_unique<CompressionProblem>(c);
  check_fits(test_->data, problem_->model().value(problem_->model().inputs.at(0)).shape);
  test_->original_top1 = predictions(problem_->model());
  test_->original_correct = correct_on_test(problem_->model());
}

Verifier::~Verifier() = default;

int64_t Verifier::test_size() const { return test_->data.size(); }
std::string Verifier::test_source() const { return test_->data.source; }
const std::string& Verifier::test_kind() const { return test_->kind; }

std::vector<int64_t> Verifier::predictions(const Graph& g) const {
  const int64_t batch = problem_->config().eval_batch;
  auto ex = compile(g, {batch, opt_.threads});
  const EvalResult r = evaluate(*ex, g, test_->data, batch, {}, true);
  std::vector<int64_t> top1;
  append_top1(r.outputs, r.classes, top1);
  return top1;
}

// Per test image: top-1 against the labels, or agreement with the original when unlabelled.
std::vector<uint8_t> Verifier::correct_on_test(const Graph& g) const {
  const auto pred = predictions(g);
  std::vector<uint8_t> out;
  const Dataset& d = test_->data;
  for (size_t i = 0; i < pred.size(); ++i)
    out.push_back(d.has_labels() ? pred[i] == d.labels[i] : pred[i] == test_->original_top1[i]);
  return out;
}

std::vector<VerifiedTrial> Verifier::verify(const std::vector<VerifyItem>& items) const {
  const int64_t batch = std::max<int64_t>(1, problem_->config().latency_batch);
  std::vector<VerifiedTrial> rows;
  std::vector<std::unique_ptr<Executor>> timers;
  std::vector<Graph> graphs;
  rows.push_back({VerifyItem{},
                  {},
                  0,
                  test_->original_correct,
                  packed_size_bytes(problem_->model()) / 1e6,
                  {},
                  batch,
                  opt_.threads});
  graphs.push_back(problem_->model());
  for (const auto& it : items) {
    const Recipe r = parse_recipe(it.recipe.dump(), "trial " + std::to_string(it.number));
    graphs.push_back(problem_->build(r));
    rows.push_back({it,
                    {},
                    0,
                    correct_on_test(graphs.back()),
                    problem_->known(r).size_bytes / 1e6,
                    {},
                    batch,
                    opt_.threads});
  }
  // Latency inputs: the first `batch` test images (repeated when the split is smaller).
  const Dataset& d = test_->data;
  const int64_t per = numel(d.sample_shape);
  HostTensor x{d.sample_shape, {}};
  x.shape.insert(x.shape.begin(), batch);
  x.data.resize(size_t(batch * per));
  for (int64_t b = 0; b < batch; ++b)
    d.read(b % d.size(), 1, std::span<float>(x.data).subspan(size_t(b * per), size_t(per)));
  const std::vector<HostTensor> in = {x};
  std::vector<std::vector<double>> seconds(rows.size());
  for (const auto& g : graphs) {
    timers.push_back(compile(g, {batch, opt_.threads}));
    timers.back()->run(in);  // warm-up
  }
  for (int r = 0; r < opt_.repeats; ++r)
    for (size_t k = 0; k < timers.size(); ++k)
      seconds[k].push_back(1e3 * timed_run(*timers[k], in));
  for (size_t k = 0; k < rows.size(); ++k) {
    rows[k].test = paired_drop(test_->original_correct, rows[k].correct);
    const double p = rows[k].test.accuracy, n = double(std::max<int64_t>(1, rows[k].test.n));
    rows[k].accuracy_se = std::sqrt(p * (1 - p) / n);
    rows[k].latency_ms = median_interval(seconds[k]);
  }
  return rows;
}

UniformComparison compare_with_uniform(std::span<const VerifiedTrial> rows) {
  UniformComparison c;
  const VerifiedTrial* base = nullptr;
  for (const auto& r : rows)
    if (!r.item.baseline.empty() &&
        (!base || r.test.accuracy > base->test.accuracy ||
         (r.test.accuracy == base->test.accuracy && r.size_mb < base->size_mb)))
      base = &r;
  if (!base) return c;
  c.baseline = base->item.number;
  c.baseline_name = base->item.baseline;
  c.baseline_accuracy = base->test.accuracy;
  const auto better = [](UniformComparison::Pick& p, const UniformComparison::Pick& q) {
    if (p.number < 0 || q.ratio > p.ratio) p = q;
  };
  for (const auto& r : rows) {
    if (!r.item.front) continue;
    // Paired on the same test images: drop of the front point relative to the baseline.
    const PairedDrop d = paired_drop(base->correct, r.correct);
    const double diff = -d.drop, se = d.se;
    const UniformComparison::Pick size{r.item.number, base->size_mb / r.size_mb, diff, se};
    const UniformComparison::Pick lat{r.item.number, base->latency_ms.median / r.latency_ms.median,
                                      diff, se};
    if (diff >= 0) better(c.smaller_strict, size), better(c.faster_strict, lat);
    if (diff + kZ95 * se >= 0) better(c.smaller_ci, size), better(c.faster_ci, lat);
  }
  return c;
}

json comparison_json(const UniformComparison& c) {
  const auto pick = [](const UniformComparison::Pick& p) {
    if (p.number < 0) return json(nullptr);
    return json{{"number", p.number},
                {"ratio", p.ratio},
                {"accuracy_diff", p.diff},
                {"accuracy_diff_se", p.se}};
  };
  if (c.baseline < 0) return json{{"baseline", nullptr}};
  return {{"baseline", c.baseline},
          {"baseline_policy", c.baseline_name},
          {"baseline_test_accuracy", c.baseline_accuracy},
          {"smaller_strict", pick(c.smaller_strict)},
          {"smaller_within_ci", pick(c.smaller_ci)},
          {"faster_strict", pick(c.faster_strict)},
          {"faster_within_ci", pick(c.faster_ci)},
          {"goal", "size ratio >= 1.3 and latency ratio >= 1.2"}};
}

}  // namespace autocompress
