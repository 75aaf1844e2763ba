#include "compressors/dependency.hpp"

#include <algorithm>
#include <numeric>
#include <set>

namespace autocompress {

std::string PruneGroup::label() const {
  std::string s = "group " + std::to_string(id) + " (";
  for (size_t k = 0; k < producers.size(); ++k) s += (k ? ", " : "") + producers[k];
  return s + ")";
}

int ChannelAnalysis::group_of_producer(const std::string& layer) const {
  for (const auto& gr : groups)
    if (std::find(gr.producers.begin(), gr.producers.end(), layer) != gr.producers.end())
      return gr.id;
  return -1;
}

int ChannelAnalysis::group_of_follower(const std::string& layer) const {
  for (const auto& gr : groups)
    if (std::find(gr.followers.begin(), gr.followers.end(), layer) != gr.followers.end())
      return gr.id;
  return -1;
}

bool is_depthwise(const Graph& g, const Node& n) {
  if (n.op != "Conv") return false;
  const Shape& w = g.value(n.inputs[1]).shape;
  const int64_t group = n.i("group", 1);
  return group > 1 && w[1] == 1 && w[0] == group;
}

namespace {

const std::set<std::string> kPassThrough = {
    "BatchNormalization", "Relu",        "Sigmoid", "HardSwish",   "Clip",
    "LeakyRelu",          "HardSigmoid", "MaxPool", "AveragePool", "GlobalAveragePool"};
const std::set<std::string> kBinary = {"Add", "Sub", "Mul", "Div"};

// Walks the graph once in schedule order, building spaces, tensor maps and the union-find.
class Analyzer {
 public:
  explicit Analyzer(const Graph& g) : g_(g) {}

  ChannelAnalysis run() {
    for (size_t k = 0; k < g_.nodes.size(); ++k) visit(int(k), g_.nodes[k]);
    for (const auto& out : g_.outputs)
      if (const ChannelMap* m = map_of(out))
        freeze(*m, "reaches the graph output '" + out + "' (output layer)");
    return build_groups();
  }

 private:
  struct Record {
    int node;
    int space;
    GroupConsumer consumer;
    int kind;  // 0 producer, 1 consumer, 2 follower, 3 join
  };

  const ChannelMap* map_of(const std::string& t) const {
    auto it = a_.maps.find(t);
    return it == a_.maps.end() ? nullptr : &it->second;
  }
  int find(int s) { return parent_[s] == s ? s : parent_[s] = find(parent_[s]); }
  void unite(int a, int b) { parent_[find(a)] = find(b); }
  void freeze(int space, const std::string& why) {
    if (frozen_[space].empty()) frozen_[space] = why;
  }
  void freeze(const ChannelMap& m, const std::string& why) {
    for (const auto& s : m) freeze(s.space, why);
  }
  void freeze_inputs(const Node& n, const std::string& why) {
    for (const auto& in : n.inputs)
      if (const ChannelMap* m = map_of(in)) freeze(*m, why);
  }
  int new_space(int node, int64_t size) {
    const int s = int(a_.space_size.size());
    a_.space_size.push_back(size);
    parent_.push_back(s);
    frozen_.emplace_back();
    records_.push_back({node, s, {}, 0});
    return s;
  }
  int64_t channels(const ChannelMap& m) const {
    int64_t c = 0;
    for (const auto& s : m) c += a_.space_size[s.space];
    return c;
  }
  void consume(int node, const Node& n, const ChannelMap& m) {
    int64_t offset = 0;
    for (const auto& s : m) {
      records_.push_back({node, s.space, {n.name, offset, s.block}, 1});
      offset += a_.space_size[s.space] * s.block;
    }
  }

  void visit(int k, const Node& n) {
    const std::string& out = n.outputs[0];
    const ChannelMap* in = n.inputs.empty() ? nullptr : map_of(n.inputs[0]);
    if (n.op == "Conv") return visit_conv(k, n, in);
    if (n.op == "Gemm") {
      if (in) consume(k, n, *in);
      a_.maps[out] = {{new_space(k, g_.value(out).shape[1]), 1}};
    } else if (kPassThrough.count(n.op)) {
      if (in) a_.maps[out] = *in;
    } else if (n.op == "Pad") {
      visit_pad(n, in);
    } else if (n.op == "Flatten" || n.op == "Reshape") {
      visit_reshape(n, in);
    } else if (kBinary.count(n.op)) {
      visit_binary(k, n);
    } else if (n.op == "Concat" && n.i("axis") == 1) {
      ChannelMap m;
      for (const auto& t : n.inputs) {
        const ChannelMap* tm = map_of(t);
        if (!tm)
          return freeze_inputs(n, "concatenated with an unmodelled tensor in '" + n.name + "'");
        m.insert(m.end(), tm->begin(), tm->end());
      }
      a_.maps[out] = m;
    } else {
      freeze_inputs(n, "feeds '" + n.name + "' (" + n.op + "), whose channel use is not modelled");
    }
  }

  void visit_conv(int k, const Node& n, const ChannelMap* in) {
    const std::string& out = n.outputs[0];
    const int64_t group = n.i("group", 1);
    if (is_depthwise(g_, n) && in) {
      for (const auto& s : *in) records_.push_back({k, s.space, {}, 2});
      a_.maps[out] = *in;
      return;
    }
    if (group == 1) {
      if (in) consume(k, n, *in);
      a_.maps[out] = {{new_space(k, g_.value(out).shape[1]), 1}};
      return;
    }
    const std::string why = "grouped conv '" + n.name + "' (group " + std::to_string(group) + ")";
    if (in) freeze(*in, "feeds " + why);
    const int s = new_space(k, g_.value(out).shape[1]);
    freeze(s, "output of " + why);
    a_.maps[out] = {{s, 1}};
  }

  void visit_pad(const Node& n, const ChannelMap* in) {
    if (!in) return;
    const auto& pads = n.ints("pads");
    const size_t r = pads.size() / 2;
    if (r >= 2 && pads[0] == 0 && pads[1] == 0 && pads[r] == 0 && pads[r + 1] == 0)
      a_.maps[n.outputs[0]] = *in;
    else
      freeze(*in, "padded on the channel axis by '" + n.name + "'");
  }

  // Flatten at axis 1 and Reshapes to [N, features] multiply each segment's block by the
  // spatial size; a Reshape that only drops/adds trailing 1s passes channels through.
  void visit_reshape(const Node& n, const ChannelMap* in) {
    if (!in) return;
    const Shape& xs = g_.value(n.inputs[0]).shape;
    const Shape& ys = g_.value(n.outputs[0]).shape;
    int64_t spatial = 1;
    for (size_t d = 2; d < xs.size(); ++d) spatial *= xs[d];
    bool trailing_ones = ys.size() >= 2 && ys[1] == xs[1] && spatial == 1;
    for (size_t d = 2; d < ys.size(); ++d) trailing_ones = trailing_ones && ys[d] == 1;
    const bool flatten = ys.size() == 2 && xs.size() >= 2 && ys[1] == xs[1] * spatial &&
                         (n.op == "Reshape" || n.i("axis") == 1);
    if (!trailing_ones && !flatten)
      return freeze(*in, "reshaped by '" + n.name + "' in a way that mixes channels");
    ChannelMap m = *in;
    for (auto& s : m) s.block *= spatial;
    a_.maps[n.outputs[0]] = m;
  }

  // Channel index of the activation axis 1 inside a constant operand, aligned from the right.
  bool constant_is_per_channel(const std::string& c, const std::string& x) const {
    const Shape& cs = g_.value(c).shape;
    const int64_t idx = 1 - int64_t(g_.value(x).shape.size() - cs.size());
    return idx >= 0 && cs[idx] != 1;
  }

  void visit_binary(int k, const Node& n) {
    const std::string &a = n.inputs[0], &b = n.inputs[1], &out = n.outputs[0];
    const ChannelMap *ma = map_of(a), *mb = map_of(b);
    const bool ca = g_.is_initializer(a), cb = g_.is_initializer(b);
    if (ca || cb) {
      const std::string& x = ca ? b : a;
      const ChannelMap* mx = ca ? mb : ma;
      if (!mx) return;
      if (constant_is_per_channel(ca ? a : b, x))
        return freeze(*mx, "has a per-channel constant operand in '" + n.name + "'");
      a_.maps[out] = *mx;
      return;
    }
    const Shape &sa = g_.value(a).shape, &sb = g_.value(b).shape;
    if (ma && mb && sa.size() == sb.size() && sa.size() >= 2 && sa[1] == sb[1] &&
        ma->size() == mb->size()) {
      bool aligned = true;
      for (size_t s = 0; s < ma->size(); ++s)
        aligned = aligned && a_.space_size[(*ma)[s].space] == a_.space_size[(*mb)[s].space] &&
                  (*ma)[s].block == (*mb)[s].block;
      if (aligned) {
        for (size_t s = 0; s < ma->size(); ++s) {
          unite((*ma)[s].space, (*mb)[s].space);
          records_.push_back({k, (*ma)[s].space, {}, 3});
        }
        a_.maps[out] = sa.size() >= sb.size() ? *ma : *mb;
        return;
      }
    }
    // Broadcast of a one-channel operand (e.g. a spatial attention map) keeps the other's map.
    const std::string why = "joined with an incompatible channel layout in '" + n.name + "'";
    if (ma && sb.size() == sa.size() && sb.size() >= 2 && sb[1] == 1 && sa[1] != 1) {
      if (mb) freeze(*mb, why);
      a_.maps[out] = *ma;
    } else if (mb && sa.size() == sb.size() && sa.size() >= 2 && sa[1] == 1 && sb[1] != 1) {
      if (ma) freeze(*ma, why);
      a_.maps[out] = *mb;
    } else {
      freeze_inputs(n, why);
    }
  }

  ChannelAnalysis build_groups() {
    const int spaces = int(a_.space_size.size());
    std::vector<int> root_group(spaces, -1);
    a_.space_group.assign(spaces, -1);
    for (int s = 0; s < spaces; ++s) {
      int& gid = root_group[find(s)];
      if (gid < 0) {
        gid = int(a_.groups.size());
        a_.groups.push_back({});
        a_.groups.back().id = gid;
        a_.groups.back().channels = a_.space_size[s];
      }
      a_.space_group[s] = gid;
      PruneGroup& gr = a_.groups[gid];
      if (!frozen_[s].empty() && gr.prunable) gr.prunable = false, gr.reason = frozen_[s];
    }
    std::stable_sort(records_.begin(), records_.end(),
                     [](const Record& x, const Record& y) { return x.node < y.node; });
    for (const auto& r : records_) {
      PruneGroup& gr = a_.groups[a_.space_group[r.space]];
      const std::string& name = g_.nodes[r.node].name;
      auto add_unique = [&](std::vector<std::string>& v) {
        if (std::find(v.begin(), v.end(), name) == v.end()) v.push_back(name);
      };
      if (r.kind == 0) gr.producers.push_back(name);
      if (r.kind == 1) gr.consumers.push_back(r.consumer);
      if (r.kind == 2) add_unique(gr.followers);
      if (r.kind == 3) add_unique(gr.joins);
    }
    return std::move(a_);
  }

  const Graph& g_;
  ChannelAnalysis a_;
  std::vector<int> parent_;
  std::vector<std::string> frozen_;
  std::vector<Record> records_;
};

}  // namespace

ChannelAnalysis analyze_channels(const Graph& g) { return Analyzer(g).run(); }

std::vector<PruneGroup> dependency_groups(const Graph& g) { return analyze_channels(g).groups; }

}  // namespace autocompress
