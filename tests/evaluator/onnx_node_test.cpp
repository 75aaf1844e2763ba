// The ONNX backend conformance harness: every case of the ONNX backend test suite
// (libonnx-testdata: node/*, plus the 2-D layers of pytorch-converted/*) whose ops the loader
// accepts becomes one test, Node/OnnxNode.Run/<case directory>. Each loads model.onnx with
// load_onnx_bytes and concrete shapes (LoadOptions::symbolic_batch false: the cases are concrete
// models with concrete data, and many of them compute over dim 0), runs the reference executor
// and the oneDNN evaluator on test_data_set_*/input_*.pb and compares with output_*.pb. Models
// older than opset 9 are first converted with ONNX's version converter; graph inputs our IR wants
// constant (weights, Clip bounds, pads, shapes, axes, indices) get their test values embedded as
// initializers, every other input is fed at run time.
//
// Refused before the tests run (not instantiated; OnnxNodeScope.EveryRefusalIsByDesign checks the
// reasons), with the reason as "[category] details": inputs or outputs other than float32 and the
// uint8 / int8 of quantized tensors ([non-float dtype]), training mode ([training mode]), and
// whatever the loader rejects with UnsupportedError: integer tensors read by other ops than
// DequantizeLinear ([non-float dtype]), 1-D and 3-D tensors ([1-D/3-D tensors]), ops or op forms
// outside the canonical op set ([outside the op set]: Gather / Slice of activations, Gemm with
// transA or a matrix bias, MatMul of 4-D activations), graphs without anything to compute
// ([nothing to compute]: an output that is the input, a graph without inputs), anything else
// ([other unsupported], a failure). Any other exception is a failure, and its message
// says whether the loader, the reference or the oneDNN evaluator threw it.
#include <fnmatch.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <onnx/version_converter/convert.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "evaluator/onednn_executor.hpp"
#include "evaluator/reference.hpp"
#include "model/onnx_io.hpp"

namespace autocompress {
namespace {

namespace fs = std::filesystem;

// The backend test data of Debian's libonnx-testdata; AC_ONNX_TESTDATA overrides it.
fs::path testdata_root() {
  const char* env = std::getenv("AC_ONNX_TESTDATA");
  return env ? fs::path(env) : fs::path("/usr/share/libonnx-testdata/data");
}

// The pytorch-converted cases we run: the 2-D layers our canonical IR covers.
const char* const kPytorchCases[] = {
    "test_Conv2d*",    "test_BatchNorm2d_eval", "test_BatchNorm2d_momentum_eval",
    "test_AvgPool2d*", "test_MaxPool2d*",       "test_ReLU",
    "test_LeakyReLU*", "test_Linear*",          "test_Sigmoid",
    "test_Softmax",    "test_ZeroPad2d",        "test_ConstantPad2d",
};

struct Case {
  std::string name;  // the case directory's name, which is also the test's name
  fs::path dir;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.dir.string(); }

onnx::ModelProto read_model(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  onnx::ModelProto model;
  if (!in || !model.ParseFromIstream(&in)) throw IoError(path.string(), "cannot parse as ONNX");
  return model;
}

bool all_ops_supported(const onnx::ModelProto& model) {
  const auto& ops = supported_onnx_ops();
  for (const auto& n : model.graph().node())
    if (std::find(ops.begin(), ops.end(), n.op_type()) == ops.end()) return false;
  return true;
}

std::vector<Case> discover_cases() {
  const fs::path root = testdata_root();
  std::vector<Case> cases;
  auto consider = [&](const fs::path& dir) {
    if (!fs::exists(dir / "model.onnx")) return;
    try {
      if (all_ops_supported(read_model(dir / "model.onnx")))
        cases.push_back({dir.filename().string(), dir});
    } catch (const Error&) {  // unreadable model: not a case we can register
    }
  };
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root / "node", ec)) consider(e.path());
  for (const auto& e : fs::directory_iterator(root / "pytorch-converted", ec)) {
    const std::string name = e.path().filename().string();
    for (const char* pattern : kPytorchCases)
      if (fnmatch(pattern, name.c_str(), 0) == 0) {
        consider(e.path());
        break;
      }
  }
  std::sort(cases.begin(), cases.end(),
            [](const Case& a, const Case& b) { return a.name < b.name; });
  return cases;
}

// ---- preparing a case -------------------------------------------------------------------------

// Input slots our canonical IR takes as constants (weights, bounds, pads, shapes, axes, and the
// indices / bounds of the load-time-only Gather and Slice): graph inputs feeding them get their
// test values embedded as initializers.
bool is_constant_slot(const std::string& op, int slot) {
  static const std::map<std::string, std::set<int>> kSlots = {
      {"Conv", {1, 2}},
      {"Gemm", {1, 2}},
      {"MatMul", {1}},
      {"BatchNormalization", {1, 2, 3, 4}},
      {"Clip", {1, 2}},
      {"Pad", {1, 2, 3}},
      {"Reshape", {1}},
      {"Squeeze", {1}},
      {"Unsqueeze", {1}},
      {"Dropout", {1, 2}},
      {"ReduceMean", {1}},
      {"Gather", {1}},
      {"Slice", {1, 2, 3, 4}},
      {"QuantizeLinear", {1, 2}},
      {"DequantizeLinear", {1, 2}},
      {"QLinearConv", {1, 2, 3, 4, 5, 6, 7, 8}},
  };
  auto it = kSlots.find(op);
  return it != kSlots.end() && it->second.count(slot);
}

// A test_data_set_* turned into what load_onnx_bytes and Executor::run take.
struct Prepared {
  onnx::ModelProto model;                  // with constant-like inputs embedded
  std::map<std::string, HostTensor> feed;  // values of the remaining graph inputs, by name
  std::vector<std::pair<std::string, TensorData>> expected;  // graph outputs in order
};

onnx::TensorProto read_tensor_raw(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  onnx::TensorProto t;
  if (!in || !t.ParseFromIstream(&in)) throw IoError(path.string(), "cannot parse as TensorProto");
  return t;
}

HostTensor to_host(const TensorData& t) {
  HostTensor h{t.shape, t.f};
  if (!t.is_float()) h.data.assign(t.i.begin(), t.i.end());
  return h;
}

// float32, or uint8 / int8 (QuantizeLinear's outputs, DequantizeLinear's inputs), which
// HostTensor carries as integer-valued floats (executor.hpp).
bool is_float_tensor(const onnx::TypeProto& t) {
  if (!t.has_tensor_type()) return false;
  const int type = t.tensor_type().elem_type();
  return type == onnx::TensorProto::FLOAT || type == onnx::TensorProto::UINT8 ||
         type == onnx::TensorProto::INT8;
}

// How a case's graph inputs are fed, decided from the model alone.
struct InputPlan {
  std::vector<const onnx::ValueInfoProto*> inputs;  // those the test data gives, in order
  std::set<std::string> embed;                      // inputs that become initializers
};

// Embedded are the inputs feeding a constant slot; all others stay graph inputs, fed with their
// test values (shapes are concrete, so any float32 input of any shape can be fed).
InputPlan plan_inputs(const onnx::GraphProto& g) {
  InputPlan plan;
  std::set<std::string> initializers;
  for (const auto& t : g.initializer()) initializers.insert(t.name());
  for (const auto& v : g.input())
    if (!initializers.count(v.name())) plan.inputs.push_back(&v);
  for (const auto* v : plan.inputs)
    for (const auto& n : g.node())
      for (int k = 0; k < n.input_size(); ++k)
        if (n.input(k) == v->name() && is_constant_slot(n.op_type(), k))
          plan.embed.insert(v->name());
  return plan;
}

// Why the case cannot be run by design ("[category] details"), if so.
std::optional<std::string> refused_by_design(const onnx::GraphProto& g, const InputPlan& plan) {
  for (const auto* v : plan.inputs)
    if (!v->type().has_tensor_type())
      return "[non-float dtype] input '" + v->name() + "' is not a tensor";
  for (const auto* v : plan.inputs)
    if (!plan.embed.count(v->name()) && !is_float_tensor(v->type()))
      return "[non-float dtype] input '" + v->name() + "'";
  for (const auto& v : g.output())
    if (!is_float_tensor(v.type())) return "[non-float dtype] output '" + v.name() + "'";
  for (const auto& n : g.node()) {
    if (n.op_type() != "BatchNormalization") continue;
    bool training = n.output_size() > 1 && !n.output(1).empty();
    for (const auto& a : n.attribute()) training |= a.name() == "training_mode" && a.i() != 0;
    if (training) return "[training mode] BatchNormalization node '" + n.name() + "'";
  }
  return std::nullopt;
}

Prepared prepare(const onnx::ModelProto& original, const InputPlan& plan, const fs::path& set_dir) {
  Prepared p{original, {}, {}};
  onnx::GraphProto& g = *p.model.mutable_graph();
  for (size_t k = 0; k < plan.inputs.size(); ++k) {
    const fs::path pb = set_dir / ("input_" + std::to_string(k) + ".pb");
    const std::string& name = plan.inputs[k]->name();
    if (!plan.embed.count(name)) {
      p.feed[name] = to_host(read_tensor_proto(pb.string()));
      continue;
    }
    onnx::TensorProto t = read_tensor_raw(pb);
    t.set_name(name);
    *g.add_initializer() = t;
  }
  // From IR version 4 on initializers need not (and here must not) be graph inputs.
  if (p.model.ir_version() >= 4) {
    google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> kept;
    for (const auto& v : g.input())
      if (!plan.embed.count(v.name())) *kept.Add() = v;
    g.mutable_input()->Swap(&kept);
  }
  for (int k = 0; k < g.output_size(); ++k)
    p.expected.emplace_back(
        g.output(k).name(),
        read_tensor_proto((set_dir / ("output_" + std::to_string(k) + ".pb")).string()));
  return p;
}

// The category of a loader refusal, from its message.
std::string refusal_category(const UnsupportedError& e) {
  const std::string m = e.what();
  auto has = [&](const char* s) { return m.find(s) != std::string::npos; };
  for (const char* s : {"1-D", "3-D", "rank"})
    if (has(s)) return "[1-D/3-D tensors] ";
  if (has("training")) return "[training mode] ";
  if (has("integer tensors are read only by DequantizeLinear")) return "[non-float dtype] ";
  if (has("nothing to compute") || has("has no (non-constant) input"))
    return "[nothing to compute] ";
  if (has("is only supported on constants and shapes") || has("Gemm with transA") ||
      has("Gemm bias C of shape") || has("MatMul of a"))
    return "[outside the op set] ";
  return "[other unsupported] ";
}

// ---- comparing --------------------------------------------------------------------------------

// Tolerance: max |got - expected| <= 1e-4 * max(1, max |expected|) over each output tensor.
void expect_close(const std::string& who, const std::string& name, const HostTensor& got,
                  const TensorData& want) {
  const HostTensor w = to_host(want);
  ASSERT_EQ(shape_str(got.shape), shape_str(w.shape)) << who << ": output '" << name << "'";
  double scale = 1, worst = 0;
  size_t worst_at = 0;
  for (float v : w.data) scale = std::max(scale, double(std::fabs(v)));
  for (size_t k = 0; k < w.data.size(); ++k) {
    double err = std::fabs(double(got.data[k]) - w.data[k]);
    if (std::isnan(got.data[k]) && std::isnan(w.data[k])) err = 0;
    if (std::isnan(err)) err = std::numeric_limits<double>::infinity();
    if (err > worst) worst = err, worst_at = k;
  }
  EXPECT_LE(worst, 1e-4 * scale) << who << ": output '" << name << "' element " << worst_at
                                 << " is " << got.data[worst_at] << ", expected "
                                 << w.data[worst_at];
}

// Runs `executor` on p.feed (in the order of g.inputs) and compares every graph output.
void run_and_compare(const std::string& who, const Graph& g, Executor& executor,
                     const Prepared& p) {
  std::vector<HostTensor> inputs;
  for (const auto& name : g.inputs) {
    auto it = p.feed.find(name);
    ASSERT_NE(it, p.feed.end()) << "loader: graph input '" << name << "' is not a model input";
    inputs.push_back(it->second);
  }
  std::vector<HostTensor> outputs;
  try {
    outputs = executor.run(inputs);
  } catch (const std::exception& e) {
    FAIL() << who << " threw: " << e.what();
  }
  ASSERT_EQ(outputs.size(), g.outputs.size()) << who;
  ASSERT_EQ(g.outputs.size(), p.expected.size()) << "loader: graph outputs differ from the model's";
  for (size_t k = 0; k < outputs.size(); ++k) {
    ASSERT_EQ(g.outputs[k], p.expected[k].first) << "loader: output " << k << " renamed";
    expect_close(who, g.outputs[k], outputs[k], p.expected[k].second);
  }
}

// The batch the oneDNN plan is compiled for: dim 0 of the first input (shapes are concrete, so
// this only picks the plan run() uses), at least 1 as compile() requires (a zero-size dim 0 gets
// its own plan at run time).
int64_t batch_of(const Graph& g, const Prepared& p) {
  if (g.inputs.empty()) return 1;
  auto it = p.feed.find(g.inputs[0]);
  return it == p.feed.end() || it->second.shape.empty() ? 1
                                                        : std::max<int64_t>(1, it->second.shape[0]);
}

// Runs the reference executor and the oneDNN evaluator on `g` and compares with the expected
// outputs; `mode` tells in messages which loading of the model `g` is.
void run_both(const std::string& mode, const Graph& g, const Prepared& p) {
  std::unique_ptr<Executor> reference;
  try {
    reference = make_reference_executor(g);
  } catch (const std::exception& e) {
    FAIL() << "reference" << mode << " threw: " << e.what();
  }
  run_and_compare("reference" + mode, g, *reference, p);
  if (testing::Test::HasFatalFailure()) return;
  // Every case also runs the oneDNN evaluator at the same tolerance.
  std::unique_ptr<Executor> onednn;
  try {
    onednn = compile(g, CompileOptions{batch_of(g, p), 1});
  } catch (const std::exception& e) {
    FAIL() << "oneDNN" << mode << " compile threw: " << e.what();
  }
  run_and_compare("oneDNN" + mode, g, *onednn, p);
}

// The case is loaded with concrete shapes, then, when the symbolic batch rule accepts it too, once
// more with the default symbolic batch: both loadings must compute the expected outputs on both
// executors. Discovery kept only cases whose first data set the loader accepts, so a refusal here
// is a failure.
void run_data_set(const std::string& case_name, const onnx::ModelProto& model,
                  const InputPlan& plan, const fs::path& dir, const fs::path& set_dir) {
  const Prepared p = prepare(model, plan, set_dir);
  const std::string bytes = p.model.SerializeAsString(), source = (dir / "model.onnx").string();
  Graph g;
  try {
    g = load_onnx_bytes(bytes, source, LoadOptions{.symbolic_batch = false});
  } catch (const std::exception& e) {
    FAIL() << "loader threw on " << case_name << ": " << e.what();
  }
  run_both("", g, p);
  if (testing::Test::HasFatalFailure()) return;
  Graph batched;
  try {
    batched = load_onnx_bytes(bytes, source);
  } catch (const UnsupportedError&) {
    return;  // computes over the batch dimension: concrete shapes only
  } catch (const std::exception& e) {
    FAIL() << "loader (symbolic batch) threw on " << case_name << ": " << e.what();
  }
  run_both(" (symbolic batch)", batched, p);
}

// The loader reads opsets 9-17; older models (pytorch-converted are opset 6) are first brought
// to opset 9 with ONNX's own version converter.
onnx::ModelProto at_least_opset_9(onnx::ModelProto model) {
  for (const auto& o : model.opset_import())
    if ((o.domain().empty() || o.domain() == "ai.onnx") && o.version() < 9)
      return onnx::version_conversion::ConvertVersion(model, 9);
  return model;
}

std::vector<fs::path> data_sets(const fs::path& dir) {
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0)
      sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  return sets;
}

// The candidate cases split, before any test runs, into those the tool runs (each a test that
// must pass) and those it refuses by design, each with its reason as "[category] details": by the
// model alone (refused_by_design) or by the loader's UnsupportedError on the first data set. A case
// the harness cannot even read or prepare stays a test, which then fails.
struct Discovery {
  std::vector<Case> runnable;
  std::vector<std::pair<std::string, std::string>> refused;  // case name, reason
};

std::optional<std::string> refusal(const Case& c) {
  try {
    const onnx::ModelProto model = at_least_opset_9(read_model(c.dir / "model.onnx"));
    const InputPlan plan = plan_inputs(model.graph());
    if (auto why = refused_by_design(model.graph(), plan)) return why;
    const auto sets = data_sets(c.dir);
    if (sets.empty()) return std::nullopt;
    const Prepared p = prepare(model, plan, sets.front());
    load_onnx_bytes(p.model.SerializeAsString(), (c.dir / "model.onnx").string(),
                    LoadOptions{.symbolic_batch = false});
  } catch (const UnsupportedError& e) {
    return refusal_category(e) + e.what();
  } catch (const std::exception&) {  // the test reports it
  }
  return std::nullopt;
}

const Discovery& discovery() {
  static const Discovery d = [] {
    Discovery d;
    for (const Case& c : discover_cases()) {
      if (auto why = refusal(c))
        d.refused.emplace_back(c.name, *why);
      else
        d.runnable.push_back(c);
    }
    return d;
  }();
  return d;
}

class OnnxNode : public testing::TestWithParam<Case> {};

TEST_P(OnnxNode, Run) {
  const Case& c = GetParam();
  onnx::ModelProto model;
  try {
    model = at_least_opset_9(read_model(c.dir / "model.onnx"));
  } catch (const std::exception& e) {
    FAIL() << "harness: cannot read or convert the model to opset 9: " << e.what();
  }
  const InputPlan plan = plan_inputs(model.graph());
  const auto sets = data_sets(c.dir);
  ASSERT_FALSE(sets.empty()) << c.dir << " has no test_data_set_*";
  for (const auto& set : sets) {
    SCOPED_TRACE(set.filename().string());
    run_data_set(c.name, model, plan, c.dir, set);
    if (HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Node, OnnxNode, testing::ValuesIn(discovery().runnable),
                         [](const testing::TestParamInfo<Case>& info) { return info.param.name; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(OnnxNode);

// ---- what is refused --------------------------------------------------------------------------

// "[category] details" -> "category"
std::string category_of(const std::string& reason) {
  const auto open = reason.find('['), close = reason.find(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return "unstated";
  return reason.substr(open + 1, close - open - 1);
}

// Every refused case is refused for a reason of the tool's design: dtypes other than float32 and
// quantized uint8 / int8, training mode, 1-D / 3-D tensors, ops or op forms outside the canonical
// op set, graphs with nothing to compute. A refusal for any other reason (an UnsupportedError the
// categories do not know) fails, naming the case. Prints the counts by reason.
TEST(OnnxNodeScope, EveryRefusalIsByDesign) {
  const Discovery& d = discovery();
  if (d.runnable.empty() && d.refused.empty())
    GTEST_SKIP() << "no ONNX backend test data under " << testdata_root();
  static const std::set<std::string> kByDesign = {"non-float dtype", "training mode",
                                                  "1-D/3-D tensors", "outside the op set",
                                                  "nothing to compute"};
  std::map<std::string, int> reasons;
  for (const auto& [name, why] : d.refused) {
    ++reasons[category_of(why)];
    EXPECT_TRUE(kByDesign.count(category_of(why))) << name << ": " << why;
  }
  std::ostringstream out;
  out << "onnx node conformance: " << d.runnable.size() << " cases run, " << d.refused.size()
      << " refused (";
  bool first = true;
  for (const auto& [why, n] : reasons) out << (first ? "" : ", ") << why << " " << n, first = false;
  out << ")\n";
  std::cout << out.str() << std::flush;
  // The suite covers the canonical op set: far more cases run than the handful of op types.
  EXPECT_GE(d.runnable.size(), 100u);
}

}  // namespace
}  // namespace autocompress
