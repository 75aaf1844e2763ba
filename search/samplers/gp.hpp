// A small Gaussian process for the bo sampler: Matern-5/2 kernel with one lengthscale per knob
// type, MAP hyperparameters with dimension-scaled priors (Hvarfner, Hellsten, Nardi 2024) by
// L-BFGS on the analytic gradient, the copula warp of the targets. Pure numerics over Eigen, no
// storage, no sampler types (docs/search.md, "bo").
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <vector>

namespace autocompress {

// Matern-5/2 correlation of a squared scaled distance r^2.
double matern52(double r2);

struct GpHyper {
  std::vector<double> log_lengthscale;  // one per group
  double log_signal = 0;                // log s2 (of the standardized target)
  double log_noise = -4;                // log noise variance (standardized)
  std::vector<double> to_vector() const;
  static GpHyper from_vector(const std::vector<double>& theta);
};

struct GpPriors {
  double lengthscale_mu = 1.41421356, lengthscale_sigma = 1.7320508;  // on log l
  double signal_mu = 0, signal_sigma = 1;                             // on log s2
  double noise_mu = -4, noise_sigma = 1;                              // on log noise
};
// Hvarfner et al. 2024's lengthscale prior for d input dimensions.
GpPriors dimension_scaled_priors(size_t d);

// K(A, B) without noise: rows of A and B are inputs; group[j] is dimension j's lengthscale index.
Eigen::MatrixXd kernel_matrix(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                              const std::vector<int>& group, const GpHyper& h);

class GaussianProcess {
 public:
  // x: n x d inputs, y: n targets; group: one entry per dimension, values in [0, G).
  GaussianProcess(Eigen::MatrixXd x, Eigen::VectorXd y, std::vector<int> group, GpHyper hyper);

  // MAP fit of the hyperparameters from the current ones (and the priors' mode when that is
  // better), at most max_evals likelihood evaluations; refactorizes. Returns the log posterior.
  double fit(const GpPriors& priors, int max_evals = 60);
  void set_hyper(const GpHyper& h);
  const GpHyper& hyper() const { return hyper_; }

  // Adds an observation without refitting the hyperparameters (Kriging believer fantasies);
  // keeps the standardization of the data the model was built with.
  void add(const Eigen::VectorXd& x, double y);

  // Posterior mean and variance of the latent function (no noise) at the rows of xs.
  void predict(const Eigen::MatrixXd& xs, Eigen::VectorXd& mean, Eigen::VectorXd& var) const;

  // Log marginal likelihood + log prior of theta on the standardized data, and its gradient.
  double log_posterior(const std::vector<double>& theta, const GpPriors& priors,
                       std::vector<double>* grad) const;

  size_t size() const { return static_cast<size_t>(x_.rows()); }

 private:
  void factorize();
  Eigen::MatrixXd covariance(const GpHyper& h, Eigen::MatrixXd* r2) const;

  Eigen::MatrixXd x_;
  Eigen::VectorXd y_;  // standardized
  double y_mean_ = 0, y_scale_ = 1;
  std::vector<int> group_;
  size_t groups_ = 0;
  GpHyper hyper_;
  std::vector<Eigen::MatrixXd> dist2_;  // per group: squared distances between the inputs
  Eigen::MatrixXd chol_;                // lower Cholesky factor of K + noise
  Eigen::VectorXd alpha_;               // (K + noise)^-1 y
};

// The textbook formulas with an explicit inverse, O(n^3): the tests' reference for predict.
// Standardizes y as GaussianProcess does.
void gp_predict_naive(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                      const std::vector<int>& group, const GpHyper& h, const Eigen::MatrixXd& xs,
                      Eigen::VectorXd& mean, Eigen::VectorXd& var);

// An increasing piecewise linear map: knots (x_i, y_i), x and y strictly ascending (at least
// two), linear between them and, beyond them, linear with slope `tail_slope`.
struct PiecewiseLinear {
  std::vector<double> x, y;
  double tail_slope = 1;
  double operator()(double v) const;
  double inverse_at(double w) const;  // = inverse()(w), without building it
  PiecewiseLinear inverse() const;
  // v -> -f(-v): the map of a negated variable (minimized objectives as gains).
  PiecewiseLinear reflected() const;
};

// Rank-based Gaussian copula of the targets (the output transform of a black-box objective:
// accuracy falls off a cliff, so a few collapsed candidates would dominate a GP on raw values).
// The sorted distinct observed values y_(i) map to z_i = Phi^-1((rank_i + 0.5) / n) (ties share
// their mean rank); between them the map is linear, beyond them linear with the average slope
// (z_max - z_min) / (y_max - y_min). Piecewise linear and strictly increasing, so its inverse is
// too, and the expected hypervolume improvement through it keeps a closed form
// (search/samplers/ehvi.hpp). With fewer than two distinct values: the identity. More than
// max_knots distinct values are thinned to max_knots evenly spaced ones (first and last kept): the
// expected improvement through the warp costs one normal cdf per knot.
PiecewiseLinear copula_warp(std::vector<double> values, size_t max_knots = 32);

// Standard normal quantile (Acklam's rational approximation refined by one Halley step).
double normal_quantile(double p);

}  // namespace autocompress
