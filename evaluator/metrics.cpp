#include "evaluator/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace autocompress {

namespace {

// numpy / torch argmax order: NaN ranks above every number; among equals the lower index wins.
bool ranks_above(float a, float b) { return (std::isnan(a) && !std::isnan(b)) || a > b; }

// Position of class `c` when the row is sorted by that order (0 = the argmax).
int64_t rank_of(std::span<const float> row, int64_t c) {
  const float x = row[static_cast<size_t>(c)];
  int64_t rank = 0;
  for (int64_t j = 0; j < static_cast<int64_t>(row.size()); ++j) {
    const float y = row[static_cast<size_t>(j)];
    if (ranks_above(y, x) || (j < c && !ranks_above(x, y))) ++rank;
  }
  return rank;
}

int64_t argmax(std::span<const float> row) {
  int64_t best = 0;
  for (int64_t j = 1; j < static_cast<int64_t>(row.size()); ++j)
    if (ranks_above(row[static_cast<size_t>(j)], row[static_cast<size_t>(best)])) best = j;
  return best;
}

double log_sum_exp(std::span<const float> row) {
  double m = -INFINITY;
  for (float v : row) m = std::max(m, static_cast<double>(v));
  double s = 0;
  for (float v : row) s += std::exp(static_cast<double>(v) - m);
  return m + std::log(s);
}

// KL(softmax(ref) || softmax(ours)) in nats, via log-softmax so that large logits neither
// overflow nor lose the small probabilities.
double kl_divergence(std::span<const float> ref, std::span<const float> ours) {
  const double lse_ref = log_sum_exp(ref), lse_ours = log_sum_exp(ours);
  double kl = 0;
  for (size_t j = 0; j < ref.size(); ++j) {
    const double log_p = ref[j] - lse_ref, log_q = ours[j] - lse_ours;
    const double p = std::exp(log_p);
    if (p > 0) kl += p * (log_p - log_q);
  }
  return std::max(kl, 0.0);  // rounding can leave -1e-17 for (near-)identical rows
}

}  // namespace

MetricsAccumulator::MetricsAccumulator(int64_t classes) : classes_(classes) {
  if (classes <= 0)
    throw std::invalid_argument("MetricsAccumulator: classes must be positive, got " +
                                std::to_string(classes));
}

void MetricsAccumulator::add(std::span<const float> logits, std::span<const int64_t> labels,
                             std::span<const float> reference) {
  const size_t classes = static_cast<size_t>(classes_);
  if (logits.size() % classes != 0)
    throw std::invalid_argument("MetricsAccumulator::add: " + std::to_string(logits.size()) +
                                " logits are not a multiple of " + std::to_string(classes_) +
                                " classes");
  const size_t batch = logits.size() / classes;
  if (!labels.empty() && labels.size() != batch)
    throw std::invalid_argument("MetricsAccumulator::add: " + std::to_string(labels.size()) +
                                " labels for a batch of " + std::to_string(batch));
  if (!reference.empty() && reference.size() != logits.size())
    throw std::invalid_argument("MetricsAccumulator::add: " + std::to_string(reference.size()) +
                                " reference logits for " + std::to_string(logits.size()) +
                                " logits");
  for (int64_t label : labels)
    if (label < 0 || label >= classes_)
      throw std::invalid_argument("MetricsAccumulator::add: label " + std::to_string(label) +
                                  " out of range for " + std::to_string(classes_) + " classes");

  for (size_t n = 0; n < batch; ++n) {
    const std::span<const float> row = logits.subspan(n * classes, classes);
    if (!labels.empty()) {
      const int64_t rank = rank_of(row, labels[n]);
      top1_ += rank == 0;
      top5_ += rank < 5;
    }
    if (!reference.empty()) {
      const std::span<const float> ref = reference.subspan(n * classes, classes);
      agree_ += argmax(row) == argmax(ref);
      kl_sum_ += kl_divergence(ref, row);
    }
  }
  count_ += static_cast<int64_t>(batch);
  if (!labels.empty()) labelled_ += static_cast<int64_t>(batch);
  if (!reference.empty()) referenced_ += static_cast<int64_t>(batch);
}

Metrics MetricsAccumulator::result() const {
  Metrics m;
  m.count = count_;
  if (labelled_ > 0) {
    m.top1 = static_cast<double>(top1_) / static_cast<double>(labelled_);
    // With fewer than five classes every label is in the "top five": the number says nothing.
    if (classes_ >= 5) m.top5 = static_cast<double>(top5_) / static_cast<double>(labelled_);
  }
  if (referenced_ > 0) {
    m.agreement = static_cast<double>(agree_) / static_cast<double>(referenced_);
    m.kl = kl_sum_ / static_cast<double>(referenced_);
  }
  return m;
}

void append_top1(std::span<const float> logits, int64_t classes, std::vector<int64_t>& out) {
  for (size_t r = 0; (r + 1) * size_t(classes) <= logits.size(); ++r) {
    const float* row = logits.data() + r * size_t(classes);
    out.push_back(int64_t(std::max_element(row, row + classes) - row));
  }
}

PairedDrop paired_drop(std::span<const uint8_t> original, std::span<const uint8_t> cand) {
  PairedDrop d;
  d.n = int64_t(std::min(original.size(), cand.size()));
  if (d.n == 0) return d;
  double sum = 0, sq = 0, o = 0, c = 0;
  for (int64_t i = 0; i < d.n; ++i) {
    const double x = double(original[size_t(i)]) - double(cand[size_t(i)]);
    sum += x, sq += x * x, o += original[size_t(i)], c += cand[size_t(i)];
  }
  const double n = double(d.n), mean = sum / n;
  d.original = o / n, d.accuracy = c / n;
  d.drop = 100 * mean;
  // Sample variance of the paired differences; the standard error of their mean.
  const double var = d.n > 1 ? std::max(0.0, (sq - n * mean * mean) / (n - 1)) : 0.0;
  d.se = 100 * std::sqrt(var / n);
  return d;
}

}  // namespace autocompress
