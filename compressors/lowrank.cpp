#include "compressors/lowrank.hpp"

#include <Eigen/SVD>
#include <algorithm>
#include <cmath>

#include "common/error.hpp"

namespace autocompress {

int64_t lowrank_rank(int64_t m, int64_t n, double fraction) {
  return std::max<int64_t>(1, std::llround(fraction * double(std::min(m, n))));
}

TruncatedSvd truncated_svd(const Eigen::MatrixXd& w, int64_t r) {
  const int64_t full = std::min<int64_t>(w.rows(), w.cols());
  if (r < 1 || r > full)
    throw UsageError("lowrank: rank must be in [1, " + std::to_string(full) + "], got " +
                     std::to_string(r));
  Eigen::BDCSVD<Eigen::MatrixXd> svd(w, Eigen::ComputeThinU | Eigen::ComputeThinV);
  Eigen::MatrixXd u = svd.matrixU().leftCols(r);
  Eigen::MatrixXd v = svd.matrixV().leftCols(r);
  // SVD signs are arbitrary: fix them so the result does not depend on the solver's path.
  for (int64_t c = 0; c < r; ++c) {
    Eigen::Index at = 0;
    u.col(c).cwiseAbs().maxCoeff(&at);
    if (u(at, c) < 0) u.col(c) *= -1.0, v.col(c) *= -1.0;
  }
  const Eigen::VectorXd root = svd.singularValues().head(r).cwiseSqrt();
  return {root.asDiagonal() * v.transpose(), u * root.asDiagonal(), svd.singularValues()};
}

TruncatedSvd truncated_svd(const Eigen::MatrixXd& w, int64_t r, const Eigen::MatrixXd& sigma,
                           double ridge) {
  if (sigma.rows() != w.cols() || sigma.cols() != w.cols())
    throw UsageError("lowrank: the input second moment is " + std::to_string(sigma.rows()) + "x" +
                     std::to_string(sigma.cols()) + ", the weight has " + std::to_string(w.cols()) +
                     " columns");
  Eigen::MatrixXd s = sigma;
  const double scale = w.cols() > 0 ? s.diagonal().mean() : 0.0;
  s.diagonal().array() += ridge * std::max(scale, 1e-12);
  const Eigen::LLT<Eigen::MatrixXd> llt(s);
  const Eigen::MatrixXd l = llt.matrixL();
  TruncatedSvd t = truncated_svd(w * l, r);  // [W L]_r = b * (a L): b stays, a = (a L) L^-1
  // a L^-1 = (L^-T (a L)^T)^T: one triangular solve.
  t.a = l.transpose().triangularView<Eigen::Upper>().solve(t.a.transpose()).transpose();
  return t;
}

namespace {

std::vector<float> row_major(const Eigen::MatrixXd& m) {
  std::vector<float> f(size_t(m.size()));
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) f[size_t(i * m.cols() + j)] = float(m(i, j));
  return f;
}

void add_initializer(Graph& g, const std::string& name, TensorData t) {
  g.values[name] = {name, DType::kFloat, t.shape};
  g.initializers[name] = std::move(t);
}

}  // namespace

std::string lowrank_skip_reason(const Graph& g, const Node& n, int64_t m, int64_t k, int64_t r) {
  if (n.op == "Conv" && n.i("group", 1) != 1)
    return "grouped conv (group " + std::to_string(n.i("group", 1)) + ") is not factorized";
  if (g.find_node(n.name + "/lowrank_a")) return "already factorized";
  if (r * (m + k) >= m * k)
    return "rank " + std::to_string(r) + " of a " + std::to_string(m) + "x" + std::to_string(k) +
           " weight costs " + std::to_string(r * (m + k)) +
           " MACs per output position, not fewer than the original " + std::to_string(m * k);
  return "";
}

namespace {

bool still_read(const Graph& g, const std::string& t) {
  const auto reads = [&](const Node& n) {
    return std::find(n.inputs.begin(), n.inputs.end(), t) != n.inputs.end();
  };
  return std::any_of(g.nodes.begin(), g.nodes.end(), reads) ||
         std::find(g.outputs.begin(), g.outputs.end(), t) != g.outputs.end();
}

}  // namespace

void split_layer(Graph& g, size_t index, int64_t r, std::vector<float> a, std::vector<float> b) {
  const Node orig = g.nodes.at(index);
  const Shape w = g.value(orig.inputs[1]).shape;
  const int64_t m = w[0];
  Shape a_shape = w, b_shape{m, r};
  a_shape[0] = r;
  if (orig.op == "Conv") b_shape = {m, r, 1, 1};
  const std::string a_w = orig.name + "/lowrank_a.W", b_w = orig.name + "/lowrank_b.W";
  add_initializer(g, a_w, TensorData{DType::kFloat, a_shape, std::move(a), {}});
  add_initializer(g, b_w, TensorData{DType::kFloat, b_shape, std::move(b), {}});

  Node first = orig;
  first.name = orig.name + "/lowrank_a";
  first.inputs = {orig.inputs[0], a_w};
  first.outputs = {orig.outputs[0] + "/lowrank"};
  const auto out = g.values.find(orig.outputs[0]);
  Shape mid = out == g.values.end() ? Shape{} : out->second.shape;
  if (mid.size() >= 2)
    mid[1] = r;
  else
    mid.clear();
  g.values[first.outputs[0]] = {first.outputs[0], DType::kFloat, mid};
  Node& second = g.nodes[index];
  second.inputs[0] = first.outputs[0];
  second.inputs[1] = b_w;
  if (orig.op == "Conv") {
    second.attrs["strides"] = std::vector<int64_t>{1, 1};
    second.attrs["pads"] = std::vector<int64_t>{0, 0, 0, 0};
    second.attrs["dilations"] = std::vector<int64_t>{1, 1};
  }
  g.nodes.insert(g.nodes.begin() + std::ptrdiff_t(index), std::move(first));

  const std::string& old = orig.inputs[1];
  if (!still_read(g, old)) {
    g.initializers.erase(old);
    g.values.erase(old);
  }
}

Graph factorize(const Graph& g, const std::map<std::string, double>& rank_fraction,
                LowRankReport* report,
                const std::map<std::string, Eigen::MatrixXd>* input_moments) {
  for (const auto& [name, fraction] : rank_fraction) {
    const Node* n = g.find_node(name);
    if (!n) throw UsageError("lowrank: unknown layer '" + name + "'");
    if (n->op != "Conv" && n->op != "Gemm")
      throw UsageError("lowrank: layer '" + name + "' is a " + n->op + ", not Conv/Gemm");
    if (!(fraction > 0.0 && fraction <= 1.0))
      throw UsageError("lowrank: rank of '" + name + "' must be in (0, 1], got " +
                       std::to_string(fraction));
  }
  Graph out = g;
  LowRankReport local;
  LowRankReport& rep = report ? *report : local;
  rep = {};
  // Walk the original schedule; `at` follows the node in `out`, which grows by one per split.
  size_t at = 0;
  for (const Node& n : g.nodes) {
    auto it = rank_fraction.find(n.name);
    if (it != rank_fraction.end() && it->second < 1.0) {
      const TensorData& w = g.initializer(n.inputs[1]);
      const int64_t m = w.shape[0], k = w.size() / m;
      const int64_t r = lowrank_rank(m, k, it->second);
      const std::string why = lowrank_skip_reason(g, n, m, k, r);
      if (!why.empty()) {
        rep.skipped[n.name] = why;
      } else {
        const TensorData& wo = out.initializer(out.nodes[at].inputs[1]);
        Eigen::MatrixXd mat(m, k);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < k; ++j) mat(i, j) = double(wo.f[size_t(i * k + j)]);
        const Eigen::MatrixXd* sigma = nullptr;
        if (input_moments)
          if (auto mo = input_moments->find(n.name);
              mo != input_moments->end() && mo->second.rows() == k)
            sigma = &mo->second;
        const TruncatedSvd svd = sigma ? truncated_svd(mat, r, *sigma) : truncated_svd(mat, r);
        if (sigma) rep.data_aware.push_back(n.name);
        split_layer(out, at, r, row_major(svd.a), row_major(svd.b));
        rep.rank[n.name] = r;
        ++at;
      }
    }
    ++at;
  }
  infer_shapes(out);
  return out;
}

}  // namespace autocompress
