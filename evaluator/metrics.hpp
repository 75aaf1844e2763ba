// Classification metrics over a dataset, accumulated batch by batch.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace autocompress {

struct Metrics {
  int64_t count = 0;
  std::optional<double> top1;  // against labels
  std::optional<double> top5;
  std::optional<double> agreement;  // top-1 agreement with reference logits
  std::optional<double> kl;         // mean KL(softmax(ref) || softmax(ours)), nats
};

// Not thread-safe: one accumulator per evaluation. add() throws std::invalid_argument on span
// sizes that are not whole samples or a label outside [0, classes).
class MetricsAccumulator {
 public:
  explicit MetricsAccumulator(int64_t classes);
  // logits: batch x classes; labels: batch entries or empty; reference: batch x classes or empty.
  void add(std::span<const float> logits, std::span<const int64_t> labels,
           std::span<const float> reference);
  Metrics result() const;

 private:
  int64_t classes_;
  int64_t count_ = 0, labelled_ = 0, referenced_ = 0;
  int64_t top1_ = 0, top5_ = 0, agree_ = 0;
  double kl_sum_ = 0;
};

// Index of the largest logit of each row of [rows, classes] logits, appended to `out`.
void append_top1(std::span<const float> logits, int64_t classes, std::vector<int64_t>& out);

// Paired accuracy statistics of a candidate against a reference model (the original) on the same
// images: the drop is the mean of the per-image differences, its standard error the sample
// standard deviation of those differences over sqrt(n). Pairing cancels the images' own
// difficulty, so the SE of a small drop is far below that of two independent accuracies.
struct PairedDrop {
  int64_t n = 0;
  double accuracy = 0;      // candidate accuracy (fraction)
  double original = 0;      // reference accuracy on the same images (fraction)
  double drop = 0, se = 0;  // in points (percent)
};
// From per-image correctness (1/0) of the reference and the candidate (the common prefix).
PairedDrop paired_drop(std::span<const uint8_t> original, std::span<const uint8_t> candidate);

}  // namespace autocompress
