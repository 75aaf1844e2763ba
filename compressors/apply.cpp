#include "compressors/apply.hpp"

#include <algorithm>
#include <set>

#include "common/error.hpp"

namespace autocompress {
namespace {

bool has_data(const Dataset& d) { return d.size() > 0; }

void need_data(const ApplyContext& ctx, const char* step) {
  if (!has_data(ctx.calibration()))
    throw ConfigError("calib", std::string("apply: ") + step + " needs calibration data: give " +
                                   key_ref("calib") +
                                   " (the images the study calibrated on, which fit the model's "
                                   "input), or export the recipe from its study again to carry "
                                   "its calibration record");
}

// The quantization settings of every Conv/Gemm of `g` that the recipe quantizes.
std::map<std::string, QuantSetting> quant_settings(const Graph& g, const Recipe& r) {
  std::map<std::string, QuantSetting> s;
  for (const auto& n : g.nodes) {
    if (n.op != "Conv" && n.op != "Gemm") continue;
    const LayerSettings l = r.settings(recipe_layer_of(n.name));
    if (l.precision != Precision::kFp32 || l.wbits < 8) s[n.name] = {l.precision, l.wbits};
  }
  return s;
}

// Statistics for `needs` on the compressed graph `g`: the original model's where the tensor
// exists there (channel means restricted to kept channels), the rest collected on `g`.
ActivationStats stats_for(const ApplyContext& ctx, const Graph& g, const PruneReport& pruned,
                          const std::vector<std::string>& needs, const ApplyOptions& o,
                          std::vector<std::string>& notes) {
  ActivationStats out;
  std::vector<std::string> missing;
  for (const auto& t : needs) {
    auto it = ctx.activation_stats().find(t);
    if (it == ctx.activation_stats().end()) {
      missing.push_back(t);
      continue;
    }
    TensorStats s = it->second;
    const int64_t c = g.value(t).shape.size() > 1 ? g.value(t).shape[1] : 1;
    if (int64_t(s.channel_mean.size()) != c) {
      const auto keep = kept_positions(ctx.channels(), pruned.kept, t);
      if (!keep || int64_t(keep->size()) != c) {
        missing.push_back(t);
        continue;
      }
      std::vector<double> m;
      for (int64_t k : *keep) m.push_back(s.channel_mean[size_t(k)]);
      s.channel_mean = std::move(m);
    }
    out[t] = std::move(s);
  }
  if (missing.empty()) return out;
  need_data(ctx, "calibrating new tensors");
  const int64_t n = std::min(ctx.calibration().size(), o.extra_calib_images);
  const Dataset sub = first_samples(ctx.calibration(), n);
  for (auto& [t, s] : collect_activation_stats(g, sub, missing, o.calib)) out[t] = std::move(s);
  notes.push_back("calibrated " + std::to_string(missing.size()) +
                  " tensors the original model lacks on " + std::to_string(n) + " images");
  return out;
}

Graph prune_and_refit(const ApplyContext& ctx, const Recipe& r, const ApplyOptions& o,
                      ApplyReport& rep) {
  const Graph& g = ctx.original();
  const auto ratios = group_prune_ratios(r, ctx.channels().groups);
  if (ratios.empty()) return g;
  Graph p = prune(g, ratios, o.prune, &rep.prune);
  for (const auto& [id, keep] : rep.prune.kept)
    rep.notes.push_back("pruned group " + std::to_string(id) + " to " +
                        std::to_string(keep.size()) + " channels");
  if (o.ls_reconstruction && !rep.prune.kept.empty()) {
    need_data(ctx, "least-squares reconstruction");
    p = reconstruct(g, p, rep.prune, ctx.ls_stats(), o.recover, &rep.notes);
  }
  return p;
}

}  // namespace

ApplyOptions apply_options(const CalibrationRecord& record, ApplyOptions base) {
  base.ls_reconstruction = record.ls_reconstruction;
  base.prune.channel_multiple = record.channel_multiple;
  base.recover.positions_per_image = record.positions_per_image;
  base.recover.seed = record.seed;
  base.calib.bins = record.histogram_bins;
  base.extra_calib_images = record.extra_images;
  return base;
}

CalibrationRecord calibration_record(const DataSpec& data, const ApplyOptions& o) {
  CalibrationRecord c;
  c.data = data;
  c.ls_reconstruction = o.ls_reconstruction;
  c.channel_multiple = o.prune.channel_multiple;
  c.positions_per_image = o.recover.positions_per_image;
  c.seed = o.recover.seed;
  c.histogram_bins = o.calib.bins;
  c.extra_images = o.extra_calib_images;
  return c;
}

ApplyContext::ApplyContext(Graph original, Dataset calib, ApplyOptions options)
    : original_(std::move(original)), calib_(std::move(calib)), options_(std::move(options)) {
  analysis_ = analyze_channels(original_);
  if (!has_data(calib_)) return;
  if (options_.ls_reconstruction)
    ls_stats_ = collect_reconstruction_stats(original_, calib_, reconstructible_layers(original_),
                                             options_.recover);
  act_stats_ =
      collect_activation_stats(original_, calib_, quantizable_tensors(original_), options_.calib);
}

Graph apply(const ApplyContext& ctx, const Recipe& recipe, ApplyReport* report) {
  return apply(ctx, recipe, ctx.options(), report);
}

Graph apply(const ApplyContext& ctx, const Recipe& recipe, const ApplyOptions& o,
            ApplyReport* report) {
  ApplyReport local;
  ApplyReport& rep = report ? *report : local;
  const Graph& g = ctx.original();
  validate_recipe(recipe, g, {});
  Graph p = prune_and_refit(ctx, recipe, o, rep);
  std::map<std::string, double> ranks;
  for (const auto& l : weighted_layers(g))
    if (double f = recipe.settings(l.name).rank; f < 1.0) ranks[l.name] = f;
  if (!ranks.empty()) {
    std::map<std::string, Eigen::MatrixXd> moments;
    if (o.data_aware_lowrank) {
      std::set<std::string> layers;
      for (const auto& [name, f] : ranks) layers.insert(name);
      moments = input_second_moments(g, ctx.channels(), rep.prune, ctx.ls_stats(), layers);
    }
    p = factorize(p, ranks, &rep.lowrank, &moments);
  }
  for (const auto& [layer, r] : rep.lowrank.rank)
    rep.notes.push_back("'" + layer + "': factorized to rank " + std::to_string(r));
  for (const auto& layer : rep.lowrank.data_aware)
    rep.notes.push_back("'" + layer + "': factorized data-aware (input second moment)");
  for (const auto& [layer, why] : rep.lowrank.skipped)
    rep.notes.push_back("'" + layer + "': not factorized, " + why);
  const bool changed = !rep.prune.kept.empty() || !rep.lowrank.rank.empty();
  if (o.bn_reestimation && changed) {
    need_data(ctx, "BN re-estimation");
    p = reestimate_batchnorm(g, p, ctx.calibration(), o.recover);
    rep.notes.push_back("re-estimated BatchNorm statistics downstream of changed layers");
  }
  const auto settings = quant_settings(p, recipe);
  if (settings.empty()) return p;
  const auto needs = quantize_needs(p, settings, o.quant);
  const ActivationStats stats = stats_for(ctx, p, rep.prune, needs, o, rep.notes);
  return quantize(p, settings, stats, o.quant, &rep.notes);
}

}  // namespace autocompress
