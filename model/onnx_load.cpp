// ONNX -> canonical Graph. The loader works in one pass over the topologically sorted ONNX
// nodes: constants are folded as soon as all inputs of a node are known, every other node is
// rewritten to its canonical form (graph.hpp) and its output shapes are inferred at once, so each
// canonicalization can use the concrete shapes of its inputs (auto_pad, Reshape targets, ...).
//
// The batch: with LoadOptions::symbolic_batch (the default) dim 0 of the graph inputs becomes the
// symbolic batch kBatch by the rule documented at LoadOptions (onnx_io.hpp); read_inputs applies
// it, and inside folded shape computations (torch's Shape -> Gather -> Unsqueeze -> Concat ->
// Reshape) the batch is carried as kBatchSentinel. Without it every shape is the file's concrete
// shape: no kBatch and no sentinel ever appear, so the batch checks below never fire.
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <queue>
#include <set>
#include <sstream>
#include <stdexcept>
#include <unordered_set>

#include "common/error.hpp"
#include "model/onnx_io.hpp"

namespace autocompress {
namespace {

static_assert(std::endian::native == std::endian::little,
              "raw_data decoding assumes little endian");

// Value of the batch dimension inside folded int64 shape tensors (the Shape of an activation).
constexpr int64_t kBatchSentinel = std::numeric_limits<int64_t>::min();
constexpr float kInf = std::numeric_limits<float>::infinity();
// Largest tensor the loader decodes or folds (4 G elements, 16 GB as float32).
constexpr int64_t kMaxConstantElements = int64_t{1} << 32;
// Largest tensor ConstantOfShape may create at load time (shape computations are tiny).
constexpr int64_t kMaxFoldedElements = int64_t{1} << 26;

using TP = onnx::TensorProto;

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw IoError(path, "cannot open: no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path, "cannot open for reading");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IoError(path, "read failed");
  return ss.str();
}

// ---- TensorProto decoding ----

float half_to_float(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ffu, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else {  // subnormal half: normalize
    int e = -1;
    do {
      ++e;
      man <<= 1;
    } while ((man & 0x400u) == 0);
    bits = sign | static_cast<uint32_t>(112 - e) << 23 | ((man & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

float bf16_to_float(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

template <class T>
std::vector<T> raw_values(const std::string& raw) {
  std::vector<T> v(raw.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), raw.data(), v.size() * sizeof(T));
  return v;
}

template <class Src, class Dst>
void append_all(const Src& src, std::vector<Dst>& dst) {
  for (auto x : src) dst.push_back(static_cast<Dst>(x));
}

// Decodes integer data kept as raw bytes of type T or in int32_data.
template <class T>
void decode_small_ints(const TP& t, TensorData& d) {
  if (t.has_raw_data())
    append_all(raw_values<T>(t.raw_data()), d.i);
  else
    for (int32_t x : t.int32_data()) d.i.push_back(static_cast<T>(x));
}

void decode_16bit_floats(const TP& t, TensorData& d, float (*conv)(uint16_t)) {
  if (t.has_raw_data()) {
    for (uint16_t x : raw_values<uint16_t>(t.raw_data())) d.f.push_back(conv(x));
  } else {
    for (int32_t x : t.int32_data()) d.f.push_back(conv(static_cast<uint16_t>(x)));
  }
}

// TensorProto -> TensorData. `where` names the file for messages.
TensorData decode_tensor(const TP& t, const std::string& where) {
  const std::string what = "tensor '" + t.name() + "'";
  if (t.data_location() == TP::EXTERNAL)
    throw UnsupportedError(where, "", what + " keeps its data in an external file");
  TensorData d;
  int64_t count = 1;
  for (int64_t dim : t.dims()) {
    if (dim < 0) throw ModelError(where, "", what + " has a negative dimension");
    if (__builtin_mul_overflow(count, dim, &count) || count > kMaxConstantElements)
      throw ModelError(where, "", what + " is implausibly large");
    d.shape.push_back(dim);
  }
  const bool raw = t.has_raw_data();
  switch (t.data_type()) {
    case TP::FLOAT:
      if (raw)
        d.f = raw_values<float>(t.raw_data());
      else
        d.f.assign(t.float_data().begin(), t.float_data().end());
      break;
    case TP::DOUBLE:
      if (raw)
        append_all(raw_values<double>(t.raw_data()), d.f);
      else
        append_all(t.double_data(), d.f);
      break;
    case TP::FLOAT16:
      decode_16bit_floats(t, d, half_to_float);
      break;
    case TP::BFLOAT16:
      decode_16bit_floats(t, d, bf16_to_float);
      break;
    case TP::INT64:
      if (raw)
        d.i = raw_values<int64_t>(t.raw_data());
      else
        d.i.assign(t.int64_data().begin(), t.int64_data().end());
      break;
    case TP::INT32:
      decode_small_ints<int32_t>(t, d);
      break;
    case TP::INT8:
      decode_small_ints<int8_t>(t, d);
      break;
    case TP::UINT8:
      decode_small_ints<uint8_t>(t, d);
      break;
    case TP::BOOL:
      decode_small_ints<uint8_t>(t, d);
      break;
    default:
      throw UnsupportedError(where, "",
                             what + " has data type " +
                                 TP::DataType_Name(static_cast<TP::DataType>(t.data_type())) +
                                 " (supported: float32/64/16, bfloat16, int64/32/8, uint8, bool)");
  }
  d.dtype = static_cast<DType>(t.data_type());
  int64_t want = numel(d.shape);
  int64_t have = static_cast<int64_t>(d.is_float() ? d.f.size() : d.i.size());
  if (have != want)
    throw ModelError(where, "",
                     what + " has " + std::to_string(have) + " values, its shape " +
                         shape_str(d.shape) + " needs " + std::to_string(want));
  return d;
}

// ---- N-d helpers for constant folding ----

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t k = s.size(); k-- > 1;) st[k - 1] = st[k] * s[k];
  return st;
}

// A tensor of `shape` whose element at index idx is src's element at flat index map(idx).
TensorData remap(const TensorData& src, const Shape& shape,
                 const std::function<int64_t(const std::vector<int64_t>&)>& map) {
  TensorData r;
  r.dtype = src.dtype;
  r.shape = shape;
  int64_t n = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n) || n > kMaxConstantElements)
      throw std::length_error("constant folding would create a tensor of shape " +
                              shape_str(shape));
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t flat = 0; flat < n; ++flat) {
    int64_t s = map(idx);
    if (src.is_float())
      r.f.push_back(src.f[s]);
    else
      r.i.push_back(src.i[s]);
    for (size_t k = shape.size(); k-- > 0;) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return r;
}

double value_at(const TensorData& t, int64_t k) {
  return t.is_float() ? static_cast<double>(t.f[k]) : static_cast<double>(t.i[k]);
}

bool has_sentinel(const TensorData& t) {
  return std::find(t.i.begin(), t.i.end(), kBatchSentinel) != t.i.end();
}

TensorData float_tensor(Shape shape, std::vector<float> values) {
  TensorData t;
  t.dtype = DType::kFloat;
  t.shape = std::move(shape);
  t.f = std::move(values);
  return t;
}

TensorData int_tensor(std::vector<int64_t> values) {
  TensorData t;
  t.dtype = DType::kInt64;
  t.shape = {static_cast<int64_t>(values.size())};
  t.i = std::move(values);
  return t;
}

// Weights are stored as float32 whatever the file used.
TensorData as_float32(TensorData t) {
  if (t.is_float()) t.dtype = DType::kFloat;
  return t;
}

// Transpose of a 2-D float tensor.
TensorData transpose2d(const TensorData& t) {
  return remap(t, {t.shape[1], t.shape[0]},
               [&](const std::vector<int64_t>& i) { return i[1] * t.shape[1] + i[0]; });
}

std::string lowercase(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// ---- attribute access ----

class Attrs {
 public:
  explicit Attrs(const onnx::NodeProto& n) : n_(n) {}
  const onnx::AttributeProto* find(const std::string& key) const {
    for (const auto& a : n_.attribute())
      if (a.name() == key) return &a;
    return nullptr;
  }
  bool has(const std::string& key) const { return find(key) != nullptr; }
  int64_t i(const std::string& key, int64_t def) const {
    auto* a = find(key);
    return a ? a->i() : def;
  }
  float f(const std::string& key, float def) const {
    auto* a = find(key);
    return a ? a->f() : def;
  }
  std::string s(const std::string& key, const std::string& def) const {
    auto* a = find(key);
    return a ? a->s() : def;
  }
  std::vector<int64_t> ints(const std::string& key, std::vector<int64_t> def = {}) const {
    auto* a = find(key);
    return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : def;
  }

 private:
  const onnx::NodeProto& n_;
};

const std::vector<std::string> kSupportedOps = {"Add",
                                                "AveragePool",
                                                "BatchNormalization",
                                                "Cast",
                                                "Clip",
                                                "Concat",
                                                "Constant",
                                                "ConstantOfShape",
                                                "Conv",
                                                "DequantizeLinear",
                                                "Div",
                                                "Dropout",
                                                "Flatten",
                                                "Gather",
                                                "Gemm",
                                                "GlobalAveragePool",
                                                "HardSigmoid",
                                                "HardSwish",
                                                "Identity",
                                                "LeakyRelu",
                                                "MatMul",
                                                "MaxPool",
                                                "Mul",
                                                "Pad",
                                                "QLinearConv",
                                                "QuantizeLinear",
                                                "ReduceMean",
                                                "Relu",
                                                "Reshape",
                                                "Shape",
                                                "Sigmoid",
                                                "Slice",
                                                "Softmax",
                                                "Squeeze",
                                                "Sub",
                                                "Transpose",
                                                "Unsqueeze"};

// Ops the loader only evaluates at load time (shape computations), never as canonical nodes.
const std::set<std::string> kFoldOnlyOps = {"Shape", "Gather", "Slice", "ConstantOfShape"};

std::string supported_list() {
  std::string r;
  for (const auto& op : supported_onnx_ops()) r += (r.empty() ? "" : ", ") + op;
  return r;
}

// ---- the loader ----

class Loader {
 public:
  Loader(std::string file, const LoadOptions& options)
      : file_(std::move(file)), symbolic_batch_(options.symbolic_batch) {}
  Graph load(onnx::ModelProto& m);

 private:
  using Canon = void (Loader::*)(const onnx::NodeProto&);
  using Fold = TensorData (Loader::*)(const onnx::NodeProto&);

  std::string file_;
  bool symbolic_batch_ = true;  // LoadOptions::symbolic_batch
  int64_t opset_ = 0;
  int64_t declared_batch_ = -1;  // concrete dim 0 the file declared for the first input, if any
  Graph g_;
  std::unordered_map<std::string, TensorData> consts_;
  std::unordered_map<std::string, std::string> alias_;
  std::unordered_map<std::string, int> uses_;  // consumers (resolved names) + graph outputs
  std::unordered_set<std::string> names_;      // every tensor name, for fresh()
  std::vector<Node> nodes_;
  std::vector<std::string> onnx_names_;  // the ONNX name of each node in nodes_
  std::unordered_map<std::string, size_t> producer_;
  std::unordered_set<size_t> matmul_gemms_;  // Gemms made from a MatMul, still without bias
  // bf16 Cast pairs (graph.hpp): outputs of the Cast(to=BFLOAT16) and of the Cast(to=FLOAT) after
  // it, which only Conv / Gemm / MatMul read as their input
  std::unordered_set<std::string> bf16_casts_, bf16_inputs_;
  bool ours_ = false;  // written by autocompress: layer metadata is authoritative
  const onnx::NodeProto* cur_ = nullptr;
  std::string cur_name_;

  static const std::map<std::string, Canon>& canonicalizers();
  static const std::map<std::string, Fold>& folders();

  // messages
  [[noreturn]] void unsupported(const std::string& what) const {
    throw UnsupportedError(file_, cur_name_, what);
  }
  [[noreturn]] void malformed(const std::string& what) const {
    throw ModelError(file_, cur_name_, what);
  }
  static std::string display_name(const onnx::NodeProto& p, size_t index) {
    return p.name().empty() ? p.op_type() + "#" + std::to_string(index) : p.name();
  }

  // structure
  void check_opset(const onnx::ModelProto& m);
  void check_ops(const onnx::GraphProto& gp);
  void sort_nodes(onnx::GraphProto& gp);
  void read_initializers(const onnx::GraphProto& gp);
  void read_inputs(const onnx::GraphProto& gp);
  Shape concrete_input_shape(const onnx::ValueInfoProto& v) const;
  void count_uses(const onnx::GraphProto& gp);
  void process(const onnx::NodeProto& p);
  void bind_outputs(const onnx::GraphProto& gp);
  void remove_dead_nodes();
  void fuse_softmax_reshapes();
  void compact(const std::vector<bool>& drop);  // drop the marked nodes, keep the order
  void name_nodes();
  void finish_values();
  void check_declared_outputs(const onnx::GraphProto& gp) const;
  void find_bf16_pairs(const onnx::GraphProto& gp);
  void read_layer_metadata();

  // tensors
  std::string resolve(const std::string& t) const {
    std::string r = t;
    for (auto it = alias_.find(r); it != alias_.end(); it = alias_.find(r)) r = it->second;
    return r;
  }
  std::string in(const onnx::NodeProto& p, int k) const {
    return k < p.input_size() ? resolve(p.input(k)) : std::string();
  }
  const TensorData* constant(const std::string& t) const {
    auto it = consts_.find(t);
    return it == consts_.end() ? nullptr : &it->second;
  }
  const TensorData& need_const(const onnx::NodeProto& p, int k, const std::string& role) const;
  std::vector<int64_t> const_ints(const onnx::NodeProto& p, int k, const std::string& role) const;
  float const_scalar(const onnx::NodeProto& p, int k, const std::string& role) const;
  const Shape& shape_of(const std::string& t) const;
  std::string activation(const onnx::NodeProto& p, int k) const;
  bool used(const std::string& t) const {
    auto it = uses_.find(resolve(t));
    return !t.empty() && it != uses_.end() && it->second > 0;
  }
  std::string fresh(const std::string& base) {
    std::string n = base;
    for (int k = 1; names_.count(n); ++k) n = base + "_" + std::to_string(k);
    names_.insert(n);
    return n;
  }
  std::string add_const(const std::string& base, TensorData t) {
    std::string n = fresh(base);
    consts_[n] = std::move(t);
    return n;
  }
  void emit(Node n, bool named = true);  // named: the node keeps the ONNX node's name
  void rename_tensor(const std::string& from, const std::string& to);

  // canonicalization (one per ONNX op)
  std::vector<int64_t> resolve_pads(const Attrs& a, const Shape& x, const std::vector<int64_t>& k,
                                    const std::vector<int64_t>& s, const std::vector<int64_t>& d);
  Shape resolve_reshape(const Shape& x, const std::vector<int64_t>& target, bool allowzero) const;
  std::vector<int64_t> axes_of(const onnx::NodeProto& p, int input, int64_t rank, bool required);
  Node make(const onnx::NodeProto& p, const std::string& op, std::vector<std::string> inputs) const;
  void conv(const onnx::NodeProto& p);
  void emit_conv(const onnx::NodeProto& p, const std::string& x, const std::string& w,
                 const std::string& b, const std::string& y);
  const Shape& weight_shape(const onnx::NodeProto& p, int k, const std::string& role) const;
  const Node* weight_dq(const std::string& t) const;
  std::string transposed_weight(const onnx::NodeProto& p, int k, const std::string& role);
  void set_bf16(const onnx::NodeProto& p, Node& n) const;
  void quantize_linear(const onnx::NodeProto& p);
  void qlinear_conv(const onnx::NodeProto& p);
  std::string emit_dequantize(const std::string& x, const std::string& scale,
                              const std::string& zero_point, bool per_channel_weight);
  void set_quant_axis(const onnx::NodeProto& p, const std::string& x, Node& n) const;
  void gemm(const onnx::NodeProto& p);
  void matmul(const onnx::NodeProto& p);
  void batch_norm(const onnx::NodeProto& p);
  void unary(const onnx::NodeProto& p);
  void clip(const onnx::NodeProto& p);
  void leaky_relu(const onnx::NodeProto& p);
  void hard_sigmoid(const onnx::NodeProto& p);
  void pool(const onnx::NodeProto& p);
  void global_pool(const onnx::NodeProto& p);
  void reduce_mean(const onnx::NodeProto& p);
  void pad(const onnx::NodeProto& p);
  void binary(const onnx::NodeProto& p);
  bool fuse_matmul_bias(const onnx::NodeProto& p);
  void concat(const onnx::NodeProto& p);
  void flatten(const onnx::NodeProto& p);
  void reshape(const onnx::NodeProto& p);
  void squeeze(const onnx::NodeProto& p);
  void unsqueeze(const onnx::NodeProto& p);
  void transpose(const onnx::NodeProto& p);
  void softmax(const onnx::NodeProto& p);
  void cast(const onnx::NodeProto& p);
  void dropout(const onnx::NodeProto& p);
  void emit_reshape(const onnx::NodeProto& p, const std::string& x, const Shape& out);

  // constant folding (one per ONNX op)
  TensorData constant_node(const onnx::NodeProto& p);
  TensorData fold_shape(const onnx::NodeProto& p);
  TensorData fold_gather(const onnx::NodeProto& p);
  TensorData fold_unsqueeze(const onnx::NodeProto& p);
  TensorData fold_squeeze(const onnx::NodeProto& p);
  TensorData fold_concat(const onnx::NodeProto& p);
  TensorData fold_cast(const onnx::NodeProto& p);
  TensorData fold_slice(const onnx::NodeProto& p);
  TensorData fold_binary(const onnx::NodeProto& p);
  TensorData fold_reshape(const onnx::NodeProto& p);
  TensorData fold_flatten(const onnx::NodeProto& p);
  TensorData fold_transpose(const onnx::NodeProto& p);
  TensorData fold_constant_of_shape(const onnx::NodeProto& p);
  TensorData fold_quantize(const onnx::NodeProto& p);
};

const std::map<std::string, Loader::Canon>& Loader::canonicalizers() {
  static const std::map<std::string, Canon> m = {
      {"Conv", &Loader::conv},
      {"Gemm", &Loader::gemm},
      {"MatMul", &Loader::matmul},
      {"BatchNormalization", &Loader::batch_norm},
      {"Relu", &Loader::unary},
      {"Sigmoid", &Loader::unary},
      {"HardSwish", &Loader::unary},
      {"Clip", &Loader::clip},
      {"LeakyRelu", &Loader::leaky_relu},
      {"HardSigmoid", &Loader::hard_sigmoid},
      {"MaxPool", &Loader::pool},
      {"AveragePool", &Loader::pool},
      {"GlobalAveragePool", &Loader::global_pool},
      {"ReduceMean", &Loader::reduce_mean},
      {"Pad", &Loader::pad},
      {"Add", &Loader::binary},
      {"Sub", &Loader::binary},
      {"Mul", &Loader::binary},
      {"Div", &Loader::binary},
      {"Concat", &Loader::concat},
      {"Flatten", &Loader::flatten},
      {"Reshape", &Loader::reshape},
      {"Squeeze", &Loader::squeeze},
      {"Unsqueeze", &Loader::unsqueeze},
      {"Transpose", &Loader::transpose},
      {"Softmax", &Loader::softmax},
      {"Cast", &Loader::cast},
      {"QuantizeLinear", &Loader::quantize_linear},
      {"DequantizeLinear", &Loader::quantize_linear},
      {"QLinearConv", &Loader::qlinear_conv},
      {"Identity", &Loader::dropout},
      {"Dropout", &Loader::dropout},
  };
  return m;
}

const std::map<std::string, Loader::Fold>& Loader::folders() {
  static const std::map<std::string, Fold> m = {
      {"Shape", &Loader::fold_shape},
      {"Gather", &Loader::fold_gather},
      {"Unsqueeze", &Loader::fold_unsqueeze},
      {"Squeeze", &Loader::fold_squeeze},
      {"Concat", &Loader::fold_concat},
      {"Cast", &Loader::fold_cast},
      {"Slice", &Loader::fold_slice},
      {"Add", &Loader::fold_binary},
      {"Sub", &Loader::fold_binary},
      {"Mul", &Loader::fold_binary},
      {"Div", &Loader::fold_binary},
      {"Reshape", &Loader::fold_reshape},
      {"Flatten", &Loader::fold_flatten},
      {"Transpose", &Loader::fold_transpose},
      {"ConstantOfShape", &Loader::fold_constant_of_shape},
      {"QuantizeLinear", &Loader::fold_quantize},
      {"DequantizeLinear", &Loader::fold_quantize},
  };
  return m;
}

// ---- structure ----

Graph Loader::load(onnx::ModelProto& m) {
  check_opset(m);
  onnx::GraphProto& gp = *m.mutable_graph();
  check_ops(gp);
  sort_nodes(gp);
  try {
    onnx::checker::check_model(m);
  } catch (const std::exception& e) {  // onnx::checker::ValidationError and protobuf/std errors
    throw ModelError(file_, "", std::string("ONNX checker: ") + e.what());
  }
  g_.name = gp.name();
  g_.opset = opset_;
  g_.source = file_;
  for (const auto& kv : m.metadata_props()) g_.metadata[kv.key()] = kv.value();
  ours_ = m.producer_name() == "autocompress";
  read_initializers(gp);
  read_inputs(gp);
  count_uses(gp);
  find_bf16_pairs(gp);
  for (int k = 0; k < gp.node_size(); ++k) {
    cur_ = &gp.node(k);
    cur_name_ = display_name(gp.node(k), k);
    process(gp.node(k));
  }
  cur_ = nullptr;
  cur_name_.clear();
  bind_outputs(gp);
  fuse_softmax_reshapes();
  remove_dead_nodes();
  name_nodes();
  read_layer_metadata();
  finish_values();
  check_declared_outputs(gp);
  return std::move(g_);
}

void Loader::check_opset(const onnx::ModelProto& m) {
  for (const auto& o : m.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = o.version();
  if (opset_ == 0) throw ModelError(file_, "", "the model imports no default-domain opset");
  if (opset_ < 9 || opset_ > 17)
    throw UnsupportedError(
        file_, "",
        "opset " + std::to_string(opset_) + " is not supported (supported: opsets 9 to 17)");
}

void Loader::check_ops(const onnx::GraphProto& gp) {
  for (int k = 0; k < gp.node_size(); ++k) {
    const auto& p = gp.node(k);
    bool default_domain = p.domain().empty() || p.domain() == "ai.onnx";
    if (default_domain &&
        std::binary_search(kSupportedOps.begin(), kSupportedOps.end(), p.op_type()))
      continue;
    std::string op = default_domain ? p.op_type() : p.domain() + "." + p.op_type();
    throw UnsupportedError(file_, display_name(p, k),
                           "op '" + op + "' is not supported; supported ops: " + supported_list());
  }
}

// Kahn's algorithm, ties broken by file order (so an already sorted graph keeps its order).
void Loader::sort_nodes(onnx::GraphProto& gp) {
  std::unordered_set<std::string> known;
  for (const auto& t : gp.initializer()) known.insert(t.name());
  for (const auto& v : gp.input()) known.insert(v.name());
  std::unordered_map<std::string, int> producer;
  for (int k = 0; k < gp.node_size(); ++k)
    for (const auto& o : gp.node(k).output()) {
      if (o.empty()) continue;
      if (known.count(o) || producer.count(o))
        throw ModelError(file_, display_name(gp.node(k), k),
                         "output '" + o + "' is already defined elsewhere in the graph");
      producer[o] = k;
    }
  std::vector<std::vector<int>> next(gp.node_size());
  std::vector<int> pending(gp.node_size(), 0);
  for (int k = 0; k < gp.node_size(); ++k)
    for (const auto& t : gp.node(k).input()) {
      if (t.empty() || known.count(t)) continue;
      auto it = producer.find(t);
      if (it == producer.end())
        throw ModelError(file_, display_name(gp.node(k), k),
                         "input '" + t +
                             "' is neither an initializer, a graph input nor the output of an "
                             "earlier node");
      next[it->second].push_back(k);
      ++pending[k];
    }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int k = 0; k < gp.node_size(); ++k)
    if (pending[k] == 0) ready.push(k);
  std::vector<int> order;
  while (!ready.empty()) {
    int k = ready.top();
    ready.pop();
    order.push_back(k);
    for (int j : next[k])
      if (--pending[j] == 0) ready.push(j);
  }
  if (order.size() != static_cast<size_t>(gp.node_size())) {
    int k = 0;
    while (pending[k] == 0) ++k;
    throw ModelError(file_, display_name(gp.node(k), k), "the graph has a cycle through this node");
  }
  if (std::is_sorted(order.begin(), order.end())) return;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> sorted;
  for (int k : order) *sorted.Add() = gp.node(k);
  gp.mutable_node()->Swap(&sorted);
}

void Loader::read_initializers(const onnx::GraphProto& gp) {
  if (gp.sparse_initializer_size() > 0)
    throw UnsupportedError(file_, "", "sparse initializers are not supported");
  for (const auto& t : gp.initializer()) {
    consts_[t.name()] = decode_tensor(t, file_);
    names_.insert(t.name());
  }
  for (const auto& p : gp.node())
    for (const auto& o : p.output()) names_.insert(o);
}

void Loader::read_inputs(const onnx::GraphProto& gp) {
  bool first = true;
  size_t first_rank = 0;
  for (const auto& v : gp.input()) {
    if (consts_.count(v.name())) continue;  // an initializer listed as input: a constant
    names_.insert(v.name());
    const auto& tt = v.type().tensor_type();
    if (!v.type().has_tensor_type())
      throw UnsupportedError(file_, "", "graph input '" + v.name() + "' is not a tensor");
    const DType type = static_cast<DType>(tt.elem_type());
    if (type != DType::kFloat && type != DType::kUInt8 && type != DType::kInt8)
      throw UnsupportedError(file_, "",
                             "graph input '" + v.name() + "' has data type " +
                                 TP::DataType_Name(static_cast<TP::DataType>(tt.elem_type())) +
                                 "; inputs must be float32 (or uint8 / int8 for "
                                 "DequantizeLinear)");
    if (!tt.has_shape() || tt.shape().dim_size() == 0)
      throw UnsupportedError(
          file_, "",
          "graph input '" + v.name() +
              (!tt.has_shape() ? "' has no static shape" : "' is a scalar (rank 0)") +
              (symbolic_batch_ ? " (needs at least a batch dim)"
                               : "; inputs need at least one dimension"));
    if (!symbolic_batch_) {
      g_.inputs.push_back(v.name());
      g_.values[v.name()] = ValueInfo{v.name(), type, concrete_input_shape(v)};
      continue;
    }
    Shape s;
    for (int d = 0; d < tt.shape().dim_size(); ++d) {
      const auto& dim = tt.shape().dim(d);
      bool symbolic = !dim.has_dim_value() || dim.dim_value() <= 0;
      if (symbolic && d > 0)
        throw UnsupportedError(file_, "",
                               "graph input '" + v.name() + "' has symbolic dimension " +
                                   std::to_string(d) + " ('" + dim.dim_param() +
                                   "'); only dim 0 (the batch) may be symbolic");
      s.push_back(symbolic ? kBatch : dim.dim_value());
    }
    if (first) {
      declared_batch_ = s[0];
      first_rank = s.size();
      s[0] = kBatch;
      first = false;
    } else if (s.size() == first_rank && s[0] == declared_batch_) {
      s[0] = kBatch;
    }
    g_.inputs.push_back(v.name());
    g_.values[v.name()] = ValueInfo{v.name(), type, s};
  }
  if (g_.inputs.empty()) throw UnsupportedError(file_, "", "the graph has no (non-constant) input");
}

// The shape of a graph input exactly as declared (LoadOptions::symbolic_batch false).
Shape Loader::concrete_input_shape(const onnx::ValueInfoProto& v) const {
  Shape s;
  const auto& shape = v.type().tensor_type().shape();
  for (int d = 0; d < shape.dim_size(); ++d) {
    const auto& dim = shape.dim(d);
    if (dim.has_dim_value() && dim.dim_value() >= 0) {
      s.push_back(dim.dim_value());
      continue;
    }
    std::string what = "dim " + std::to_string(d) + " of input '" + v.name() + "' is symbolic";
    if (dim.has_dim_param() && !dim.dim_param().empty()) what += " ('" + dim.dim_param() + "')";
    throw UnsupportedError(file_, "",
                           what + (d == 0 ? "; load with a symbolic batch or give concrete shapes"
                                          : "; give concrete shapes (with a symbolic batch only "
                                            "dim 0 may be symbolic)"));
  }
  return s;
}

// Identity and Dropout are aliases; the uses of every tensor are counted through them.
void Loader::count_uses(const onnx::GraphProto& gp) {
  for (const auto& p : gp.node())
    if ((p.op_type() == "Identity" || p.op_type() == "Dropout") && p.input_size() > 0 &&
        p.output_size() > 0)
      alias_[p.output(0)] = p.input(0);
  for (const auto& p : gp.node()) {
    if (p.op_type() == "Identity" || p.op_type() == "Dropout") {
      for (int k = 1; k < p.input_size(); ++k) ++uses_[resolve(p.input(k))];
      continue;
    }
    for (const auto& t : p.input())
      if (!t.empty()) ++uses_[resolve(t)];
  }
  for (const auto& o : gp.output()) ++uses_[resolve(o.name())];
  alias_.clear();  // rebuilt in order by process(), with validation
}

void Loader::process(const onnx::NodeProto& p) {
  const std::string& op = p.op_type();
  if (op == "Constant") {
    consts_[p.output(0)] = constant_node(p);
    return;
  }
  bool all_const = true, any_input = false;
  for (const auto& t : p.input()) {
    if (t.empty()) continue;
    any_input = true;
    all_const = all_const && constant(resolve(t)) != nullptr;
  }
  // DequantizeLinear of an 8-bit constant is how quantized weights are represented (graph.hpp):
  // kept as a node, never folded.
  if (op == "DequantizeLinear" && all_const) {
    const DType t = constant(in(p, 0))->dtype;
    all_const = t != DType::kInt8 && t != DType::kUInt8;
  }
  auto fold = folders().find(op);
  if (op == "Shape" || (any_input && all_const && fold != folders().end())) {
    try {
      consts_[p.output(0)] = (this->*fold->second)(p);
    } catch (const std::length_error& e) {
      unsupported(e.what());
    }
    return;
  }
  if (kFoldOnlyOps.count(op))
    unsupported("op '" + op +
                "' is only supported on constants and shapes (shape computations folded at "
                "load time); here it reads the activation '" +
                in(p, 0) + "'");
  if (any_input && all_const && op != "Identity" && op != "Dropout")
    unsupported("all inputs of this '" + op + "' are constants, but the loader cannot fold '" + op +
                "'");
  (this->*canonicalizers().at(op))(p);
}

const TensorData& Loader::need_const(const onnx::NodeProto& p, int k,
                                     const std::string& role) const {
  std::string t = in(p, k);
  const TensorData* c = constant(t);
  if (!c)
    unsupported(
        p.op_type() + " " + role + " '" + t +
        "' must be an initializer or constant; it is computed at run time or a graph input");
  return *c;
}

std::vector<int64_t> Loader::const_ints(const onnx::NodeProto& p, int k,
                                        const std::string& role) const {
  const TensorData& c = need_const(p, k, role);
  if (c.is_float()) malformed(role + " '" + in(p, k) + "' must be an integer tensor");
  if (has_sentinel(c))
    unsupported(role + " '" + in(p, k) +
                "' depends on the batch size, which is chosen at run time");
  return c.i;
}

float Loader::const_scalar(const onnx::NodeProto& p, int k, const std::string& role) const {
  const TensorData& c = need_const(p, k, role);
  if (c.size() != 1)
    malformed(role + " '" + in(p, k) + "' must be a scalar, got " + shape_str(c.shape));
  return static_cast<float>(value_at(c, 0));
}

const Shape& Loader::shape_of(const std::string& t) const {
  if (const TensorData* c = constant(t)) return c->shape;
  auto it = g_.values.find(t);
  if (it == g_.values.end()) malformed("input '" + t + "' has no known shape");
  return it->second.shape;
}

std::string Loader::activation(const onnx::NodeProto& p, int k) const {
  std::string r = in(p, k);
  if (r.empty()) malformed(p.op_type() + " needs input " + std::to_string(k));
  return r;
}

// Registers the constant inputs as initializers, infers and records the output shapes.
void Loader::emit(Node n, bool named) {
  for (const auto& t : n.inputs)
    if (const TensorData* c = constant(t); c && !g_.initializers.count(t)) {
      g_.initializers[t] = as_float32(*c);
      const TensorData& w = g_.initializers[t];
      g_.values[t] = ValueInfo{t, w.dtype, w.shape};
    }
  n.name = cur_name_;
  auto shapes = infer_node_shapes(g_, n);
  const DType type = node_output_dtype(g_, n);
  for (size_t k = 0; k < n.outputs.size(); ++k) {
    g_.values[n.outputs[k]] = ValueInfo{n.outputs[k], type, shapes.at(k)};
    producer_[n.outputs[k]] = nodes_.size();
  }
  nodes_.push_back(std::move(n));
  onnx_names_.push_back(cur_ && named ? cur_->name() : std::string());
}

void Loader::rename_tensor(const std::string& from, const std::string& to) {
  for (auto& n : nodes_) {
    for (auto& t : n.inputs)
      if (t == from) t = to;
    for (auto& t : n.outputs)
      if (t == from) t = to;
  }
  auto v = g_.values.extract(from);
  v.key() = to;
  v.mapped().name = to;
  g_.values.insert(std::move(v));
  auto pr = producer_.extract(from);
  if (!pr.empty()) {
    pr.key() = to;
    producer_.insert(std::move(pr));
  }
}

// A graph output reached through Identity / Dropout takes the output's name.
void Loader::bind_outputs(const onnx::GraphProto& gp) {
  std::set<std::string> bound;
  for (const auto& v : gp.output()) {
    const std::string& o = v.name();
    std::string r = resolve(o);
    if (constant(r) && !producer_.count(r))
      throw UnsupportedError(file_, "",
                             "graph output '" + o + "' is a constant (nothing to compute)");
    if (!producer_.count(r))
      throw UnsupportedError(
          file_, "",
          "graph output '" + o + "' is the graph input '" + r + "' unchanged (nothing to compute)");
    if (r != o) {
      if (bound.count(r) || std::any_of(gp.output().begin(), gp.output().end(),
                                        [&](const auto& w) { return w.name() == r; }))
        throw UnsupportedError(file_, "",
                               "graph outputs '" + o + "' and '" + r + "' are the same tensor");
      rename_tensor(r, o);
    }
    bound.insert(o);
    g_.outputs.push_back(o);
  }
}

void Loader::remove_dead_nodes() {
  std::unordered_set<std::string> live(g_.outputs.begin(), g_.outputs.end());
  std::vector<bool> drop(nodes_.size(), true);
  for (size_t k = nodes_.size(); k-- > 0;) {
    for (const auto& o : nodes_[k].outputs) drop[k] = drop[k] && !live.count(o);
    if (!drop[k])
      for (const auto& t : nodes_[k].inputs) live.insert(t);
  }
  compact(drop);
}

void Loader::compact(const std::vector<bool>& drop) {
  std::vector<Node> nodes;
  std::vector<std::string> names;
  for (size_t k = 0; k < nodes_.size(); ++k)
    if (!drop[k]) {
      nodes.push_back(std::move(nodes_[k]));
      names.push_back(onnx_names_[k]);
    }
  nodes_ = std::move(nodes);
  onnx_names_ = std::move(names);
  producer_.clear();
  for (size_t k = 0; k < nodes_.size(); ++k)
    for (const auto& o : nodes_[k].outputs) producer_[o] = k;
}

// Reshape(x -> [d0..d(a-1), P]) -> Softmax(last axis) -> Reshape(back to x's shape) is the opset-13
// spelling of an opset < 13 Softmax at axis a (what save_onnx writes); fold it back.
void Loader::fuse_softmax_reshapes() {
  std::unordered_map<std::string, int> readers;
  for (const auto& n : nodes_)
    for (const auto& t : n.inputs) ++readers[t];
  for (const auto& o : g_.outputs) ++readers[o];
  std::unordered_map<std::string, size_t> reader_of;  // the reader of tensors read once
  for (size_t k = 0; k < nodes_.size(); ++k)
    for (const auto& t : nodes_[k].inputs) reader_of[t] = k;
  auto single = [&](const std::string& t) { return readers[t] == 1 && reader_of.count(t); };
  std::vector<bool> drop(nodes_.size(), false);
  for (size_t k = 0; k < nodes_.size(); ++k) {
    const Node& sm = nodes_[k];
    if (sm.op != "Softmax" || sm.i("coerce_2d", 0) != 0) continue;
    auto before = producer_.find(sm.inputs[0]);
    if (before == producer_.end() || !single(sm.inputs[0]) || !single(sm.outputs[0])) continue;
    const Node& r1 = nodes_[before->second];
    const size_t after = reader_of.at(sm.outputs[0]);
    const Node& r2 = nodes_[after];
    if (r1.op != "Reshape" || r2.op != "Reshape") continue;
    const Shape& x = g_.values.at(r1.inputs[0]).shape;
    const Shape& mid = g_.values.at(sm.inputs[0]).shape;
    bool block = sm.i("axis") + 1 == static_cast<int64_t>(mid.size()) && mid.size() < x.size() &&
                 std::equal(mid.begin(), mid.end() - 1, x.begin());
    if (!block || g_.values.at(r2.outputs[0]).shape != x) continue;
    Node fused = sm;
    fused.inputs = {r1.inputs[0]};
    fused.outputs = r2.outputs;
    fused.attrs["axis"] = static_cast<int64_t>(mid.size() - 1);
    fused.attrs["coerce_2d"] = int64_t{1};
    nodes_[after] = std::move(fused);
    onnx_names_[after] = onnx_names_[k];
    drop[before->second] = drop[k] = true;
  }
  compact(drop);
}

// ONNX names when present and unique; otherwise "<op>_<k>", k = index among the nodes of that op.
void Loader::name_nodes() {
  std::unordered_map<std::string, int> count;
  for (const auto& n : onnx_names_)
    if (!n.empty()) ++count[n];
  std::unordered_set<std::string> taken;
  for (const auto& n : onnx_names_)
    if (!n.empty() && count[n] == 1) taken.insert(n);
  std::unordered_map<std::string, int> per_op;
  for (size_t k = 0; k < nodes_.size(); ++k) {
    int index = per_op[nodes_[k].op]++;
    const std::string& onnx_name = onnx_names_[k];
    if (!onnx_name.empty() && count[onnx_name] == 1) {
      nodes_[k].name = onnx_name;
      continue;
    }
    std::string base = lowercase(nodes_[k].op) + "_" + std::to_string(index), name = base;
    for (int j = 1; taken.count(name); ++j) name = base + "_" + std::to_string(j);
    taken.insert(name);
    nodes_[k].name = name;
  }
}

void Loader::finish_values() {
  std::unordered_set<std::string> referenced(g_.inputs.begin(), g_.inputs.end());
  for (const auto& n : nodes_) {
    referenced.insert(n.inputs.begin(), n.inputs.end());
    referenced.insert(n.outputs.begin(), n.outputs.end());
  }
  std::erase_if(g_.initializers, [&](const auto& kv) { return !referenced.count(kv.first); });
  std::erase_if(g_.values, [&](const auto& kv) { return !referenced.count(kv.first); });
  g_.values.erase("");
  g_.nodes = std::move(nodes_);
}

void Loader::check_declared_outputs(const onnx::GraphProto& gp) const {
  for (const auto& v : gp.output()) {
    const auto& tt = v.type().tensor_type();
    const DType computed = g_.value(v.name()).dtype;
    if (tt.elem_type() != 0 && tt.elem_type() != static_cast<int32_t>(computed))
      throw ModelError(file_, "",
                       "graph output '" + v.name() + "' is declared " +
                           TP::DataType_Name(static_cast<TP::DataType>(tt.elem_type())) +
                           " but the graph computes " + dtype_name(computed));
    if (!tt.has_shape() || tt.shape().dim_size() == 0) continue;  // rank 0: read as undeclared
    const Shape& got = g_.value(v.name()).shape;
    Shape declared;
    bool match = tt.shape().dim_size() == static_cast<int>(got.size());
    for (int d = 0; d < tt.shape().dim_size(); ++d) {
      const auto& dim = tt.shape().dim(d);
      const bool known =
          dim.has_dim_value() && (symbolic_batch_ ? dim.dim_value() > 0 : dim.dim_value() >= 0);
      declared.push_back(known ? dim.dim_value() : kBatch);
      if (match && declared[d] != kBatch && got[d] != kBatch) match = declared[d] == got[d];
    }
    if (!match)
      throw ModelError(file_, "",
                       "graph output '" + v.name() + "' is declared " + shape_str(declared) +
                           " but the graph computes " + shape_str(got));
  }
}

// A bf16 Cast pair (graph.hpp): x -> Cast(to=BFLOAT16) -> Cast(to=FLOAT) -> only Conv / Gemm /
// MatMul inputs, the first Cast read only by the second. Such a layer computes on x rounded to
// bfloat16, which the IR says with precision "bf16"; any other Cast to bfloat16 is unsupported.
void Loader::find_bf16_pairs(const onnx::GraphProto& gp) {
  std::unordered_map<std::string, std::vector<std::pair<const onnx::NodeProto*, int>>> readers;
  std::unordered_map<std::string, const onnx::NodeProto*> producer;
  for (const auto& p : gp.node()) {
    for (int k = 0; k < p.input_size(); ++k) readers[p.input(k)].push_back({&p, k});
    for (const auto& o : p.output()) producer[o] = &p;
  }
  std::unordered_set<std::string> outputs;
  for (const auto& v : gp.output()) outputs.insert(v.name());
  auto cast_to = [](const onnx::NodeProto* p, int64_t to) {
    return p && p->op_type() == "Cast" && Attrs(*p).i("to", 0) == to;
  };
  for (const auto& p : gp.node()) {
    if (!cast_to(&p, TP::FLOAT) || p.input_size() != 1) continue;
    auto first = producer.find(p.input(0));
    if (first == producer.end() || !cast_to(first->second, TP::BFLOAT16)) continue;
    const auto& mid = readers[p.input(0)];
    const auto& users = readers[p.output(0)];
    bool layer_inputs = !users.empty() && mid.size() == 1 && !outputs.count(p.output(0)) &&
                        !outputs.count(p.input(0));
    for (const auto& [user, slot] : users)
      layer_inputs =
          layer_inputs && slot == 0 &&
          (user->op_type() == "Conv" || user->op_type() == "Gemm" || user->op_type() == "MatMul");
    if (!layer_inputs) continue;
    bf16_casts_.insert(p.input(0));
    bf16_inputs_.insert(p.output(0));
  }
}

// Layer attributes the writer keeps in metadata_props (the ONNX checker rejects unknown node
// attributes): autocompress.precision.<layer> and autocompress.wbits.<layer>. In a file written
// by autocompress they are authoritative; in others a layer of the QDQ int8 pattern reads as
// precision "int8".
void Loader::read_layer_metadata() {
  auto layer = [&](const std::string& key, const std::string& name) -> Node& {
    for (auto& n : nodes_)
      if (n.name == name && (n.op == "Conv" || n.op == "Gemm")) return n;
    throw ModelError(file_, "", "metadata '" + key + "' names no Conv/Gemm layer '" + name + "'");
  };
  static const std::string kPrecision = "autocompress.precision.", kWbits = "autocompress.wbits.";
  for (auto it = g_.metadata.begin(); it != g_.metadata.end();) {
    const std::string& key = it->first;
    const std::string& value = it->second;
    if (key.rfind(kPrecision, 0) == 0) {
      if (value != "fp32" && value != "bf16" && value != "int8")
        throw ModelError(file_, "",
                         "metadata '" + key + "' is '" + value + "', expected fp32, bf16 or int8");
      layer(key, key.substr(kPrecision.size())).attrs["precision"] = value;
    } else if (key.rfind(kWbits, 0) == 0) {
      size_t used = 0;
      int64_t bits = 0;
      try {
        bits = std::stoll(value, &used);
      } catch (const std::exception&) {
      }
      if (used != value.size() || bits < 1 || bits > 32)
        throw ModelError(file_, "",
                         "metadata '" + key + "' is '" + value + "', expected a bit width");
      layer(key, key.substr(kWbits.size())).attrs["wbits"] = bits;
    } else {
      ++it;
      continue;
    }
    it = g_.metadata.erase(it);
  }
  if (ours_) return;
  g_.nodes = nodes_;  // is_qdq_int8_layer reads the graph
  for (auto& n : nodes_)
    if (!n.has("precision") && is_qdq_int8_layer(g_, n)) n.attrs["precision"] = std::string("int8");
  g_.nodes.clear();
}

// ---- canonicalization ----

Node Loader::make(const onnx::NodeProto& p, const std::string& op,
                  std::vector<std::string> inputs) const {
  Node n;
  n.op = op;
  n.inputs = std::move(inputs);
  n.outputs = {p.output(0)};
  return n;
}

// Explicit (top, left, bottom, right) pads, with auto_pad resolved against the input size.
std::vector<int64_t> Loader::resolve_pads(const Attrs& a, const Shape& x,
                                          const std::vector<int64_t>& k,
                                          const std::vector<int64_t>& s,
                                          const std::vector<int64_t>& d) {
  std::string mode = a.s("auto_pad", "NOTSET");
  if (mode == "NOTSET") {
    auto pads = a.ints("pads", {0, 0, 0, 0});
    if (pads.size() != 4) malformed("pads must have 4 values, got " + std::to_string(pads.size()));
    for (int64_t v : pads)
      if (v < 0) malformed("negative pads are not valid: " + shape_str(pads));
    return pads;
  }
  if (mode == "VALID") return {0, 0, 0, 0};
  if (mode != "SAME_UPPER" && mode != "SAME_LOWER") malformed("unknown auto_pad '" + mode + "'");
  std::vector<int64_t> pads(4);
  for (int i = 0; i < 2; ++i) {
    int64_t len = x[2 + i], out = (len + s[i] - 1) / s[i];
    int64_t total = std::max<int64_t>(0, (out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - len);
    int64_t small = total / 2, big = total - small;
    pads[i] = mode == "SAME_UPPER" ? small : big;
    pads[i + 2] = mode == "SAME_UPPER" ? big : small;
  }
  return pads;
}

void Loader::conv(const onnx::NodeProto& p) {
  emit_conv(p, activation(p, 0), in(p, 1), in(p, 2), p.output(0));
}

// Conv of x by w (+ b) into y, with the attributes of the ONNX Conv or QLinearConv p.
void Loader::emit_conv(const onnx::NodeProto& p, const std::string& x, const std::string& w,
                       const std::string& b, const std::string& y) {
  Attrs a(p);
  const Shape& ws = weight_shape(p, p.op_type() == "Conv" ? 1 : 3, "weight");
  const Shape& xs = shape_of(x);
  if (xs.size() != 4 || ws.size() != 4)
    unsupported("1-D/3-D Conv not supported (input " + shape_str(xs) + ", weight " + shape_str(ws) +
                "); only 2-D convolutions of [N,C,H,W] tensors");
  std::vector<int64_t> kernel = {ws[2], ws[3]};
  if (a.has("kernel_shape") && a.ints("kernel_shape") != kernel)
    malformed("kernel_shape " + shape_str(a.ints("kernel_shape")) + " differs from the weight " +
              shape_str(ws));
  auto strides = a.ints("strides", {1, 1}), dil = a.ints("dilations", {1, 1});
  if (strides.size() != 2 || dil.size() != 2) malformed("strides and dilations must have 2 values");
  std::vector<std::string> inputs = {x, w};
  if (!b.empty()) {
    if (!constant(b)) unsupported("Conv bias '" + b + "' must be an initializer or constant");
    inputs.push_back(b);
  }
  Node n = make(p, "Conv", inputs);
  n.outputs = {y};
  n.attrs["strides"] = strides;
  n.attrs["dilations"] = dil;
  n.attrs["pads"] = resolve_pads(a, xs, kernel, strides, dil);
  n.attrs["group"] = a.i("group", 1);
  set_bf16(p, n);
  emit(std::move(n));
}

// The shape of a layer's weight: a constant, or DequantizeLinear of one (quantized weights).
const Shape& Loader::weight_shape(const onnx::NodeProto& p, int k, const std::string& role) const {
  if (weight_dq(in(p, k))) return shape_of(in(p, k));
  return need_const(p, k, role).shape;
}

// The DequantizeLinear node producing t from a constant, or nullptr.
const Node* Loader::weight_dq(const std::string& t) const {
  auto it = producer_.find(t);
  if (it == producer_.end()) return nullptr;
  const Node& n = nodes_[it->second];
  return n.op == "DequantizeLinear" && g_.is_initializer(n.inputs[0]) ? &n : nullptr;
}

// The transpose of the 2-D weight input k (MatMul's B, Gemm's B without transB): a new constant,
// or for W = DequantizeLinear(w_q) a new DequantizeLinear of w_q transposed (axis 0 <-> 1).
std::string Loader::transposed_weight(const onnx::NodeProto& p, int k, const std::string& role) {
  const Node* dq = weight_dq(in(p, k));
  if (!dq) return add_const(in(p, k) + "_t", as_float32(transpose2d(need_const(p, k, role))));
  Node t = *dq;
  const TensorData& q = g_.initializers.at(dq->inputs[0]);
  if (q.shape.size() != 2) malformed(role + " '" + in(p, k) + "' must be 2-D");
  t.inputs[0] = add_const(dq->inputs[0] + "_t", transpose2d(q));
  if (g_.initializers.at(dq->inputs[1]).size() > 1) t.attrs["axis"] = 1 - dq->i("axis", 1);
  t.outputs = {fresh(in(p, k) + "_t")};
  emit(t, false);
  return t.outputs[0];
}

// A Conv / Gemm reading its input through a bf16 Cast pair is a bf16 layer (graph.hpp).
void Loader::set_bf16(const onnx::NodeProto& p, Node& n) const {
  if (p.input_size() > 0 && bf16_inputs_.count(p.input(0)))
    n.attrs["precision"] = std::string("bf16");
}

void Loader::gemm(const onnx::NodeProto& p) {
  Attrs a(p);
  std::string x = activation(p, 0);
  if (constant(x)) unsupported("Gemm with a constant A and a run-time B is not supported");
  if (a.i("transA", 0) != 0) unsupported("Gemm with transA=1 on an activation is not supported");
  const Shape bs = weight_shape(p, 1, "weight B");
  if (bs.size() != 2) malformed("Gemm B must be 2-D, got " + shape_str(bs));
  float alpha = a.f("alpha", 1.0f), beta = a.f("beta", 1.0f);
  bool trans_b = a.i("transB", 0) != 0;
  std::string w_name = in(p, 1);
  if (weight_dq(w_name) && alpha != 1.0f)
    unsupported("Gemm with alpha " + std::to_string(alpha) + " of a DequantizeLinear weight");
  if (weight_dq(w_name) && !trans_b) {
    w_name = transposed_weight(p, 1, "weight B");
  } else if (!trans_b || alpha != 1.0f) {
    const TensorData& b = need_const(p, 1, "weight B");
    TensorData w = as_float32(trans_b ? b : transpose2d(b));
    for (float& v : w.f) v *= alpha;
    w_name = add_const(in(p, 1) + (trans_b ? "_scaled" : "_t"), std::move(w));
  }
  const int64_t m = trans_b ? bs[0] : bs[1];
  std::vector<std::string> inputs = {x, w_name};
  if (!in(p, 2).empty() && beta != 0.0f) {
    const TensorData& c = need_const(p, 2, "bias C");
    const Shape& cs = c.shape;
    int64_t cols = cs.empty() ? 1 : cs.back();
    bool per_row = cs.size() == 2 && cs[0] != 1;
    if (per_row || cs.size() > 2 || (cols != 1 && cols != m))
      unsupported("Gemm bias C of shape " + shape_str(cs) + " is not supported (only a scalar, [" +
                  std::to_string(m) + "] or [1," + std::to_string(m) + "] broadcast over rows)");
    std::vector<float> bias(m);
    for (int64_t j = 0; j < m; ++j)
      bias[j] = beta * static_cast<float>(value_at(c, cols == 1 ? 0 : j));
    if (cs == Shape{m} && beta == 1.0f && c.is_float())
      inputs.push_back(in(p, 2));
    else
      inputs.push_back(add_const(in(p, 2) + "_bias", float_tensor({m}, std::move(bias))));
  }
  Node n = make(p, "Gemm", inputs);
  set_bf16(p, n);
  emit(std::move(n));
}

// MatMul of a 2-D activation by a constant 2-D matrix is a Linear layer: Gemm with W = B^T.
void Loader::matmul(const onnx::NodeProto& p) {
  std::string x = activation(p, 0);
  if (constant(x)) unsupported("MatMul with a constant A and a run-time B is not supported");
  const Shape& xs = shape_of(x);
  if (xs.size() != 2)
    unsupported("MatMul of a " + std::to_string(xs.size()) + "-D activation " + shape_str(xs) +
                " is not supported; only [N,K] x constant [K,M] (a Linear layer)");
  const Shape& bs = weight_shape(p, 1, "B");
  if (bs.size() != 2)
    unsupported("MatMul by a " + std::to_string(bs.size()) + "-D constant " + shape_str(bs) +
                " is not supported; only [N,K] x [K,M]");
  Node n = make(p, "Gemm", {x, transposed_weight(p, 1, "B")});
  set_bf16(p, n);
  emit(std::move(n));
  matmul_gemms_.insert(nodes_.size() - 1);
}

// ---- quantization ----

// QuantizeLinear / DequantizeLinear, kept as they are (graph.hpp). The scale and zero point must
// be constants; infer_node_shapes (in emit) checks their types and shapes.
void Loader::quantize_linear(const onnx::NodeProto& p) {
  const bool q = p.op_type() == "QuantizeLinear";
  std::vector<std::string> inputs = {activation(p, 0), in(p, 1)};
  need_const(p, 1, q ? "y_scale" : "x_scale");
  if (!in(p, 2).empty()) {
    need_const(p, 2, q ? "y_zero_point" : "x_zero_point");
    inputs.push_back(in(p, 2));
  }
  Node n = make(p, p.op_type(), inputs);
  set_quant_axis(p, inputs[0], n);
  emit(std::move(n));
}

// The axis attribute made non-negative; absent stays absent (ONNX's and the IR's default is 1).
void Loader::set_quant_axis(const onnx::NodeProto& p, const std::string& x, Node& n) const {
  Attrs a(p);
  if (!a.has("axis")) return;
  const int64_t rank = static_cast<int64_t>(shape_of(x).size()), axis = a.i("axis", 1);
  if (axis < -rank || axis >= rank)
    malformed("axis " + std::to_string(axis) + " out of range for " + shape_str(shape_of(x)));
  n.attrs["axis"] = axis < 0 ? axis + rank : axis;
}

// QLinearConv (opset 10) in QDQ form: Q(Conv(DQ(x), DQ(w), B * x_scale * w_scale), y_scale).
// The int32 bias is dequantized at load time, as the conventions keep biases float.
void Loader::qlinear_conv(const onnx::NodeProto& p) {
  static const char* roles[] = {"x_scale", "x_zero_point", "w", "w_scale", "w_zero_point",
                                "y_scale", "y_zero_point", "B"};
  for (int k = 1; k < 9; ++k)
    if (k != 8 || !in(p, k).empty()) need_const(p, k, roles[k - 1]);
  const std::string x = emit_dequantize(activation(p, 0), in(p, 1), in(p, 2), false);
  const TensorData& ws = *constant(in(p, 4));
  const std::string w = emit_dequantize(in(p, 3), in(p, 4), in(p, 5), ws.size() > 1);
  std::string b;
  if (!in(p, 8).empty()) {
    const TensorData& bq = *constant(in(p, 8));
    const float xs = const_scalar(p, 1, "x_scale");
    if (bq.dtype != DType::kInt32 || bq.shape.size() != 1)
      malformed("B '" + in(p, 8) + "' must be a 1-D int32 tensor, got " + dtype_name(bq.dtype) +
                " " + shape_str(bq.shape));
    std::vector<float> bias(bq.i.size());
    for (size_t m = 0; m < bias.size(); ++m)
      bias[m] = static_cast<float>(bq.i[m]) * (xs * ws.f[ws.size() > 1 ? m : 0]);
    b = add_const(in(p, 8) + "_dequantized", float_tensor(bq.shape, std::move(bias)));
  }
  const std::string y = fresh(p.output(0) + "_float");
  emit_conv(p, x, w, b, y);
  Node q = make(p, "QuantizeLinear", {y, in(p, 6), in(p, 7)});
  emit(std::move(q), false);
}

// A DequantizeLinear of x (per tensor, or along axis 0 for a per-channel weight); its output.
std::string Loader::emit_dequantize(const std::string& x, const std::string& scale,
                                    const std::string& zero_point, bool per_channel_weight) {
  Node n;
  n.op = "DequantizeLinear";
  n.inputs = {x, scale, zero_point};
  n.outputs = {fresh(x + "_dequantized")};
  if (per_channel_weight) n.attrs["axis"] = int64_t{0};
  emit(n, false);
  return n.outputs[0];
}

void Loader::batch_norm(const onnx::NodeProto& p) {
  Attrs a(p);
  if (a.i("training_mode", 0) != 0)
    unsupported("BatchNormalization with training_mode=1 is not supported (inference only)");
  for (int k = 1; k < p.output_size(); ++k)
    if (used(p.output(k)))
      unsupported("BatchNormalization training output '" + p.output(k) + "' is used");
  std::vector<std::string> inputs = {activation(p, 0)};
  static const char* roles[] = {"scale", "B", "mean", "var"};
  for (int k = 1; k <= 4; ++k) {
    need_const(p, k, roles[k - 1]);
    inputs.push_back(in(p, k));
  }
  Node n = make(p, "BatchNormalization", inputs);
  n.attrs["epsilon"] = a.f("epsilon", 1e-5f);
  emit(std::move(n));
}

void Loader::unary(const onnx::NodeProto& p) { emit(make(p, p.op_type(), {activation(p, 0)})); }

void Loader::clip(const onnx::NodeProto& p) {
  Attrs a(p);
  float lo = -kInf, hi = kInf;
  if (opset_ < 11) {
    lo = a.f("min", -kInf);
    hi = a.f("max", kInf);
  } else {
    if (!in(p, 1).empty()) lo = const_scalar(p, 1, "min");
    if (!in(p, 2).empty()) hi = const_scalar(p, 2, "max");
  }
  Node n = make(p, "Clip", {activation(p, 0)});
  n.attrs["min"] = lo;
  n.attrs["max"] = hi;
  emit(std::move(n));
}

void Loader::leaky_relu(const onnx::NodeProto& p) {
  Node n = make(p, "LeakyRelu", {activation(p, 0)});
  n.attrs["alpha"] = Attrs(p).f("alpha", 0.01f);
  emit(std::move(n));
}

void Loader::hard_sigmoid(const onnx::NodeProto& p) {
  Node n = make(p, "HardSigmoid", {activation(p, 0)});
  n.attrs["alpha"] = Attrs(p).f("alpha", 0.2f);
  n.attrs["beta"] = Attrs(p).f("beta", 0.5f);
  emit(std::move(n));
}

void Loader::pool(const onnx::NodeProto& p) {
  Attrs a(p);
  const std::string& op = p.op_type();
  std::string x = activation(p, 0);
  const Shape& xs = shape_of(x);
  if (xs.size() != 4)
    unsupported("1-D/3-D " + op + " not supported (input " + shape_str(xs) + "); only 2-D pooling");
  if (p.output_size() > 1 && used(p.output(1)))
    unsupported("MaxPool's second output (Indices) is not supported");
  auto k = a.ints("kernel_shape"), s = a.ints("strides", {1, 1}), d = a.ints("dilations", {1, 1});
  if (k.size() != 2 || s.size() != 2 || d.size() != 2)
    malformed("kernel_shape, strides and dilations must have 2 values");
  Node n = make(p, op, {x});
  n.attrs["kernel_shape"] = k;
  n.attrs["strides"] = s;
  n.attrs["pads"] = resolve_pads(a, xs, k, s, d);
  bool same = a.s("auto_pad", "NOTSET").rfind("SAME", 0) == 0;
  n.attrs["ceil_mode"] = same ? int64_t{0} : a.i("ceil_mode", 0);
  if (op == "MaxPool") n.attrs["dilations"] = d;
  if (op == "AveragePool") {
    if (d != std::vector<int64_t>{1, 1}) unsupported("AveragePool with dilations");
    n.attrs["count_include_pad"] = a.i("count_include_pad", 0);
  }
  emit(std::move(n));
}

void Loader::global_pool(const onnx::NodeProto& p) {
  std::string x = activation(p, 0);
  if (shape_of(x).size() != 4)
    unsupported("GlobalAveragePool of a " + std::to_string(shape_of(x).size()) +
                "-D tensor; only [N,C,H,W]");
  emit(make(p, "GlobalAveragePool", {x}));
}

// Axes from the attribute (before `input` became the carrier) or from a constant input;
// normalized to [0, rank), sorted and unique. Empty when absent.
std::vector<int64_t> Loader::axes_of(const onnx::NodeProto& p, int input, int64_t rank,
                                     bool required) {
  Attrs a(p);
  std::vector<int64_t> axes;
  if (a.has("axes"))
    axes = a.ints("axes");
  else if (!in(p, input).empty())
    axes = const_ints(p, input, "axes");
  else if (required)
    malformed("missing axes");
  for (auto& ax : axes) {
    if (ax < -rank || ax >= rank)
      malformed("axis " + std::to_string(ax) + " out of range for rank " + std::to_string(rank));
    if (ax < 0) ax += rank;
  }
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end()) malformed("repeated axes");
  return axes;
}

void Loader::reduce_mean(const onnx::NodeProto& p) {
  std::string x = activation(p, 0);
  int64_t rank = static_cast<int64_t>(shape_of(x).size());
  auto axes = axes_of(p, 1, rank, false);
  if (axes.empty())
    for (int64_t k = 0; k < rank; ++k) axes.push_back(k);
  Node n = make(p, "ReduceMean", {x});
  n.attrs["axes"] = axes;
  n.attrs["keepdims"] = Attrs(p).i("keepdims", 1);
  emit(std::move(n));
}

void Loader::pad(const onnx::NodeProto& p) {
  Attrs a(p);
  std::string mode = a.s("mode", "constant");
  if (mode != "constant") unsupported("Pad mode '" + mode + "' is not supported (only 'constant')");
  std::string x = activation(p, 0);
  std::vector<int64_t> pads;
  float value = 0.0f;
  if (opset_ < 11) {
    pads = a.ints("pads");
    value = a.f("value", 0.0f);
  } else {
    pads = const_ints(p, 1, "pads");
    if (!in(p, 2).empty()) value = const_scalar(p, 2, "constant_value");
    if (!in(p, 3).empty()) unsupported("Pad with an axes input");
  }
  if (pads.size() != 2 * shape_of(x).size())
    malformed("pads has " + std::to_string(pads.size()) + " values for a rank-" +
              std::to_string(shape_of(x).size()) + " input");
  Node n = make(p, "Pad", {x});
  n.attrs["pads"] = pads;
  n.attrs["value"] = value;
  emit(std::move(n));
}

void Loader::binary(const onnx::NodeProto& p) {
  if (p.op_type() == "Add" && fuse_matmul_bias(p)) return;
  emit(make(p, p.op_type(), {in(p, 0), in(p, 1)}));
}

// MatMul (now a bias-less Gemm) followed by an Add of a constant [M] or [1,M] vector, the Add
// being its only reader: the vector becomes the Gemm's bias.
bool Loader::fuse_matmul_bias(const onnx::NodeProto& p) {
  for (int k = 0; k < 2; ++k) {
    auto it = producer_.find(in(p, k));
    const TensorData* c = constant(in(p, 1 - k));
    if (it == producer_.end() || !c || !matmul_gemms_.count(it->second) || uses_[in(p, k)] != 1)
      continue;
    Node& gemm = nodes_[it->second];
    int64_t m = g_.values.at(gemm.inputs[1]).shape[0];
    if (c->shape != Shape{m} && c->shape != Shape{1, m}) continue;
    TensorData bias = as_float32(*c);
    bias.shape = {m};
    gemm.inputs.push_back(add_const(in(p, 1 - k) + "_bias", std::move(bias)));
    g_.initializers[gemm.inputs.back()] = consts_.at(gemm.inputs.back());
    g_.values[gemm.inputs.back()] = ValueInfo{gemm.inputs.back(), DType::kFloat, {m}};
    matmul_gemms_.erase(it->second);
    rename_tensor(in(p, k), p.output(0));
    return true;
  }
  return false;
}

void Loader::concat(const onnx::NodeProto& p) {
  std::vector<std::string> inputs;
  for (int k = 0; k < p.input_size(); ++k) inputs.push_back(in(p, k));
  int64_t rank = static_cast<int64_t>(shape_of(inputs.at(0)).size());
  int64_t axis = Attrs(p).i("axis", 0);
  if (axis < -rank || axis >= rank) malformed("axis " + std::to_string(axis) + " out of range");
  Node n = make(p, "Concat", inputs);
  n.attrs["axis"] = axis < 0 ? axis + rank : axis;
  emit(std::move(n));
}

void Loader::flatten(const onnx::NodeProto& p) {
  std::string x = activation(p, 0);
  int64_t rank = static_cast<int64_t>(shape_of(x).size());
  int64_t axis = Attrs(p).i("axis", 1);
  if (axis < -rank || axis > rank) malformed("axis " + std::to_string(axis) + " out of range");
  Node n = make(p, "Flatten", {x});
  n.attrs["axis"] = axis < 0 ? axis + rank : axis;
  emit(std::move(n));
}

void Loader::emit_reshape(const onnx::NodeProto& p, const std::string& x, const Shape& out) {
  Node n = make(p, "Reshape", {x});
  n.attrs["shape"] = out;
  emit(std::move(n));
}

// ONNX Reshape target -> full output shape: 0 copies, -1 infers, kBatchSentinel is the batch.
// Input [N, rest...]: the output keeps the batch at dim 0, either marked (0 / sentinel), or as a
// -1 at dim 0 that resolves to exactly the batch, or as the file's own concrete batch value.
Shape Loader::resolve_reshape(const Shape& x, const std::vector<int64_t>& target,
                              bool allowzero) const {
  const bool batched = !x.empty() && x[0] == kBatch;
  int64_t rest = 1;
  for (size_t k = batched ? 1 : 0; k < x.size(); ++k) rest *= x[k];
  Shape out(target.size());
  int infer = -1, batch_at = -1;
  int64_t known = 1;
  for (size_t k = 0; k < target.size(); ++k) {
    int64_t v = target[k];
    if (v == 0 && !allowzero) {
      if (k >= x.size()) malformed("shape " + shape_str(target) + ": 0 copies a missing dim");
      v = x[k] == kBatch ? kBatchSentinel : x[k];
    }
    if (v == kBatchSentinel) {
      if (batch_at >= 0) unsupported("Reshape target names the batch dimension twice");
      batch_at = static_cast<int>(k);
    } else if (v == -1) {
      if (infer >= 0) malformed("shape " + shape_str(target) + " has two -1");
      infer = static_cast<int>(k);
    } else if (v < 0) {
      malformed("invalid Reshape target " + shape_str(target));
    } else {
      out[k] = v;
      known *= v;
    }
  }
  auto mixes = [&]() {
    unsupported("Reshape of " + shape_str(x) + " to " + shape_str(target) +
                " mixes the batch dimension with other dimensions");
  };
  if (batch_at >= 0 && !batched) mixes();
  if (batched && batch_at < 0) {
    if (infer == 0 && known == rest)
      batch_at = infer, infer = -1;
    else if (!target.empty() && target[0] == declared_batch_ && target[0] > 0)
      batch_at = 0, known /= std::max<int64_t>(target[0], 1);
    else
      mixes();
  }
  if (batch_at > 0) mixes();
  if (batch_at == 0) out[0] = kBatch;
  if (infer >= 0) {
    if (known == 0 || rest % known != 0)
      malformed("cannot reshape " + shape_str(x) + " to " + shape_str(target));
    out[infer] = rest / known;
  } else if (known != rest) {
    malformed("cannot reshape " + shape_str(x) + " to " + shape_str(target) +
              " (element counts differ)");
  }
  return out;
}

void Loader::reshape(const onnx::NodeProto& p) {
  std::string x = activation(p, 0);
  if (!constant(in(p, 1)))
    unsupported("Reshape target shape '" + in(p, 1) +
                "' is computed at run time and could not be folded to a constant");
  const TensorData& t = *constant(in(p, 1));
  if (t.is_float()) malformed("Reshape shape must be int64");
  emit_reshape(p, x, resolve_reshape(shape_of(x), t.i, Attrs(p).i("allowzero", 0) != 0));
}

void Loader::squeeze(const onnx::NodeProto& p) {
  std::string x = activation(p, 0);
  const Shape& xs = shape_of(x);
  auto axes = axes_of(p, 1, static_cast<int64_t>(xs.size()), false);
  Shape out;
  for (size_t k = 0; k < xs.size(); ++k) {
    bool listed = std::binary_search(axes.begin(), axes.end(), static_cast<int64_t>(k));
    if (listed && xs[k] == kBatch) unsupported("Squeeze of the batch dimension");
    if (listed && xs[k] != 1)
      malformed("cannot squeeze dim " + std::to_string(k) + " of " + shape_str(xs) + " (not 1)");
    if (!(listed || (axes.empty() && xs[k] == 1))) out.push_back(xs[k]);
  }
  emit_reshape(p, x, out);
}

void Loader::unsqueeze(const onnx::NodeProto& p) {
  std::string x = activation(p, 0);
  const Shape& xs = shape_of(x);
  Attrs a(p);
  size_t n_axes = a.has("axes") ? a.ints("axes").size() : need_const(p, 1, "axes").i.size();
  auto axes = axes_of(p, 1, static_cast<int64_t>(xs.size() + n_axes), true);
  if (!xs.empty() && xs[0] == kBatch && axes.front() == 0)
    unsupported("Unsqueeze at axis 0 moves the batch dimension");
  Shape out;
  size_t src = 0;
  for (size_t k = 0; k < xs.size() + axes.size(); ++k)
    out.push_back(
        std::binary_search(axes.begin(), axes.end(), static_cast<int64_t>(k)) ? 1 : xs[src++]);
  emit_reshape(p, x, out);
}

// A Transpose that only moves size-1 dimensions keeps the data order: it is a Reshape.
void Loader::transpose(const onnx::NodeProto& p) {
  std::string x = activation(p, 0);
  const Shape& xs = shape_of(x);
  std::vector<int64_t> perm = Attrs(p).ints("perm");
  if (perm.empty())
    for (size_t k = xs.size(); k-- > 0;) perm.push_back(static_cast<int64_t>(k));
  if (perm.size() != xs.size())
    malformed("perm " + shape_str(perm) + " does not match " + shape_str(xs));
  std::vector<int64_t> moved;
  Shape out;
  for (int64_t k : perm) {
    if (k < 0 || k >= static_cast<int64_t>(xs.size()))
      malformed("perm " + shape_str(perm) + " is invalid");
    out.push_back(xs[k]);
    if (xs[k] != 1) moved.push_back(k);
  }
  if (std::is_sorted(moved.begin(), moved.end())) {
    emit_reshape(p, x, out);
    return;
  }
  Node n = make(p, "Transpose", {x});
  n.attrs["perm"] = perm;
  emit(std::move(n));
}

void Loader::softmax(const onnx::NodeProto& p) {
  std::string x = activation(p, 0);
  int64_t rank = static_cast<int64_t>(shape_of(x).size());
  int64_t axis = Attrs(p).i("axis", opset_ < 13 ? 1 : -1);
  if (axis < -rank || axis >= rank) malformed("axis " + std::to_string(axis) + " out of range");
  if (axis < 0) axis += rank;
  Node n = make(p, "Softmax", {x});
  n.attrs["axis"] = axis;
  n.attrs["coerce_2d"] = int64_t{opset_ < 13 && axis != rank - 1 ? 1 : 0};
  emit(std::move(n));
}

// Cast of an activation: float32 -> float32 (a no-op), or the Cast(to=BFLOAT16) of a bf16 Cast
// pair (find_bf16_pairs), which the layer reading it expresses as its precision.
void Loader::cast(const onnx::NodeProto& p) {
  int64_t to = Attrs(p).i("to", 0);
  const bool pair = to == TP::BFLOAT16 && bf16_casts_.count(p.output(0));
  if (to != TP::FLOAT && !pair)
    unsupported("Cast of the activation '" + in(p, 0) + "' to " +
                TP::DataType_Name(static_cast<TP::DataType>(to)) +
                "; activations are float32 (a Cast to bfloat16 and back only as the input of "
                "Conv / Gemm / MatMul: a bf16 layer)");
  alias_[p.output(0)] = in(p, 0);
}

// Identity and Dropout (inference): the output is the input.
void Loader::dropout(const onnx::NodeProto& p) {
  if (p.op_type() == "Dropout") {
    if (p.output_size() > 1 && used(p.output(1)))
      unsupported("Dropout's mask output is used (training graph)");
    if (Attrs(p).i("is_test", 1) == 0 && opset_ < 7) unsupported("Dropout in training mode");
    if (!in(p, 2).empty()) {
      const TensorData* t = constant(in(p, 2));
      if (!t || value_at(*t, 0) != 0.0)
        unsupported("Dropout with training_mode true or computed at run time");
    }
  }
  alias_[p.output(0)] = in(p, 0);
}

// ---- constant folding ----

TensorData Loader::constant_node(const onnx::NodeProto& p) {
  Attrs a(p);
  if (auto* v = a.find("value")) return decode_tensor(v->t(), file_);
  if (auto* v = a.find("value_float")) return float_tensor({}, {v->f()});
  if (auto* v = a.find("value_floats"))
    return float_tensor({v->floats_size()}, {v->floats().begin(), v->floats().end()});
  if (auto* v = a.find("value_int")) {
    TensorData t = int_tensor({v->i()});
    t.shape = {};
    return t;
  }
  if (auto* v = a.find("value_ints")) return int_tensor({v->ints().begin(), v->ints().end()});
  unsupported("Constant with a sparse or string value is not supported");
}

TensorData Loader::fold_shape(const onnx::NodeProto& p) {
  const Shape& s = shape_of(in(p, 0));
  int64_t rank = static_cast<int64_t>(s.size());
  Attrs a(p);
  auto clampi = [&](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t{0}, rank); };
  int64_t start = clampi(a.i("start", 0)), end = clampi(a.i("end", rank));
  std::vector<int64_t> v;
  for (int64_t k = start; k < end; ++k) v.push_back(s[k] == kBatch ? kBatchSentinel : s[k]);
  return int_tensor(v);
}

TensorData Loader::fold_gather(const onnx::NodeProto& p) {
  const TensorData& data = *constant(in(p, 0));
  const TensorData& ind = *constant(in(p, 1));
  int64_t rank = static_cast<int64_t>(data.shape.size());
  int64_t axis = Attrs(p).i("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) malformed("Gather axis out of range");
  const int64_t dim = data.shape[axis];
  std::vector<int64_t> idx;
  for (int64_t k = 0; k < ind.size(); ++k) {
    int64_t v = static_cast<int64_t>(value_at(ind, k));
    if (v < -dim || v >= dim) malformed("Gather index " + std::to_string(v) + " out of range");
    idx.push_back(v < 0 ? v + dim : v);
  }
  Shape out(data.shape.begin(), data.shape.begin() + axis);
  out.insert(out.end(), ind.shape.begin(), ind.shape.end());
  out.insert(out.end(), data.shape.begin() + axis + 1, data.shape.end());
  auto st = strides_of(data.shape), ist = strides_of(ind.shape);
  const int64_t q = static_cast<int64_t>(ind.shape.size());
  return remap(data, out, [&](const std::vector<int64_t>& i) {
    int64_t src = 0, flat_ind = 0;
    for (int64_t k = 0; k < axis; ++k) src += i[k] * st[k];
    for (int64_t k = 0; k < q; ++k) flat_ind += i[axis + k] * ist[k];
    src += idx[flat_ind] * st[axis];
    for (int64_t k = axis + 1; k < rank; ++k) src += i[k + q - 1] * st[k];
    return src;
  });
}

TensorData Loader::fold_unsqueeze(const onnx::NodeProto& p) {
  TensorData t = *constant(in(p, 0));
  Attrs a(p);
  size_t n_axes = a.has("axes") ? a.ints("axes").size() : need_const(p, 1, "axes").i.size();
  auto axes = axes_of(p, 1, static_cast<int64_t>(t.shape.size() + n_axes), true);
  for (int64_t ax : axes) t.shape.insert(t.shape.begin() + ax, 1);
  return t;
}

TensorData Loader::fold_squeeze(const onnx::NodeProto& p) {
  TensorData t = *constant(in(p, 0));
  auto axes = axes_of(p, 1, static_cast<int64_t>(t.shape.size()), false);
  Shape out;
  for (size_t k = 0; k < t.shape.size(); ++k) {
    bool listed = std::binary_search(axes.begin(), axes.end(), static_cast<int64_t>(k));
    if (listed && t.shape[k] != 1)
      malformed("cannot squeeze a dim of size " + std::to_string(t.shape[k]));
    if (!(listed || (axes.empty() && t.shape[k] == 1))) out.push_back(t.shape[k]);
  }
  t.shape = out;
  return t;
}

TensorData Loader::fold_concat(const onnx::NodeProto& p) {
  TensorData r = *constant(in(p, 0));
  int64_t rank = static_cast<int64_t>(r.shape.size());
  int64_t axis = Attrs(p).i("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) malformed("Concat axis out of range");
  int64_t outer = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= r.shape[k];
  std::vector<const TensorData*> parts;
  for (int k = 0; k < p.input_size(); ++k) parts.push_back(constant(in(p, k)));
  TensorData out = r;
  out.f.clear();
  out.i.clear();
  out.shape[axis] = 0;
  for (const auto* t : parts) {
    if (t->shape.size() != r.shape.size() || t->is_float() != r.is_float())
      malformed("Concat of constants with different ranks or types");
    out.shape[axis] += t->shape[axis];
  }
  for (int64_t o = 0; o < outer; ++o)
    for (const auto* t : parts) {
      int64_t block = t->size() / std::max<int64_t>(outer, 1);
      if (t->is_float())
        out.f.insert(out.f.end(), t->f.begin() + o * block, t->f.begin() + (o + 1) * block);
      else
        out.i.insert(out.i.end(), t->i.begin() + o * block, t->i.begin() + (o + 1) * block);
    }
  return out;
}

TensorData Loader::fold_cast(const onnx::NodeProto& p) {
  TensorData t = *constant(in(p, 0));
  auto to = static_cast<int32_t>(Attrs(p).i("to", 0));
  static const std::set<int32_t> ok = {TP::FLOAT, TP::DOUBLE, TP::FLOAT16, TP::BFLOAT16, TP::INT64,
                                       TP::INT32, TP::INT8,   TP::UINT8,   TP::BOOL};
  if (!ok.count(to))
    unsupported("Cast to " + TP::DataType_Name(static_cast<TP::DataType>(to)) +
                " is not supported");
  TensorData r;
  r.dtype = static_cast<DType>(to);
  r.shape = t.shape;
  if (r.is_float()) {
    if (has_sentinel(t))
      unsupported("Cast of the batch size to a float (batch chosen at run time)");
    for (int64_t k = 0; k < t.size(); ++k) r.f.push_back(static_cast<float>(value_at(t, k)));
    if (to == TP::BFLOAT16)
      for (float& v : r.f) v = round_to_bf16(v);
  } else if (t.is_float()) {
    for (float v : t.f) r.i.push_back(to == TP::BOOL ? v != 0.0f : static_cast<int64_t>(v));
  } else {
    r.i = t.i;
    if (to == TP::BOOL)
      for (auto& v : r.i) v = v != 0;
  }
  return r;
}

TensorData Loader::fold_slice(const onnx::NodeProto& p) {
  const TensorData& data = *constant(in(p, 0));
  const int64_t rank = static_cast<int64_t>(data.shape.size());
  Attrs a(p);
  std::vector<int64_t> starts, ends, axes, steps;
  if (opset_ < 10) {
    starts = a.ints("starts");
    ends = a.ints("ends");
    axes = a.ints("axes");
  } else {
    starts = const_ints(p, 1, "starts");
    ends = const_ints(p, 2, "ends");
    if (!in(p, 3).empty()) axes = const_ints(p, 3, "axes");
    if (!in(p, 4).empty()) steps = const_ints(p, 4, "steps");
  }
  if (axes.empty())
    for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    malformed("Slice starts/ends/axes/steps differ in length");
  std::vector<int64_t> first(rank, 0), step(rank, 1);
  Shape out = data.shape;
  for (size_t j = 0; j < axes.size(); ++j) {
    int64_t ax = axes[j] < 0 ? axes[j] + rank : axes[j], d = data.shape.at(ax), st = steps[j];
    if (st == 0) malformed("Slice step 0");
    auto norm = [&](int64_t v) {
      v = std::clamp<int64_t>(v, -d - 1, d + 1);
      return v < 0 ? v + d : v;
    };
    int64_t s = norm(starts[j]), e = norm(ends[j]);
    s = st > 0 ? std::clamp<int64_t>(s, 0, d) : std::clamp<int64_t>(s, 0, d - 1);
    e = st > 0 ? std::clamp<int64_t>(e, 0, d) : std::clamp<int64_t>(e, -1, d - 1);
    int64_t len = st > 0 ? (e - s + st - 1) / st : (s - e - st - 1) / -st;
    first[ax] = s;
    step[ax] = st;
    out[ax] = std::max<int64_t>(0, len);
  }
  auto strides = strides_of(data.shape);
  return remap(data, out, [&](const std::vector<int64_t>& i) {
    int64_t src = 0;
    for (int64_t k = 0; k < rank; ++k) src += (first[k] + i[k] * step[k]) * strides[k];
    return src;
  });
}

TensorData Loader::fold_binary(const onnx::NodeProto& p) {
  const TensorData& a = *constant(in(p, 0));
  const TensorData& b = *constant(in(p, 1));
  auto out = broadcast_shapes(a.shape, b.shape);
  if (!out)
    malformed(p.op_type() + " of constants " + shape_str(a.shape) + " and " + shape_str(b.shape) +
              " is not broadcastable");
  if (has_sentinel(a) || has_sentinel(b))
    unsupported("shape arithmetic (" + p.op_type() +
                ") on the batch size is not supported (the batch is chosen at run time)");
  const char op = p.op_type() == "Add"   ? '+'
                  : p.op_type() == "Sub" ? '-'
                  : p.op_type() == "Mul" ? '*'
                                         : '/';
  auto index_in = [&](const Shape& s, const std::vector<int64_t>& i) {
    auto st = strides_of(s);
    int64_t src = 0, off = static_cast<int64_t>(out->size() - s.size());
    for (size_t k = 0; k < s.size(); ++k) src += (s[k] == 1 ? 0 : i[k + off]) * st[k];
    return src;
  };
  TensorData ia = remap(a, *out, [&](const auto& i) { return index_in(a.shape, i); });
  TensorData ib = remap(b, *out, [&](const auto& i) { return index_in(b.shape, i); });
  for (int64_t k = 0; k < ia.size(); ++k) {
    if (ia.is_float()) {
      float y = ib.is_float() ? ib.f[k] : static_cast<float>(ib.i[k]);
      float& x = ia.f[k];
      x = op == '+' ? x + y : op == '-' ? x - y : op == '*' ? x * y : x / y;
    } else {
      int64_t y = ib.is_float() ? static_cast<int64_t>(ib.f[k]) : ib.i[k];
      int64_t& x = ia.i[k];
      if (op == '/' && y == 0) malformed("integer division by zero in a constant expression");
      x = op == '+' ? x + y : op == '-' ? x - y : op == '*' ? x * y : x / y;
    }
  }
  return ia;
}

TensorData Loader::fold_reshape(const onnx::NodeProto& p) {
  TensorData t = *constant(in(p, 0));
  auto target = const_ints(p, 1, "shape");
  bool allowzero = Attrs(p).i("allowzero", 0) != 0;
  Shape out(target.size());
  int infer = -1;
  int64_t known = 1;
  for (size_t k = 0; k < target.size(); ++k) {
    out[k] = target[k] == 0 && !allowzero ? t.shape.at(k) : target[k];
    if (out[k] == -1)
      infer = static_cast<int>(k);
    else
      known *= out[k];
  }
  if (infer >= 0) out[infer] = known ? t.size() / known : 0;
  if (numel(out) != t.size())
    malformed("cannot reshape constant " + shape_str(t.shape) + " to " + shape_str(target));
  t.shape = out;
  return t;
}

TensorData Loader::fold_flatten(const onnx::NodeProto& p) {
  TensorData t = *constant(in(p, 0));
  int64_t rank = static_cast<int64_t>(t.shape.size()), axis = Attrs(p).i("axis", 1);
  if (axis < 0) axis += rank;
  int64_t head = 1;
  for (int64_t k = 0; k < axis; ++k) head *= t.shape[k];
  t.shape = {head, head ? t.size() / head : 0};
  return t;
}

TensorData Loader::fold_transpose(const onnx::NodeProto& p) {
  const TensorData& t = *constant(in(p, 0));
  std::vector<int64_t> perm = Attrs(p).ints("perm");
  if (perm.empty())
    for (size_t k = t.shape.size(); k-- > 0;) perm.push_back(static_cast<int64_t>(k));
  Shape out;
  for (int64_t k : perm) out.push_back(t.shape.at(k));
  auto st = strides_of(t.shape);
  return remap(t, out, [&](const std::vector<int64_t>& i) {
    int64_t src = 0;
    for (size_t k = 0; k < perm.size(); ++k) src += i[k] * st[perm[k]];
    return src;
  });
}

TensorData Loader::fold_constant_of_shape(const onnx::NodeProto& p) {
  Shape shape = const_ints(p, 0, "shape");
  int64_t count = 1;
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(count, d, &count) || count > kMaxFoldedElements)
      unsupported("ConstantOfShape of " + shape_str(shape) + " is negative or too large to fold");
  TensorData value = float_tensor({1}, {0.0f});
  if (auto* v = Attrs(p).find("value")) value = decode_tensor(v->t(), file_);
  TensorData r;
  r.dtype = value.dtype;
  r.shape = shape;
  if (r.is_float())
    r.f.assign(numel(shape), value.f.at(0));
  else
    r.i.assign(numel(shape), value.i.at(0));
  return r;
}

// QuantizeLinear / DequantizeLinear of constants (DequantizeLinear of an 8-bit constant never
// gets here: it is a weight, kept as a node). Computed as the reference executor does.
TensorData Loader::fold_quantize(const onnx::NodeProto& p) {
  const bool q = p.op_type() == "QuantizeLinear";
  const TensorData& x = *constant(in(p, 0));
  const TensorData& scale = *constant(in(p, 1));
  const TensorData* zp = in(p, 2).empty() ? nullptr : constant(in(p, 2));
  if (!scale.is_float() || (zp && zp->is_float()) || (q != x.is_float()))
    malformed(p.op_type() + " of constants with input type " + dtype_name(x.dtype) + ", scale " +
              dtype_name(scale.dtype) + ", zero point " + (zp ? dtype_name(zp->dtype) : "absent"));
  int64_t inner = x.size(), channels = scale.size();
  if (channels > 1) {
    int64_t rank = static_cast<int64_t>(x.shape.size()), axis = Attrs(p).i("axis", 1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank || x.shape[axis] != channels)
      malformed(std::to_string(channels) + " scales do not fit " + shape_str(x.shape));
    inner = numel(Shape(x.shape.begin() + axis + 1, x.shape.end()));
  }
  if (zp && zp->size() != channels) malformed("zero point and scale differ in size");
  if (q && zp && zp->dtype != DType::kUInt8 && zp->dtype != DType::kInt8)
    malformed("zero point '" + in(p, 2) + "' is " + dtype_name(zp->dtype) +
              ", expected uint8 or int8");
  TensorData r;
  r.dtype = q ? (zp ? zp->dtype : DType::kUInt8) : DType::kFloat;
  r.shape = x.shape;
  for (int64_t k = 0; k < x.size(); ++k) {
    const int64_t c = channels > 1 ? (k / inner) % channels : 0, z = zp ? zp->i[c] : 0;
    if (q)
      r.i.push_back(quantize_value(x.f[k], scale.f[c], z, r.dtype));
    else
      r.f.push_back(static_cast<float>(x.i[k] - z) * scale.f[c]);
  }
  return r;
}

Graph load_model(const std::string& bytes, const std::string& source, const LoadOptions& options) {
  onnx::ModelProto m;
  if (!m.ParseFromString(bytes) || (!m.has_graph() && m.ir_version() == 0))
    throw ModelError(source, "", "not a valid ONNX model (truncated or corrupt protobuf)");
  return Loader(source, options).load(m);
}

}  // namespace

const std::vector<std::string>& supported_onnx_ops() { return kSupportedOps; }

Graph load_onnx_bytes(const std::string& bytes, const std::string& source_name) {
  return load_model(bytes, source_name, LoadOptions{});
}

Graph load_onnx_bytes(const std::string& bytes, const std::string& source_name,
                      const LoadOptions& options) {
  return load_model(bytes, source_name, options);
}

Graph load_onnx(const std::string& path) {
  return load_model(read_file(path), path, LoadOptions{});
}

Graph load_onnx(const std::string& path, const LoadOptions& options) {
  return load_model(read_file(path), path, options);
}

TensorData read_tensor_proto(const std::string& path) {
  std::string bytes = read_file(path);
  onnx::TensorProto t;
  if (!t.ParseFromString(bytes)) throw DataError(path, "not a serialized onnx TensorProto");
  return decode_tensor(t, path);
}

}  // namespace autocompress
