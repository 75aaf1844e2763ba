#include "compressors/calibrate.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "evaluator/onednn_executor.hpp"

namespace autocompress {

int64_t calibration_batch(const CalibOptions& o, int64_t images, int64_t bytes_per_image) {
  int64_t b = std::min(o.batch, images);
  if (bytes_per_image > 0) b = std::min(b, o.max_batch_bytes / bytes_per_image);
  return std::max<int64_t>(1, b);
}

void for_each_calibration_batch(
    const Graph& g, const std::vector<std::string>& tensors, const Dataset& ds,
    const CalibOptions& o, const std::function<void(const std::vector<const HostTensor*>&)>& f) {
  const std::string& input = g.inputs.at(0);
  check_fits(ds, g.value(input).shape);
  Graph aug = g;
  // index into the run's outputs; -1 = the graph input itself (served from the batch).
  std::vector<int> index;
  for (const auto& t : tensors) {
    if (t == input) {
      index.push_back(-1);
      continue;
    }
    auto it = std::find(aug.outputs.begin(), aug.outputs.end(), t);
    index.push_back(int(it - aug.outputs.begin()));
    if (it == aug.outputs.end()) aug.outputs.push_back(t);
  }
  // Every tensor asked for is an output, kept for the whole batch.
  int64_t bytes_per_image = 0;
  for (const auto& t : aug.outputs) bytes_per_image += numel(with_batch(aug.value(t).shape, 1));
  bytes_per_image *= int64_t(sizeof(float));
  const int64_t batch = calibration_batch(o, ds.size(), bytes_per_image);
  auto ex = compile(aug, {batch, o.threads});
  const int64_t per = numel(ds.sample_shape);
  for (int64_t start = 0; start < ds.size(); start += batch) {
    const int64_t b = std::min(batch, ds.size() - start);
    HostTensor in{with_batch(g.value(input).shape, b), {}};
    in.data.resize(size_t(b * per));
    ds.read(start, b, in.data);
    const auto out = ex->run({in});
    std::vector<const HostTensor*> picked;
    for (int k : index) picked.push_back(k < 0 ? &in : &out[size_t(k)]);
    f(picked);
  }
}

namespace {

void accumulate_range(TensorStats& s, const HostTensor& t) {
  const int64_t n = t.shape[0], c = t.shape.size() > 1 ? t.shape[1] : 1;
  const int64_t inner = n * c == 0 ? 0 : int64_t(t.data.size()) / (n * c);
  if (s.count == 0) {
    s.min = INFINITY, s.max = -INFINITY;
    s.channel_mean.assign(size_t(c), 0.0);
  }
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      const float* p = t.data.data() + (b * c + ch) * inner;
      double sum = 0;
      for (int64_t i = 0; i < inner; ++i) {
        sum += p[i];
        s.min = std::min(s.min, double(p[i])), s.max = std::max(s.max, double(p[i]));
      }
      s.channel_mean[size_t(ch)] += sum;  // divided by the per-channel count at the end
    }
  s.count += int64_t(t.data.size());
}

void accumulate_histogram(TensorStats& s, const HostTensor& t) {
  const size_t bins = s.hist.counts.size();
  if (s.hist.max_abs <= 0) {
    s.hist.counts[0] += double(t.data.size());
    return;
  }
  const double k = double(bins) / s.hist.max_abs;
  for (float v : t.data) s.hist.counts[std::min(bins - 1, size_t(std::fabs(v) * k))] += 1;
}

}  // namespace

ActivationStats collect_activation_stats(const Graph& g, const Dataset& ds,
                                         const std::vector<std::string>& tensors,
                                         const CalibOptions& o) {
  ActivationStats st;
  if (tensors.empty()) return st;
  std::vector<TensorStats*> slot;
  for (const auto& t : tensors) slot.push_back(&st[t]);
  for_each_calibration_batch(g, tensors, ds, o, [&](const std::vector<const HostTensor*>& t) {
    for (size_t k = 0; k < t.size(); ++k) accumulate_range(*slot[k], *t[k]);
  });
  for (TensorStats* s : slot) {
    const double per_channel =
        double(s->count) / double(std::max<size_t>(1, s->channel_mean.size()));
    for (double& m : s->channel_mean) m /= per_channel;
    s->hist.max_abs = std::max(std::fabs(s->min), std::fabs(s->max));
    s->hist.counts.assign(size_t(o.bins), 0.0);
  }
  for_each_calibration_batch(g, tensors, ds, o, [&](const std::vector<const HostTensor*>& t) {
    for (size_t k = 0; k < t.size(); ++k) accumulate_histogram(*slot[k], *t[k]);
  });
  return st;
}

std::vector<std::string> quantizable_tensors(const Graph& g) {
  std::set<std::string> seen;
  std::vector<std::string> out;
  for (const auto& n : g.nodes)
    for (const auto& t : n.inputs)
      if (!t.empty() && !g.is_initializer(t) && g.value(t).dtype == DType::kFloat &&
          seen.insert(t).second)
        out.push_back(t);
  return out;
}

}  // namespace autocompress
