// Real models (the example CNN, torchvision fixtures) and the ONNX backend node test suite
// (Debian libonnx-testdata): every node model whose ops we list as supported must either load or
// be refused with UnsupportedError and a reason, never crash or fail otherwise.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/error.hpp"
#include "tests/model/model_test_util.hpp"

namespace autocompress {
namespace {

namespace fs = std::filesystem;
using namespace ac_test;

const fs::path kSource = AC_SOURCE_DIR;
const fs::path kNodeTests = "/usr/share/libonnx-testdata/data/node";

std::map<std::string, int> op_counts(const Graph& g) {
  std::map<std::string, int> r;
  for (const auto& n : g.nodes) ++r[n.op];
  return r;
}

// ---- real models ----

TEST(OnnxRealModels, Resnet18) {
  fs::path path = kSource / "tests/fixtures/resnet18_32.onnx";
  if (!fs::exists(path))
    GTEST_SKIP() << path << " not generated (tests/fixtures/make_torchvision.py)";
  Graph g = load_onnx(path.string());
  auto ops = op_counts(g);
  EXPECT_EQ(ops["Conv"], 20);
  EXPECT_EQ(ops["BatchNormalization"], 20);
  EXPECT_EQ(ops["Relu"], 17);
  EXPECT_EQ(ops["Add"], 8);
  EXPECT_EQ(ops["MaxPool"], 1);
  EXPECT_EQ(ops["GlobalAveragePool"], 1);
  EXPECT_EQ(ops["Flatten"], 1);
  EXPECT_EQ(ops["Gemm"], 1);
  EXPECT_EQ(g.nodes.size(), 69u);
  EXPECT_EQ(g.value(g.inputs.at(0)).shape, (Shape{kBatch, 3, 32, 32}));
  EXPECT_EQ(g.value(g.outputs.at(0)).shape, (Shape{kBatch, 10}));
  auto layers = weighted_layers(g);
  ASSERT_EQ(layers.size(), 21u);
  // conv1: 64 x 3 x 7x7, stride 2, pad 3 on 32x32 -> 16x16 outputs
  EXPECT_EQ(layers[0].name, "/conv1/Conv");
  EXPECT_EQ(layers[0].output, (Shape{kBatch, 64, 16, 16}));
  EXPECT_EQ(layers[0].macs, 64LL * 3 * 7 * 7 * 16 * 16);
  EXPECT_EQ(layers[0].params, 64 * 3 * 7 * 7);
  EXPECT_EQ(layers.back().op, "Gemm");
  EXPECT_EQ(layers.back().macs, 512 * 10);
  const Node* pool = nodes_of(g, "MaxPool").at(0);
  EXPECT_EQ(pool->ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(g.value(pool->outputs[0]).shape, (Shape{kBatch, 64, 8, 8}));
  const Node* bn = nodes_of(g, "BatchNormalization").at(0);
  EXPECT_FLOAT_EQ(bn->f("epsilon"), 1e-5f);
  // round trip through the writer
  Graph h = load_onnx_bytes(to_onnx_bytes(g), "resnet_saved.onnx");
  EXPECT_EQ(op_counts(h), ops);
}

TEST(OnnxRealModels, MobilenetV2) {
  fs::path path = kSource / "tests/fixtures/mobilenet_v2_64.onnx";
  if (!fs::exists(path))
    GTEST_SKIP() << path << " not generated (tests/fixtures/make_torchvision.py)";
  Graph g = load_onnx(path.string());
  auto ops = op_counts(g);
  EXPECT_EQ(ops["Conv"], 52);
  EXPECT_EQ(ops["BatchNormalization"], 52);
  EXPECT_EQ(ops["Clip"], 35);
  EXPECT_EQ(ops["Add"], 10);
  EXPECT_EQ(ops["Gemm"], 1);
  EXPECT_EQ(ops.count("Constant"), 0u);
  EXPECT_EQ(g.nodes.size(), 152u);
  for (const Node* c : nodes_of(g, "Clip")) {
    EXPECT_EQ(c->f("min"), 0.0f);
    EXPECT_EQ(c->f("max"), 6.0f);
    EXPECT_EQ(c->inputs.size(), 1u);
  }
  auto layers = weighted_layers(g);
  ASSERT_EQ(layers.size(), 53u);
  // features.0: 32 x 3 x 3x3, stride 2, pad 1 on 64x64 -> 32x32
  EXPECT_EQ(layers[0].output, (Shape{kBatch, 32, 32, 32}));
  EXPECT_EQ(layers[0].macs, 32LL * 3 * 3 * 3 * 32 * 32);
  // features.1's depthwise conv: group == channels, 9 MACs per output element
  const Node& dw = *nodes_of(g, "Conv").at(1);
  EXPECT_EQ(dw.i("group"), 32);
  EXPECT_EQ(node_macs(g, dw), 32LL * 9 * 32 * 32);
  EXPECT_EQ(g.value(g.outputs.at(0)).shape, (Shape{kBatch, 10}));
}

TEST(OnnxRealModels, FashionCnn) {
  fs::path path = kSource / "examples/fashion_cnn.onnx";
  if (!fs::exists(path)) GTEST_SKIP() << path << " not generated yet (examples/train_fashion.py)";
  Graph g = load_onnx(path.string());
  auto ops = op_counts(g);
  EXPECT_EQ(ops["Conv"], 7);
  EXPECT_EQ(ops["BatchNormalization"], 7);  // exported with BN kept (not folded into the convs)
  EXPECT_EQ(ops["Relu"], 8);
  EXPECT_EQ(ops["Add"], 1);
  EXPECT_EQ(ops["MaxPool"], 3);
  EXPECT_EQ(ops["Flatten"], 1);
  EXPECT_EQ(ops["Gemm"], 2);
  EXPECT_EQ(g.nodes.size(), 29u);  // Dropout and torch's Identity nodes are gone
  EXPECT_TRUE(g.metadata.count("autocompress.normalize.mean"));
  EXPECT_EQ(g.value(g.inputs.at(0)).shape, (Shape{kBatch, 1, 28, 28}));
  EXPECT_EQ(g.value(g.outputs.at(0)).shape, (Shape{kBatch, 10}));
  auto layers = weighted_layers(g);
  ASSERT_EQ(layers.size(), 9u);
  // stem: 32 x 1 x 3x3, pad 1 on 28x28
  EXPECT_EQ(layers[0].macs, 32LL * 9 * 28 * 28);
  EXPECT_EQ(layers[7].macs, 128 * 128 * 3 * 3);  // fc1: 1152 -> 128
  EXPECT_EQ(layers[8].macs, 128 * 10);
}

// ---- the ONNX backend node tests ----

struct Outcome {
  std::string kind;  // "loaded", "unsupported", "FAILED"
  std::string message;
};

template <class F>
Outcome try_load(F&& f) {
  try {
    f();
    return {"loaded", ""};
  } catch (const UnsupportedError& e) {
    return {"unsupported", e.what()};
  } catch (const std::exception& e) {
    return {"FAILED", std::string(typeid(e).name()) + ": " + e.what()};
  }
}

// The test data inputs 1.. of the case, by graph input name (the weights of a Conv, Gemm, ...).
std::map<std::string, onnx::TensorProto> weight_inputs(const onnx::ModelProto& m,
                                                       const fs::path& dir) {
  std::map<std::string, onnx::TensorProto> r;
  for (int k = 1; k < m.graph().input_size(); ++k) {
    fs::path pb = dir / "test_data_set_0" / ("input_" + std::to_string(k) + ".pb");
    std::ifstream in(pb, std::ios::binary);
    onnx::TensorProto t;
    if (in && t.ParseFromIstream(&in)) r[m.graph().input(k).name()] = t;
  }
  return r;
}

// save_onnx then load_onnx gives the same ops and shapes.
void expect_round_trip(const Graph& g, const std::string& name) {
  Graph h;
  try {
    h = load_onnx_bytes(to_onnx_bytes(g), name + " (saved)");
  } catch (const std::exception& e) {
    ADD_FAILURE() << name << ": round trip failed: " << e.what();
    return;
  }
  ASSERT_EQ(h.nodes.size(), g.nodes.size()) << name;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    EXPECT_EQ(h.nodes[k].op, g.nodes[k].op) << name;
    EXPECT_EQ(h.nodes[k].attrs, g.nodes[k].attrs) << name;
    for (const auto& o : g.nodes[k].outputs) EXPECT_EQ(h.value(o).shape, g.value(o).shape) << name;
  }
}

TEST(OnnxBackendNodeTests, SupportedOpsLoadOrAreRefusedWithAReason) {
  if (!fs::exists(kNodeTests)) GTEST_SKIP() << kNodeTests << " missing (package libonnx-testdata)";
  const auto& supported = supported_onnx_ops();
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(kNodeTests)) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  int candidates = 0, loaded = 0, loaded_baked = 0, refused = 0;
  std::ostringstream report;
  for (const auto& dir : dirs) {
    fs::path model = dir / "model.onnx";
    onnx::ModelProto m;
    std::ifstream in(model, std::ios::binary);
    if (!in || !m.ParseFromIstream(&in)) continue;
    bool all_supported = m.graph().node_size() > 0;
    for (const auto& n : m.graph().node())
      all_supported =
          all_supported && std::binary_search(supported.begin(), supported.end(), n.op_type());
    if (!all_supported) continue;
    ++candidates;
    std::string name = dir.filename().string();
    Outcome raw = try_load([&] { load_onnx(model.string()); });
    EXPECT_NE(raw.kind, "FAILED") << name << ": " << raw.message;
    if (raw.kind == "unsupported") {
      EXPECT_GT(raw.message.size(), model.string().size() + 10) << name;
    }
    if (raw.kind == "loaded") {
      ++loaded;
      expect_round_trip(load_onnx(model.string()), name);
      continue;
    }
    // The suite declares weights as graph inputs: retry with inputs 1.. baked in as initializers.
    Outcome baked{"unsupported", raw.message};
    if (m.graph().input_size() > 1) {
      onnx::ModelProto b = m;
      bake_inputs(b, weight_inputs(m, dir));
      baked = try_load([&] { load_onnx_bytes(b.SerializeAsString(), model.string()); });
      EXPECT_NE(baked.kind, "FAILED") << name << " (weights baked): " << baked.message;
    }
    if (baked.kind == "loaded") {
      ++loaded_baked;
      onnx::ModelProto b = m;
      bake_inputs(b, weight_inputs(m, dir));
      expect_round_trip(load_onnx_bytes(b.SerializeAsString(), name), name);
      report << "  " << name << ": loads once its weight inputs are initializers\n";
    } else {
      ++refused;
      std::string why =
          baked.message.substr(std::min(baked.message.size(), model.string().size() + 2));
      report << "  " << name << ": " << why << "\n";
    }
  }
  std::cout << "[ node tests ] " << candidates << " models use only supported ops: " << loaded
            << " load, " << loaded_baked << " load with weights baked in, " << refused
            << " refused (UnsupportedError)\n"
            << report.str();
  EXPECT_GT(candidates, 100);
  EXPECT_GT(loaded + loaded_baked, 100);
}

TEST(OnnxBackendNodeTests, ReadTensorProtoOfTestData) {
  fs::path dir = kNodeTests / "test_relu" / "test_data_set_0";
  if (!fs::exists(dir)) GTEST_SKIP() << dir << " missing (package libonnx-testdata)";
  TensorData x = read_tensor_proto((dir / "input_0.pb").string());
  TensorData y = read_tensor_proto((dir / "output_0.pb").string());
  ASSERT_EQ(x.shape, (Shape{3, 4, 5}));
  ASSERT_EQ(y.shape, x.shape);
  for (int64_t k = 0; k < x.size(); ++k) EXPECT_EQ(y.f[k], std::max(0.0f, x.f[k]));
}

}  // namespace
}  // namespace autocompress
