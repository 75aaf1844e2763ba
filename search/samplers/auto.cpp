#include "search/samplers/auto.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "search/samplers/settings.hpp"

namespace autocompress {

AutoSampler::AutoSampler(std::unique_ptr<BoSampler> bo, std::unique_ptr<Sampler> nsga2,
                         int64_t handover)
    : bo_(std::move(bo)), nsga2_(std::move(nsga2)), handover_(handover) {}

int64_t default_handover(const SamplerContext& ctx) {
  const auto known = std::count(ctx.known.begin(), ctx.known.end(), uint8_t(1));
  const auto black_box = std::ptrdiff_t(ctx.senses.size()) - known;
  return known > 0 && black_box <= 1 ? 100 : 300;
}

std::vector<Candidate> AutoSampler::ask(const SamplerContext& ctx, size_t q) {
  const int64_t handover = handover_ >= 0 ? handover_ : default_handover(ctx);
  return ctx.next_number < handover ? bo_->ask(ctx, q) : nsga2_->ask(ctx, q);
}

std::unique_ptr<Sampler> make_auto_sampler(uint64_t seed, const std::string& settings_json) {
  SamplerSettings s("auto", settings_json);
  const int64_t n_init = s.integer("n_init", 10, 0, 1000000);
  const int64_t handover = s.integer("handover", -1, 0, 1000000000);  // auto.hpp; -1: by problem
  auto bo_json = nlohmann::json::object();
  if (const auto text = s.object("bo"); !text.empty()) bo_json = nlohmann::json::parse(text);
  if (!bo_json.contains("n_init")) bo_json["n_init"] = n_init;
  const std::string nsga2_json = s.object("nsga2");
  s.finish();
  std::unique_ptr<Sampler> bo = make_bo_sampler(seed, bo_json.dump());
  return std::make_unique<AutoSampler>(
      std::unique_ptr<BoSampler>(static_cast<BoSampler*>(bo.release())),
      make_nsga2_sampler(seed, nsga2_json), handover);
}

bool set_prior_mean(Sampler& sampler, size_t objective, PriorMean mean) {
  if (auto* bo = dynamic_cast<BoSampler*>(&sampler)) {
    bo->set_prior_mean(objective, std::move(mean));
    return true;
  }
  if (auto* a = dynamic_cast<AutoSampler*>(&sampler)) {
    a->bo().set_prior_mean(objective, std::move(mean));
    return true;
  }
  return false;
}

}  // namespace autocompress
