#include "search/samplers/bo.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <set>

#include "search/moo/nondominated.hpp"
#include "search/samplers/ehvi.hpp"
#include "search/samplers/gp.hpp"
#include "search/samplers/settings.hpp"

namespace autocompress {

namespace {

using State = Observation::State;

// The GP's inputs: the encoded free knobs, one lengthscale group per knob type present.
struct Inputs {
  std::vector<size_t> free;
  std::vector<int> group;
  size_t groups = 0;

  explicit Inputs(const SearchSpace& s) {
    std::vector<int> type_group(5, -1);
    for (size_t j = 0; j < s.size(); ++j) {
      const Knob& k = s.knobs[j];
      if (k.fixed >= 0 || k.levels.size() < 2) continue;
      int& g = type_group[static_cast<size_t>(k.type)];
      if (g < 0) g = static_cast<int>(groups++);
      free.push_back(j);
      group.push_back(g);
    }
  }
  Eigen::MatrixXd encode(const SearchSpace& s, const std::vector<Candidate>& cs) const {
    Eigen::MatrixXd x(static_cast<Eigen::Index>(cs.size()), static_cast<Eigen::Index>(free.size()));
    for (size_t i = 0; i < cs.size(); ++i)
      for (size_t f = 0; f < free.size(); ++f)
        x(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(f)) =
            static_cast<double>(cs[i][free[f]]) /
            static_cast<double>(s.knobs[free[f]].levels.size() - 1);
    return x;
  }
};

// One black-box objective: warp, its inverse, prior mean and the GP of the residual.
struct BlackBox {
  size_t index = 0;
  PiecewiseLinear warp, unwarp;
  PriorMean prior;
  std::unique_ptr<GaussianProcess> gp;
  double prior_z(const Candidate& c) const { return prior ? warp(prior(c)) : 0.0; }
};

bool usable(const Observation& o, const std::vector<size_t>& black_box) {
  if (o.state == State::kPruned) return true;
  if (o.state != State::kComplete) return false;
  for (size_t j : black_box)
    if (j >= o.values.size() || !std::isfinite(o.values[j])) return false;
  return true;
}

// Indices into ctx.history of the GP's training points (see bo.hpp: at most max_points).
std::vector<size_t> training_set(const SamplerContext& ctx, const std::vector<size_t>& black_box,
                                 size_t max_points) {
  std::vector<size_t> all;
  for (size_t i = 0; i < ctx.history.size(); ++i)
    if (usable(ctx.history[i], black_box)) all.push_back(i);
  if (all.size() <= max_points) return all;
  const size_t m = ctx.senses.size();
  std::vector<size_t> complete;
  std::vector<double> points;
  for (size_t i : all)
    if (ctx.history[i].state == State::kComplete && ctx.history[i].values.size() == m) {
      complete.push_back(i);
      points.insert(points.end(), ctx.history[i].values.begin(), ctx.history[i].values.end());
    }
  const auto ranks = nondominated_ranks(points, m, ctx.senses);
  std::vector<size_t> order(complete.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return ranks[a] != ranks[b] ? ranks[a] < ranks[b] : complete[a] > complete[b];
  });
  std::set<size_t> chosen;
  for (size_t k = 0; k < order.size() && chosen.size() < max_points / 2; ++k)
    chosen.insert(complete[order[k]]);
  for (size_t k = all.size(); k-- > 0 && chosen.size() < max_points;) chosen.insert(all[k]);
  return {chosen.begin(), chosen.end()};
}

struct Surrogate {
  Inputs in;
  std::vector<BlackBox> models;

  // Posterior of every black-box objective at the candidates (GP variable z: mean and sd).
  void predict(const SearchSpace& s, const std::vector<Candidate>& cs,
               std::vector<Eigen::VectorXd>& mean, std::vector<Eigen::VectorXd>& sd) const {
    const Eigen::MatrixXd x = in.encode(s, cs);
    mean.resize(models.size());
    sd.resize(models.size());
    for (size_t k = 0; k < models.size(); ++k) {
      Eigen::VectorXd var;
      models[k].gp->predict(x, mean[k], var);
      for (size_t i = 0; i < cs.size(); ++i) mean[k](Eigen::Index(i)) += models[k].prior_z(cs[i]);
      sd[k] = var.cwiseSqrt();
    }
  }
};

Surrogate build_surrogate(const SamplerContext& ctx, const BoSettings& settings,
                          const std::vector<PriorMean>& prior,
                          const std::vector<size_t>& black_box) {
  Surrogate s{Inputs(*ctx.space), {}};
  const auto rows = training_set(ctx, black_box, settings.max_points);
  std::vector<Candidate> xs;
  for (size_t i : rows) xs.push_back(ctx.history[i].x);
  const Eigen::MatrixXd x = s.in.encode(*ctx.space, xs);
  const GpPriors priors = dimension_scaled_priors(s.in.free.size());
  for (size_t j : black_box) {
    const bool maximize = ctx.senses[j] == Sense::kMaximize;
    std::vector<double> seen;
    for (size_t i : rows)
      if (ctx.history[i].state == State::kComplete) seen.push_back(ctx.history[i].values[j]);
    const double worst = maximize ? *std::min_element(seen.begin(), seen.end())
                                  : *std::max_element(seen.begin(), seen.end());
    BlackBox b;
    b.index = j;
    b.prior = j < prior.size() ? prior[j] : PriorMean{};
    // Values in the objective's units. A PRUNED trial enters at its partial estimate when it has
    // one, but never better than the worst COMPLETE value: early stopping showed it is worse, and
    // imputing only "the worst seen" erased how much worse (when the only COMPLETE trials were the
    // warm-start baselines, every collapsed candidate looked as good as them).
    std::vector<double> y;
    for (size_t i : rows) {
      const Observation& o = ctx.history[i];
      if (o.state == State::kComplete) {
        y.push_back(o.values[j]);
        continue;
      }
      const double p = j < o.partial.size() ? o.partial[j] : NAN;
      y.push_back(!std::isfinite(p) ? worst : maximize ? std::min(p, worst) : std::max(p, worst));
    }
    b.warp = copula_warp(y);
    b.unwarp = b.warp.inverse();
    Eigen::VectorXd z(static_cast<Eigen::Index>(y.size()));
    for (size_t i = 0; i < y.size(); ++i) z(Eigen::Index(i)) = b.warp(y[i]) - b.prior_z(xs[i]);
    GpHyper h;
    h.log_lengthscale.assign(s.in.groups, priors.lengthscale_mu);
    b.gp = std::make_unique<GaussianProcess>(x, z, s.in.group, h);
    b.gp->fit(priors, settings.fit_evals);
    s.models.push_back(std::move(b));
  }
  return s;
}

// What the acquisition needs besides the surrogate: the front (observed feasible non-dominated
// values, plus Kriging believer fantasies) and the quasi-random points.
struct Acquisition {
  const SamplerContext* ctx;
  Surrogate* surrogate;
  std::vector<double> front;
  std::vector<double> normals;

  std::vector<double> operator()(const std::vector<Candidate>& cs) const {
    std::vector<Eigen::VectorXd> mean, sd;
    surrogate->predict(*ctx->space, cs, mean, sd);
    const size_t m = ctx->senses.size();
    std::vector<double> out(cs.size());
    for (size_t i = 0; i < cs.size(); ++i) {
      std::vector<double> point =
          ctx->known_values ? ctx->known_values(cs[i]) : std::vector<double>(m, 0.0);
      std::vector<UncertainObjective> unc;
      for (size_t k = 0; k < surrogate->models.size(); ++k)
        unc.push_back({surrogate->models[k].index, mean[k](Eigen::Index(i)), sd[k](Eigen::Index(i)),
                       &surrogate->models[k].unwarp});
      if (unc.empty()) unc.push_back({0, point[0], 0.0, nullptr});  // all known: exact HVI
      out[i] = ehvi(front, m, point, unc, ctx->reference_point, ctx->senses, normals);
    }
    return out;
  }

  // Kriging believer: c joins the GPs at its predicted mean and the front at its predicted values.
  void believe(const Candidate& c) {
    std::vector<Eigen::VectorXd> mean, sd;
    surrogate->predict(*ctx->space, {c}, mean, sd);
    std::vector<double> point =
        ctx->known_values ? ctx->known_values(c) : std::vector<double>(ctx->senses.size(), 0.0);
    const Eigen::MatrixXd x = surrogate->in.encode(*ctx->space, {c});
    for (size_t k = 0; k < surrogate->models.size(); ++k) {
      auto& b = surrogate->models[k];
      b.gp->add(x.row(0).transpose(), mean[k](0) - b.prior_z(c));
      point[b.index] = b.unwarp(mean[k](0));
    }
    front.insert(front.end(), point.begin(), point.end());
  }
};

// The observed front: feasible non-dominated COMPLETE trials, their values (flat) and candidates
// (the inner search's seeds).
struct Front {
  std::vector<double> values;
  std::vector<Candidate> members;
};
Front observed_front(const SamplerContext& ctx) {
  const size_t m = ctx.senses.size();
  std::vector<double> points;
  std::vector<const Candidate*> xs;
  for (const auto& o : ctx.history)
    if (o.state == State::kComplete && o.values.size() == m && is_feasible(o.constraints)) {
      points.insert(points.end(), o.values.begin(), o.values.end());
      xs.push_back(&o.x);
    }
  Front f;
  for (size_t i : pareto_front(points, m, ctx.senses)) {
    f.values.insert(f.values.end(), points.begin() + long(i * m),
                    points.begin() + long((i + 1) * m));
    f.members.push_back(*xs[i]);
  }
  return f;
}

// One or a few free knobs moved: a step of 1..(levels / 20 + 1) levels, or a uniform redraw.
Candidate mutate(const SearchSpace& s, const std::vector<size_t>& free, Candidate c, Rng& rng) {
  const size_t must = free[rng.below(free.size())];
  for (size_t j : free) {
    if (j != must && !rng.chance(1.0 / static_cast<double>(free.size()))) continue;
    const int levels = static_cast<int>(s.knobs[j].levels.size());
    if (rng.chance(0.5)) {
      const int step = 1 + static_cast<int>(rng.below(static_cast<size_t>(levels / 20 + 1)));
      c[j] = std::clamp(c[j] + (rng.chance(0.5) ? step : -step), 0, levels - 1);
    } else {
      c[j] = static_cast<int>(rng.below(static_cast<size_t>(levels)));
    }
  }
  return c;
}

// The evolutionary inner optimizer (bo.hpp); nullopt when it found no allowed untaken candidate.
std::optional<Candidate> inner_search(const SamplerContext& ctx, const Acquisition& acq,
                                      const std::vector<Candidate>& seeds,
                                      const std::vector<size_t>& free, const TakenCandidates& taken,
                                      const BoSettings& settings, Rng& rng) {
  const SearchSpace& s = *ctx.space;
  const size_t per_round = std::max<size_t>(settings.candidates / (settings.generations + 1), 8);
  std::set<Candidate> seen;
  std::vector<std::pair<double, Candidate>> scored;  // (acquisition, candidate)
  auto evaluate = [&](const std::function<Candidate(size_t)>& make) {
    std::vector<Candidate> batch;
    for (size_t t = 0; t < 4 * per_round && batch.size() < per_round; ++t) {
      Candidate c = make(t);
      if (!seen.insert(c).second || taken.count(c) || cheap_violation(ctx, c) > 0) continue;
      batch.push_back(std::move(c));
    }
    if (batch.empty()) return;
    const auto values = acq(batch);
    for (size_t i = 0; i < batch.size(); ++i) scored.emplace_back(values[i], std::move(batch[i]));
    std::stable_sort(scored.begin(), scored.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
  };
  evaluate([&](size_t t) {
    if (seeds.empty() || t % 2 == 0) return uniform_candidate(s, rng);
    return mutate(s, free, seeds[(t / 2) % seeds.size()], rng);
  });
  for (size_t g = 0; g < settings.generations && !scored.empty(); ++g) {
    const size_t parents = std::min<size_t>(scored.size(), 10);
    std::vector<Candidate> top;
    for (size_t k = 0; k < parents; ++k) top.push_back(scored[k].second);
    evaluate([&](size_t t) { return mutate(s, free, top[t % parents], rng); });
  }
  if (scored.empty()) return std::nullopt;
  return scored.front().second;
}

}  // namespace

BoSampler::BoSampler(uint64_t seed, BoSettings settings)
    : seed_(seed),
      settings_(settings),
      initial_(seed, RandomSettings{settings.n_init, settings.max_tries}) {}

void BoSampler::set_prior_mean(size_t objective, PriorMean mean) {
  if (prior_.size() <= objective) prior_.resize(objective + 1);
  prior_[objective] = std::move(mean);
}

std::vector<Candidate> BoSampler::ask(const SamplerContext& ctx, size_t q) {
  auto taken = taken_candidates(ctx);
  std::vector<size_t> black_box;
  for (size_t j = 0; j < ctx.senses.size(); ++j)
    if (j >= ctx.known.size() || !ctx.known[j]) black_box.push_back(j);
  size_t observed = 0;
  for (const auto& o : ctx.history) observed += usable(o, black_box) ? 1 : 0;
  size_t complete = 0;  // usable COMPLETE trials: the warp needs observed values
  for (const auto& o : ctx.history)
    complete += o.state == State::kComplete && usable(o, black_box) ? 1 : 0;
  const Inputs inputs(*ctx.space);
  std::vector<Candidate> out;
  if (ctx.next_number < static_cast<int64_t>(settings_.n_init) || observed < 2 || complete < 1 ||
      inputs.free.empty()) {
    for (size_t i = 0; i < q; ++i) {
      out.push_back(initial_.propose(ctx, ctx.next_number + static_cast<int64_t>(i), taken));
      taken.insert(out.back());
    }
    return out;
  }
  Surrogate surrogate = build_surrogate(ctx, settings_, prior_, black_box);
  Front front = observed_front(ctx);
  Acquisition acq{&ctx, &surrogate, std::move(front.values),
                  qmc_normals(settings_.mc_samples, std::max<size_t>(black_box.size(), 1) - 1)};
  for (const auto& p : ctx.pending) acq.believe(p);
  const auto& seeds = front.members;
  for (size_t i = 0; i < q; ++i) {
    const int64_t number = ctx.next_number + static_cast<int64_t>(i);
    Rng rng(seed_, static_cast<uint64_t>(number));
    auto x = inner_search(ctx, acq, seeds, surrogate.in.free, taken, settings_, rng);
    out.push_back(x ? *x : initial_.propose(ctx, number, taken));
    taken.insert(out.back());
    if (i + 1 < q) acq.believe(out.back());
  }
  return out;
}

std::unique_ptr<Sampler> make_bo_sampler(uint64_t seed, const std::string& settings_json) {
  SamplerSettings s("bo", settings_json);
  BoSettings b;
  auto size = [&](const char* key, size_t fallback, int64_t lo, int64_t hi) {
    return static_cast<size_t>(s.integer(key, static_cast<int64_t>(fallback), lo, hi));
  };
  b.n_init = size("n_init", b.n_init, 0, 1000000);
  b.max_points = size("max_points", b.max_points, 4, 5000);
  b.fit_evals = static_cast<int>(s.integer("fit_evals", b.fit_evals, 1, 10000));
  b.candidates = size("candidates", b.candidates, 8, 1000000);
  b.generations = size("generations", b.generations, 0, 1000);
  b.mc_samples = size("mc_samples", b.mc_samples, 1, 100000);
  b.max_tries = size("max_tries", b.max_tries, 1, 1000000);
  s.finish();
  return std::make_unique<BoSampler>(seed, b);
}

}  // namespace autocompress
