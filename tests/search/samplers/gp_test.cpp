// The Gaussian process of the bo sampler against hand-computed cases and the naive O(n^3)
// formulas, its likelihood gradient against finite differences, the MAP fit, the copula warp.
#include "search/samplers/gp.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "search/samplers/rng.hpp"

namespace autocompress {
namespace {

Eigen::MatrixXd random_inputs(size_t n, size_t d, Rng& rng) {
  Eigen::MatrixXd x(n, d);
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    for (Eigen::Index j = 0; j < x.cols(); ++j) x(i, j) = rng.uniform();
  return x;
}

TEST(Matern52, HandComputedValues) {
  EXPECT_DOUBLE_EQ(matern52(0), 1.0);
  const double s5 = std::sqrt(5.0);
  EXPECT_NEAR(matern52(1), (1 + s5 + 5.0 / 3.0) * std::exp(-s5), 1e-15);
  EXPECT_NEAR(matern52(4), (1 + 2 * s5 + 20.0 / 3.0) * std::exp(-2 * s5), 1e-15);
}

TEST(GaussianProcess, TwoPointsMatchTheHandComputedPosterior) {
  // x = 0, 1 with y = 3, 1: standardized to +1, -1. With lengthscale 1, s2 = 1, noise n:
  // mean(0) = 2 + (1 - c) / (1 + n - c) with c = matern52(1).
  Eigen::MatrixXd x(2, 1);
  x << 0, 1;
  Eigen::VectorXd y(2);
  y << 3, 1;
  GpHyper h{{0.0}, 0.0, std::log(0.01)};
  GaussianProcess gp(x, y, {0}, h);
  Eigen::VectorXd mean, var;
  Eigen::MatrixXd xs(1, 1);
  xs << 0;
  gp.predict(xs, mean, var);
  const double c = matern52(1), n = 0.01 + 1e-8;
  EXPECT_NEAR(mean(0), 2 + (1 - c) / (1 + n - c), 1e-9);
  // var(0) = 1 - [1 c] K^-1 [1 c]^T, K = [[1+n, c], [c, 1+n]].
  const double det = (1 + n) * (1 + n) - c * c;
  const double quad = ((1 + n) * (1 + c * c) - 2 * c * c) / det;
  EXPECT_NEAR(var(0), 1 - quad, 1e-9);
}

TEST(GaussianProcess, PredictMatchesTheNaiveFormulas) {
  Rng rng(3);
  const Eigen::MatrixXd x = random_inputs(25, 5, rng), xs = random_inputs(7, 5, rng);
  Eigen::VectorXd y(25);
  for (Eigen::Index i = 0; i < 25; ++i) y(i) = std::sin(3 * x(i, 0)) + x(i, 3) * x(i, 4);
  const std::vector<int> group = {0, 0, 1, 2, 2};
  const GpHyper h{{-0.5, 0.3, 0.1}, 0.2, -5};
  GaussianProcess gp(x, y, group, h);
  Eigen::VectorXd mean, var, mean_ref, var_ref;
  gp.predict(xs, mean, var);
  gp_predict_naive(x, y, group, h, xs, mean_ref, var_ref);
  for (Eigen::Index i = 0; i < 7; ++i) {
    EXPECT_NEAR(mean(i), mean_ref(i), 1e-7);
    EXPECT_NEAR(var(i), var_ref(i), 1e-7);
  }
}

TEST(GaussianProcess, LogPosteriorGradientMatchesFiniteDifferences) {
  Rng rng(5);
  const Eigen::MatrixXd x = random_inputs(20, 4, rng);
  Eigen::VectorXd y(20);
  for (Eigen::Index i = 0; i < 20; ++i) y(i) = std::cos(4 * x(i, 1)) + 0.3 * x(i, 2);
  const std::vector<int> group = {0, 0, 1, 1};
  GaussianProcess gp(x, y, group, GpHyper{{0.0, 0.0}, 0.0, -4});
  const GpPriors priors = dimension_scaled_priors(4);
  for (const std::vector<double>& theta :
       {std::vector<double>{-0.7, 0.4, 0.3, -3}, std::vector<double>{0.5, -1.0, -0.2, -6}}) {
    std::vector<double> grad(theta.size());
    gp.log_posterior(theta, priors, &grad);
    for (size_t k = 0; k < theta.size(); ++k) {
      auto plus = theta, minus = theta;
      plus[k] += 1e-5;
      minus[k] -= 1e-5;
      const double fd =
          (gp.log_posterior(plus, priors, nullptr) - gp.log_posterior(minus, priors, nullptr)) /
          2e-5;
      EXPECT_NEAR(grad[k], fd, 1e-4 * std::max(1.0, std::abs(fd))) << "component " << k;
    }
  }
}

TEST(GaussianProcess, MapFitFindsTheRelevantGroupAndRaisesThePosterior) {
  Rng rng(11);
  const Eigen::MatrixXd x = random_inputs(40, 6, rng);
  Eigen::VectorXd y(40);  // depends only on the group-0 dimensions
  for (Eigen::Index i = 0; i < 40; ++i) y(i) = std::sin(5 * x(i, 0)) + std::cos(4 * x(i, 1));
  const std::vector<int> group = {0, 0, 1, 1, 1, 1};
  const GpPriors priors = dimension_scaled_priors(6);
  const GpHyper start{{priors.lengthscale_mu, priors.lengthscale_mu}, 0, -4};
  GaussianProcess gp(x, y, group, start);
  const double before = gp.log_posterior(start.to_vector(), priors, nullptr);
  const double after = gp.fit(priors, 80);
  EXPECT_GT(after, before + 1);
  EXPECT_NEAR(after, gp.log_posterior(gp.hyper().to_vector(), priors, nullptr), 1e-9);
  EXPECT_LT(gp.hyper().log_lengthscale[0], gp.hyper().log_lengthscale[1] - 1);
  // The fitted model predicts held-out points well.
  const Eigen::MatrixXd xs = random_inputs(20, 6, rng);
  Eigen::VectorXd mean, var;
  gp.predict(xs, mean, var);
  double err = 0;
  for (Eigen::Index i = 0; i < 20; ++i)
    err += std::pow(mean(i) - std::sin(5 * xs(i, 0)) - std::cos(4 * xs(i, 1)), 2);
  EXPECT_LT(std::sqrt(err / 20), 0.15);
}

TEST(GaussianProcess, AddedFantasyIsInterpolatedAndShrinksTheVariance) {
  Rng rng(2);
  const Eigen::MatrixXd x = random_inputs(10, 3, rng);
  Eigen::VectorXd y = x.col(0) + x.col(1);
  GaussianProcess gp(x, y, {0, 0, 1}, GpHyper{{0.0, 0.0}, 0.0, -9});
  Eigen::VectorXd p(3);
  p << 0.5, 0.9, 0.1;
  Eigen::VectorXd mean, var, mean_after, var_after;
  gp.predict(p.transpose(), mean, var);
  gp.add(p, 7.0);
  EXPECT_EQ(gp.size(), 11u);
  gp.predict(p.transpose(), mean_after, var_after);
  EXPECT_NEAR(mean_after(0), 7.0, 1e-2);
  EXPECT_LT(var_after(0), 0.01 * var(0));
}

TEST(CopulaWarp, MonotoneInvertibleWithTiesAndLinearTails) {
  const PiecewiseLinear w = copula_warp({0.9, 0.1, 0.85, 0.9, 0.88, 0.12});
  ASSERT_EQ(w.x.size(), 5u);  // 0.9 twice
  EXPECT_NEAR(w(0.9), normal_quantile((4.5 + 0.5) / 6), 1e-12);
  EXPECT_NEAR(w(0.1), normal_quantile(0.5 / 6), 1e-12);
  const PiecewiseLinear inv = w.inverse();
  double last = -1e9;
  for (double v = -0.5; v <= 1.5; v += 0.01) {
    EXPECT_GT(w(v), last);
    last = w(v);
    EXPECT_NEAR(inv(w(v)), v, 1e-12);
  }
  const PiecewiseLinear r = w.reflected();
  EXPECT_NEAR(r(-0.3), -w(0.3), 1e-12);
  const PiecewiseLinear single = copula_warp({2, 2});
  EXPECT_DOUBLE_EQ(single(5), 5);
}

TEST(CopulaWarp, ManyValuesAreThinnedToEvenlySpacedKnots) {
  std::vector<double> values;
  for (int i = 0; i < 500; ++i) values.push_back(std::pow(i / 499.0, 3));
  const PiecewiseLinear w = copula_warp(values, 32);
  ASSERT_EQ(w.x.size(), 32u);
  EXPECT_DOUBLE_EQ(w.x.front(), 0.0);
  EXPECT_DOUBLE_EQ(w.x.back(), 1.0);
  const PiecewiseLinear full = copula_warp(values, 1000);
  for (double v : {0.001, 0.1, 0.5, 0.9}) EXPECT_NEAR(w(v), full(v), 0.05) << v;
}

TEST(NormalQuantile, InvertsTheNormalCdf) {
  for (double p : {1e-10, 1e-4, 0.02, 0.3, 0.5, 0.77, 0.99, 1 - 1e-9})
    EXPECT_NEAR(0.5 * std::erfc(-normal_quantile(p) / std::sqrt(2.0)), p, 1e-12 + 1e-9 * p);
}

}  // namespace
}  // namespace autocompress
