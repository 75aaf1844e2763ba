// Low-rank factorization by truncated SVD (Eckart-Young; Denton et al. 2014, Zhang et al. 2016): a
// Gemm or group-1 Conv becomes two layers through rank r; with the input's second moment the
// factors minimize the output error, not the weight error. The second node keeps the layer's name
// and output. Shapes, naming and the derivation: docs/recipe.md, "How the steps work". Pure,
// deterministic, thread-safe.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/graph.hpp"

namespace autocompress {

struct LowRankReport {
  std::map<std::string, int64_t> rank;         // factorized layer -> rank kept
  std::map<std::string, std::string> skipped;  // layer -> why it was left unchanged
  std::vector<std::string> data_aware;         // factorized with their input's second moment
};

// The rank kept for a [m, n] matrix: max(1, round(fraction * min(m, n))).
int64_t lowrank_rank(int64_t m, int64_t n, double fraction);

// W ~= b * a with b = U_r sqrt(S_r) [m, r] and a = sqrt(S_r) V_r^T [r, n]; `singular_values`
// holds all min(m, n) singular values of W, descending. Throws UsageError for r outside
// [1, min(m, n)].
struct TruncatedSvd {
  Eigen::MatrixXd a;
  Eigen::MatrixXd b;
  Eigen::VectorXd singular_values;
};
TruncatedSvd truncated_svd(const Eigen::MatrixXd& w, int64_t r);
// Data-aware: the rank-r b * a minimizing tr((W - b a) Sigma (W - b a)^T) for the input second
// moment `sigma` [n, n] (ridge: added to its diagonal, relative to the diagonal's mean, so that
// never-excited directions keep a finite weight). `singular_values` are those of W L. Throws
// UsageError for r outside [1, min(m, n)] or a sigma of another size.
TruncatedSvd truncated_svd(const Eigen::MatrixXd& w, int64_t r, const Eigen::MatrixXd& sigma,
                           double ridge = 1e-3);

// Why layer `n` with a [m, k] weight matrix is left unchanged at rank r (grouped conv, already
// factorized, not fewer MACs), or "" when it is factorized.
std::string lowrank_skip_reason(const Graph& g, const Node& n, int64_t m, int64_t k, int64_t r);

// The graph surgery of one factorization at rank r (naming above): node `index` (Conv with group
// 1, or Gemm) becomes "<name>/lowrank_a" with weight `a` (row-major [r, ...]) followed by the
// original node, now reading it with weight `b` ([m, r] or [m, r, 1, 1]). `a` and `b` may be
// empty when only shapes matter (the objective model, search/study/objectives.cpp). The original
// weight is dropped when nothing else reads it.
void split_layer(Graph& g, size_t index, int64_t r, std::vector<float> a, std::vector<float> b);

// Factorize each layer of `rank_fraction` (layer name -> fraction of full rank kept) whose
// fraction is < 1. Throws UsageError naming the layer for an unknown layer, a node that is not
// Conv/Gemm, or a fraction outside (0, 1].
// `input_moments` (optional): layer -> the second moment of its input patch in the weight's
// column order (as it is in `g`); a layer with one of matching size is factorized data-aware.
Graph factorize(const Graph& g, const std::map<std::string, double>& rank_fraction,
                LowRankReport* report = nullptr,
                const std::map<std::string, Eigen::MatrixXd>* input_moments = nullptr);

}  // namespace autocompress
