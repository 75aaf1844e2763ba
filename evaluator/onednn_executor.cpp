#include "evaluator/onednn_executor.hpp"

#include <omp.h>

#include <algorithm>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>

#include "common/error.hpp"
#include "evaluator/fusion.hpp"
#include "evaluator/onednn_plan.hpp"

namespace autocompress {
namespace {

using onednn::Plan;

class OneDnnExecutor : public Executor {
 public:
  OneDnnExecutor(const Graph& g, const CompileOptions& o)
      : g_(g), options_(o), eng_(dnnl::engine::kind::cpu, 0), stream_(eng_) {
    set_threads();
    ops_ = fuse(g_);
    plan(o.batch);
  }

  std::vector<HostTensor> run(const std::vector<HostTensor>& inputs) override {
    return execute(inputs, nullptr);
  }

  // Median per-step seconds over `repeats` timed runs after one warm-up.
  std::vector<StepTiming> profile(const std::vector<HostTensor>& inputs, int repeats) {
    execute(inputs, nullptr);
    std::vector<std::vector<double>> runs(std::max(repeats, 1));
    for (auto& r : runs) execute(inputs, &r);
    const auto& steps = plan(inputs.at(0).shape.at(0)).steps();
    std::vector<StepTiming> t;
    for (size_t k = 0; k < steps.size(); ++k) {
      std::vector<double> v;
      for (const auto& r : runs) v.push_back(r[k]);
      std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
      t.push_back({steps[k].node, steps[k].kind, v[v.size() / 2]});
    }
    return t;
  }

  std::string name() const override { return "onednn"; }

 private:
  void set_threads() {
    if (options_.threads > 0) omp_set_num_threads(options_.threads);
  }
  std::vector<HostTensor> execute(const std::vector<HostTensor>& inputs,
                                  std::vector<double>* step_seconds) {
    const int64_t batch = check_inputs(g_, inputs);
    set_threads();
    Plan& p = plan(batch);
    std::vector<HostTensor> outs;
    std::vector<const float*> in;
    std::vector<float*> out;
    for (const auto& t : inputs) in.push_back(t.data.data());
    for (const auto& name : g_.outputs) {
      HostTensor h;
      h.shape = with_batch(g_.value(name).shape, batch);
      h.data.resize(numel(h.shape));
      outs.push_back(std::move(h));
    }
    for (auto& h : outs) out.push_back(h.data.data());
    p.execute(stream_, in, out, step_seconds);
    return outs;
  }
  Plan& plan(int64_t batch) {
    auto it = plans_.find(batch);
    if (it == plans_.end())
      it = plans_.emplace(batch, std::make_unique<Plan>(g_, ops_, eng_, batch)).first;
    return *it->second;
  }

  Graph g_;
  CompileOptions options_;
  dnnl::engine eng_;
  dnnl::stream stream_;
  std::vector<FusedOp> ops_;
  std::map<int64_t, std::unique_ptr<Plan>> plans_;
};

}  // namespace

std::vector<StepTiming> profile_steps(Executor& ex, const std::vector<HostTensor>& inputs,
                                      int repeats) {
  auto* dnn = dynamic_cast<OneDnnExecutor*>(&ex);
  if (!dnn) throw UsageError("profile_steps needs an executor made by compile(), got " + ex.name());
  return dnn->profile(inputs, repeats);
}

std::unique_ptr<Executor> compile(const Graph& g, const CompileOptions& options) {
  if (options.batch < 1)
    throw UsageError("batch must be >= 1, got " + std::to_string(options.batch));
  try {
    return std::make_unique<OneDnnExecutor>(g, options);
  } catch (const dnnl::error& e) {
    throw RuntimeError(std::string("oneDNN: ") + e.what());
  }
}

}  // namespace autocompress
