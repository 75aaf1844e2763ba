#include "evaluator/evaluate.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

#include "common/error.hpp"

namespace autocompress {

EvalResult evaluate(Executor& ex, const Graph& g, const Dataset& ds, int64_t batch,
                    std::span<const float> reference, bool keep_outputs) {
  if (g.inputs.size() != 1 || g.outputs.size() != 1)
    throw UsageError("evaluation needs a model with one input and one output; " + g.source +
                     " has " + std::to_string(g.inputs.size()) + " and " +
                     std::to_string(g.outputs.size()));
  check_fits(ds, g.value(g.inputs[0]).shape);
  const Shape out_shape = g.value(g.outputs[0]).shape;
  if (out_shape.size() != 2)
    throw UsageError("evaluation needs [N, classes] outputs; " + g.source + " gives " +
                     shape_str(out_shape));
  EvalResult r;
  r.classes = out_shape[1];
  const int64_t n = ds.size(), per = numel(ds.sample_shape);
  if (!reference.empty() && int64_t(reference.size()) != n * r.classes)
    throw DataError("", "reference logits hold " + std::to_string(reference.size()) +
                            " values; expected " + std::to_string(n) + " x " +
                            std::to_string(r.classes));
  for (size_t i = 0; i < ds.labels.size();
       ++i)  // bad data, not MetricsAccumulator's internal error
    if (ds.labels[i] < 0 || ds.labels[i] >= r.classes)
      throw DataError(ds.source, "label " + std::to_string(ds.labels[i]) + " of image " +
                                     std::to_string(i) + " is outside the model's " +
                                     std::to_string(r.classes) + " classes (0.." +
                                     std::to_string(r.classes - 1) + ") of " + g.source);
  MetricsAccumulator acc(r.classes);
  if (keep_outputs) r.outputs.resize(n * r.classes);
  std::vector<HostTensor> in(1);
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t start = 0; start < n; start += batch) {
    const int64_t b = std::min(batch, n - start);
    in[0].shape = ds.sample_shape;
    in[0].shape.insert(in[0].shape.begin(), b);
    in[0].data.resize(size_t(b * per));
    ds.read(start, b, in[0].data);
    const auto out = ex.run(in);
    const auto& logits = out[0].data;
    std::span<const int64_t> labels;
    if (ds.has_labels()) labels = std::span<const int64_t>(ds.labels).subspan(start, b);
    std::span<const float> ref;
    if (!reference.empty()) ref = reference.subspan(start * r.classes, b * r.classes);
    acc.add(logits, labels, ref);
    if (keep_outputs)
      std::copy(logits.begin(), logits.end(), r.outputs.begin() + start * r.classes);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.images_per_s = r.seconds > 0 ? double(n) / r.seconds : 0;
  r.metrics = acc.result();
  return r;
}

namespace {
std::vector<float> parse_floats(const Graph& g, const std::string& key) {
  auto it = g.metadata.find(key);
  if (it == g.metadata.end()) return {};
  std::vector<float> v;
  std::stringstream ss(it->second);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      v.push_back(std::stof(item, &used));
      if (item.find_first_not_of(" \t", used) != std::string::npos) throw std::invalid_argument("");
    } catch (const std::exception&) {
      throw ModelError(
          g.source, "",
          "metadata '" + key + "' must be comma-separated numbers, got '" + it->second + "'");
    }
  }
  return v;
}
}  // namespace

// Refused with ModelError naming the file and the key: a non-finite mean, a std not positive and
// finite, one key without the other, different channel counts.
Normalization model_normalization(const Graph& g) {
  const std::string mean_key = "autocompress.normalize.mean",
                    std_key = "autocompress.normalize.std";
  Normalization n{parse_floats(g, mean_key), parse_floats(g, std_key)};
  const auto refuse = [&](const std::string& key, const std::string& what) {
    throw ModelError(g.source, "", "metadata '" + key + "' " + what);
  };
  if (n.mean.empty() != n.std.empty())
    refuse(n.mean.empty() ? mean_key : std_key,
           "is missing while '" + (n.mean.empty() ? std_key : mean_key) + "' is given");
  for (float m : n.mean)
    if (!std::isfinite(m)) refuse(mean_key, "must be finite numbers, got " + std::to_string(m));
  for (float d : n.std)
    if (!std::isfinite(d) || d <= 0)
      refuse(std_key, "must be positive finite numbers, got " + std::to_string(d));
  if (n.mean.size() > 1 && n.std.size() > 1 && n.mean.size() != n.std.size())
    refuse(std_key, "has " + std::to_string(n.std.size()) + " channels but '" + mean_key +
                        "' has " + std::to_string(n.mean.size()));
  return n;
}

}  // namespace autocompress
