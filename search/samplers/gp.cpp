#include "search/samplers/gp.hpp"

#include <Eigen/Cholesky>
#include <Eigen/LU>
#include <algorithm>
#include <cmath>
#include <limits>
#include <nlopt.hpp>
#include <numbers>

#include "common/error.hpp"

namespace autocompress {

namespace {

const double kSqrt5 = std::sqrt(5.0);

// Bounds of theta: lengthscales 1e-2 .. 1e3 (inputs live in [0, 1]), signal e^-5 .. e^5 of the
// standardized target, noise variance 1e-6 .. 1.
constexpr double kLogLsLo = -4.6, kLogLsHi = 6.9, kLogSignalLo = -5, kLogSignalHi = 5;
constexpr double kLogNoiseLo = -13.8, kLogNoiseHi = 0;
constexpr double kJitter = 1e-8;

double log_normal_density(double t, double mu, double sigma, double* dt) {
  const double u = (t - mu) / sigma;
  if (dt) *dt = -u / sigma;
  return -0.5 * u * u;
}

// Squared distances per group of dimensions, n x n each.
std::vector<Eigen::MatrixXd> group_distances(const Eigen::MatrixXd& x,
                                             const std::vector<int>& group, size_t groups) {
  const Eigen::Index n = x.rows();
  std::vector<Eigen::MatrixXd> d(groups, Eigen::MatrixXd::Zero(n, n));
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    auto& dg = d[static_cast<size_t>(group[static_cast<size_t>(j)])];
    for (Eigen::Index a = 0; a < n; ++a)
      for (Eigen::Index b = a + 1; b < n; ++b) {
        const double diff = x(a, j) - x(b, j);
        dg(a, b) += diff * diff;
      }
  }
  for (auto& dg : d) dg.triangularView<Eigen::StrictlyLower>() = dg.transpose();
  return d;
}

}  // namespace

double matern52(double r2) {
  const double r = std::sqrt(std::max(r2, 0.0));
  return (1 + kSqrt5 * r + 5.0 / 3.0 * r2) * std::exp(-kSqrt5 * r);
}

std::vector<double> GpHyper::to_vector() const {
  std::vector<double> t = log_lengthscale;
  t.push_back(log_signal);
  t.push_back(log_noise);
  return t;
}

GpHyper GpHyper::from_vector(const std::vector<double>& theta) {
  GpHyper h;
  h.log_lengthscale.assign(theta.begin(), theta.end() - 2);
  h.log_signal = theta[theta.size() - 2];
  h.log_noise = theta.back();
  return h;
}

GpPriors dimension_scaled_priors(size_t d) {
  GpPriors p;
  p.lengthscale_mu = std::numbers::sqrt2 + 0.5 * std::log(std::max<double>(d, 1));
  p.lengthscale_sigma = std::sqrt(3.0);
  return p;
}

Eigen::MatrixXd kernel_matrix(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                              const std::vector<int>& group, const GpHyper& h) {
  Eigen::RowVectorXd inv(a.cols());
  for (Eigen::Index j = 0; j < a.cols(); ++j)
    inv(j) = std::exp(-h.log_lengthscale[static_cast<size_t>(group[static_cast<size_t>(j)])]);
  const Eigen::MatrixXd as = a.array().rowwise() * inv.array();
  const Eigen::MatrixXd bs = b.array().rowwise() * inv.array();
  // |a - b|^2 = |a|^2 + |b|^2 - 2 a.b: one matrix product instead of a loop over dimensions.
  Eigen::MatrixXd r2 = -2.0 * as * bs.transpose();
  r2.colwise() += as.rowwise().squaredNorm();
  r2.rowwise() += bs.rowwise().squaredNorm().transpose();
  const double s2 = std::exp(h.log_signal);
  return r2.unaryExpr([s2](double v) { return s2 * matern52(v); });
}

GaussianProcess::GaussianProcess(Eigen::MatrixXd x, Eigen::VectorXd y, std::vector<int> group,
                                 GpHyper hyper)
    : x_(std::move(x)), group_(std::move(group)), hyper_(std::move(hyper)) {
  if (static_cast<size_t>(x_.cols()) != group_.size() || x_.rows() != y.size() || y.size() == 0)
    throw UsageError("GaussianProcess: " + std::to_string(x_.rows()) + "x" +
                     std::to_string(x_.cols()) + " inputs, " + std::to_string(y.size()) +
                     " targets and " + std::to_string(group_.size()) + " groups do not match");
  for (int g : group_) groups_ = std::max(groups_, static_cast<size_t>(g) + 1);
  if (hyper_.log_lengthscale.size() != groups_)
    throw UsageError("GaussianProcess: " + std::to_string(hyper_.log_lengthscale.size()) +
                     " lengthscales for " + std::to_string(groups_) + " groups");
  y_mean_ = y.mean();
  const double var = (y.array() - y_mean_).square().mean();
  y_scale_ = var > 1e-24 ? std::sqrt(var) : 1.0;
  y_ = (y.array() - y_mean_) / y_scale_;
  dist2_ = group_distances(x_, group_, groups_);
  factorize();
}

Eigen::MatrixXd GaussianProcess::covariance(const GpHyper& h, Eigen::MatrixXd* r_out) const {
  const Eigen::Index n = x_.rows();
  Eigen::MatrixXd r2 = Eigen::MatrixXd::Zero(n, n);
  for (size_t g = 0; g < groups_; ++g) r2 += dist2_[g] * std::exp(-2 * h.log_lengthscale[g]);
  Eigen::MatrixXd r = r2.cwiseSqrt();
  const double s2 = std::exp(h.log_signal);
  Eigen::MatrixXd k =
      s2 *
      ((1 + kSqrt5 * r.array() + 5.0 / 3.0 * r2.array()) * (-kSqrt5 * r.array()).exp()).matrix();
  if (r_out) *r_out = std::move(r);
  return k;
}

void GaussianProcess::factorize() {
  const Eigen::Index n = x_.rows();
  const Eigen::MatrixXd k = kernel_matrix(x_, x_, group_, hyper_);
  const double s2 = std::exp(hyper_.log_signal);
  for (double jitter = kJitter * s2;; jitter *= 10) {
    Eigen::LLT<Eigen::MatrixXd> llt(k + (std::exp(hyper_.log_noise) + jitter) *
                                            Eigen::MatrixXd::Identity(n, n));
    if (llt.info() == Eigen::Success) {
      chol_ = llt.matrixL();
      alpha_ = llt.solve(y_);
      return;
    }
    if (jitter > s2) throw RuntimeError("GaussianProcess: covariance not positive definite");
  }
}

void GaussianProcess::set_hyper(const GpHyper& h) {
  hyper_ = h;
  factorize();
}

void GaussianProcess::add(const Eigen::VectorXd& x, double y) {
  x_.conservativeResize(x_.rows() + 1, Eigen::NoChange);
  x_.row(x_.rows() - 1) = x.transpose();
  y_.conservativeResize(y_.size() + 1);
  y_(y_.size() - 1) = (y - y_mean_) / y_scale_;
  dist2_ = group_distances(x_, group_, groups_);
  factorize();
}

void GaussianProcess::predict(const Eigen::MatrixXd& xs, Eigen::VectorXd& mean,
                              Eigen::VectorXd& var) const {
  const Eigen::MatrixXd ks = kernel_matrix(xs, x_, group_, hyper_);  // m x n
  mean = (ks * alpha_).array() * y_scale_ + y_mean_;
  const Eigen::MatrixXd v = chol_.triangularView<Eigen::Lower>().solve(ks.transpose());
  const double s2 = std::exp(hyper_.log_signal);
  var = ((s2 - v.colwise().squaredNorm().transpose().array()).max(1e-12) * y_scale_ * y_scale_)
            .matrix();
}

double GaussianProcess::log_posterior(const std::vector<double>& theta, const GpPriors& priors,
                                      std::vector<double>* grad) const {
  const GpHyper h = GpHyper::from_vector(theta);
  const Eigen::Index n = x_.rows();
  Eigen::MatrixXd r;
  const Eigen::MatrixXd ksig = covariance(h, &r);
  const double noise = std::exp(h.log_noise), s2 = std::exp(h.log_signal);
  const Eigen::LLT<Eigen::MatrixXd> llt(ksig +
                                        (noise + kJitter * s2) * Eigen::MatrixXd::Identity(n, n));
  if (llt.info() != Eigen::Success) {
    if (grad) std::fill(grad->begin(), grad->end(), 0.0);
    return -1e300;
  }
  const Eigen::VectorXd alpha = llt.solve(y_);
  const Eigen::MatrixXd l = llt.matrixL();
  double lp = -0.5 * y_.dot(alpha) - l.diagonal().array().log().sum() -
              0.5 * static_cast<double>(n) * std::log(2 * std::numbers::pi);
  std::vector<double> dprior(theta.size());
  for (size_t g = 0; g < groups_; ++g)
    lp += log_normal_density(theta[g], priors.lengthscale_mu, priors.lengthscale_sigma, &dprior[g]);
  lp += log_normal_density(h.log_signal, priors.signal_mu, priors.signal_sigma, &dprior[groups_]);
  lp += log_normal_density(h.log_noise, priors.noise_mu, priors.noise_sigma, &dprior[groups_ + 1]);
  if (!grad) return lp;
  // d lml / d theta = 1/2 tr((alpha alpha^T - K^-1) dK/dtheta) (Rasmussen & Williams eq. 5.9).
  const Eigen::MatrixXd w = alpha * alpha.transpose() - llt.solve(Eigen::MatrixXd::Identity(n, n));
  // dk/dlog l_g = s2 5/3 D_g / l_g^2 (1 + sqrt5 r) exp(-sqrt5 r).
  const Eigen::ArrayXXd common =
      s2 * 5.0 / 3.0 * (1 + kSqrt5 * r.array()) * (-kSqrt5 * r.array()).exp();
  for (size_t g = 0; g < groups_; ++g)
    (*grad)[g] =
        0.5 * (w.array() * common * dist2_[g].array()).sum() * std::exp(-2 * h.log_lengthscale[g]) +
        dprior[g];
  (*grad)[groups_] = 0.5 * (w.array() * ksig.array()).sum() + dprior[groups_];
  (*grad)[groups_ + 1] = 0.5 * noise * w.trace() + dprior[groups_ + 1];
  return lp;
}

namespace {

// Starting points of the MAP fit: the current hyperparameters and a ladder of shorter shared
// lengthscales from the prior's mode (noise at its prior mode). From the mode alone L-BFGS often
// settles in the basin where long lengthscales and large noise explain everything (seen on cliffs
// with few points); the ladder costs one likelihood evaluation per rung.
std::vector<std::vector<double>> fit_starts(const GpHyper& current, const GpPriors& priors,
                                            size_t groups) {
  std::vector<std::vector<double>> starts = {current.to_vector()};
  for (double shorter : {0.0, 1.0, 2.0, 3.0}) {
    GpHyper h;
    h.log_lengthscale.assign(groups, priors.lengthscale_mu - shorter);
    h.log_signal = priors.signal_mu;
    h.log_noise = priors.noise_mu;
    starts.push_back(h.to_vector());
  }
  return starts;
}

}  // namespace

double GaussianProcess::fit(const GpPriors& priors, int max_evals) {
  std::vector<double> lo(groups_, kLogLsLo), hi(groups_, kLogLsHi);
  lo.insert(lo.end(), {kLogSignalLo, kLogNoiseLo});
  hi.insert(hi.end(), {kLogSignalHi, kLogNoiseHi});
  std::vector<double> theta;
  double start_value = -std::numeric_limits<double>::infinity();
  for (auto t : fit_starts(hyper_, priors, groups_)) {
    for (size_t i = 0; i < t.size(); ++i) t[i] = std::clamp(t[i], lo[i], hi[i]);
    const double v = log_posterior(t, priors, nullptr);
    if (v > start_value) start_value = v, theta = t;
  }
  struct Best {
    const GaussianProcess* gp;
    const GpPriors* priors;
    double value;
    std::vector<double> theta;
  } best{this, &priors, start_value, theta};
  nlopt::opt opt(nlopt::LD_LBFGS, static_cast<unsigned>(theta.size()));
  opt.set_lower_bounds(lo);
  opt.set_upper_bounds(hi);
  opt.set_maxeval(max_evals);
  opt.set_ftol_rel(1e-7);
  opt.set_max_objective(
      [](const std::vector<double>& t, std::vector<double>& g, void* data) {
        auto* b = static_cast<Best*>(data);
        const double v = b->gp->log_posterior(t, *b->priors, g.empty() ? nullptr : &g);
        if (v > b->value) b->value = v, b->theta = t;  // NLopt may stop by exception: keep it
        return v;
      },
      &best);
  double value = 0;
  try {
    opt.optimize(theta, value);
  } catch (const std::exception&) {
    // roundoff-limited or a failed line search: the best point seen is still a good fit
  }
  set_hyper(GpHyper::from_vector(best.theta));
  return best.value;
}

void gp_predict_naive(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                      const std::vector<int>& group, const GpHyper& h, const Eigen::MatrixXd& xs,
                      Eigen::VectorXd& mean, Eigen::VectorXd& var) {
  const Eigen::Index n = x.rows();
  const double mu = y.mean();
  const double var_y = (y.array() - mu).square().mean();
  const double scale = var_y > 1e-24 ? std::sqrt(var_y) : 1.0;
  const Eigen::VectorXd ys = (y.array() - mu) / scale;
  const double s2 = std::exp(h.log_signal);
  Eigen::MatrixXd k(n, n);
  for (Eigen::Index a = 0; a < n; ++a)
    for (Eigen::Index b = 0; b < n; ++b) {
      double r2 = 0;
      for (Eigen::Index j = 0; j < x.cols(); ++j) {
        const double l = std::exp(h.log_lengthscale[static_cast<size_t>(group[j])]);
        r2 += (x(a, j) - x(b, j)) * (x(a, j) - x(b, j)) / (l * l);
      }
      k(a, b) = s2 * matern52(r2) + (a == b ? std::exp(h.log_noise) + kJitter * s2 : 0.0);
    }
  const Eigen::MatrixXd kinv = k.inverse();
  const Eigen::MatrixXd ks = kernel_matrix(xs, x, group, h);
  mean = (ks * kinv * ys).array() * scale + mu;
  var.resize(xs.rows());
  for (Eigen::Index i = 0; i < xs.rows(); ++i)
    var(i) = std::max(s2 - ks.row(i).dot(kinv * ks.row(i).transpose()), 1e-12) * scale * scale;
}

double normal_quantile(double p) {
  // Acklam (2003); relative error 1.15e-9 before refinement.
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  p = std::clamp(p, 1e-300, 1 - 1e-16);
  double x;
  if (p < 0.02425) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p > 1 - 0.02425) {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  const double e = 0.5 * std::erfc(-x / std::numbers::sqrt2) - p;  // one Halley step
  const double u = e * std::sqrt(2 * std::numbers::pi) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

PiecewiseLinear copula_warp(std::vector<double> values, size_t max_knots) {
  std::sort(values.begin(), values.end());
  const double n = static_cast<double>(values.size());
  PiecewiseLinear w;
  for (size_t i = 0; i < values.size();) {
    size_t j = i;
    while (j < values.size() && values[j] == values[i]) ++j;
    const double rank = 0.5 * static_cast<double>(i + j - 1);  // mean rank of the ties
    w.x.push_back(values[i]);
    w.y.push_back(normal_quantile((rank + 0.5) / n));
    i = j;
  }
  if (w.x.size() < 2) {
    const double v = w.x.empty() ? 0.0 : w.x[0];
    return {{v - 1, v + 1}, {v - 1, v + 1}, 1.0};
  }
  if (w.x.size() > std::max<size_t>(max_knots, 2)) {
    PiecewiseLinear thin;
    const size_t keep = std::max<size_t>(max_knots, 2);
    for (size_t k = 0; k < keep; ++k) {
      const size_t i = k * (w.x.size() - 1) / (keep - 1);
      thin.x.push_back(w.x[i]);
      thin.y.push_back(w.y[i]);
    }
    w = std::move(thin);
  }
  w.tail_slope = (w.y.back() - w.y.front()) / (w.x.back() - w.x.front());
  return w;
}

namespace {

// The increasing piecewise linear map with knots (from_i, to_i) and tail slope `slope`, at v.
double interpolate(const std::vector<double>& from, const std::vector<double>& to, double slope,
                   double v) {
  if (v <= from.front()) return to.front() + (v - from.front()) * slope;
  if (v >= from.back()) return to.back() + (v - from.back()) * slope;
  const size_t k = static_cast<size_t>(std::upper_bound(from.begin(), from.end(), v) -
                                       from.begin());  // from[k-1] <= v < from[k]
  const double t = (v - from[k - 1]) / (from[k] - from[k - 1]);
  return to[k - 1] + t * (to[k] - to[k - 1]);
}

}  // namespace

double PiecewiseLinear::operator()(double v) const { return interpolate(x, y, tail_slope, v); }
double PiecewiseLinear::inverse_at(double w) const { return interpolate(y, x, 1 / tail_slope, w); }

PiecewiseLinear PiecewiseLinear::inverse() const { return {y, x, 1 / tail_slope}; }

PiecewiseLinear PiecewiseLinear::reflected() const {
  PiecewiseLinear r{{}, {}, tail_slope};
  for (size_t i = x.size(); i-- > 0;) {
    r.x.push_back(-x[i]);
    r.y.push_back(-y[i]);
  }
  return r;
}

}  // namespace autocompress
