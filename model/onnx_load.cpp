// ONNX -> canonical Graph: the loader that ties the stages. It works in one pass over the
// topologically sorted ONNX nodes: constants are folded as soon as all inputs of a node are known
// (onnx_fold), every other node is rewritten to its canonical form (onnx_canonicalize, onnx_qdq)
// and its output shapes are inferred at once, so each canonicalization can use the concrete
// shapes of its inputs (auto_pad, Reshape targets, ...). The graph-level passes before and after
// that pass are in onnx_structure; the state they share in onnx_context.
//
// The batch: with LoadOptions::symbolic_batch (the default) dim 0 of the graph inputs becomes the
// symbolic batch kBatch by the rule documented at LoadOptions (onnx_io.hpp); read_inputs applies
// it, and inside folded shape computations (torch's Shape -> Gather -> Unsqueeze -> Concat ->
// Reshape) the batch is carried as kBatchSentinel. Without it every shape is the file's concrete
// shape: no kBatch and no sentinel ever appear, so the stages' batch checks never fire.
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <stdexcept>

#include "common/error.hpp"
#include "common/file.hpp"
#include "model/onnx_canonicalize.hpp"
#include "model/onnx_context.hpp"
#include "model/onnx_fold.hpp"
#include "model/onnx_io.hpp"
#include "model/onnx_structure.hpp"
#include "model/onnx_tensor.hpp"

namespace autocompress {
namespace {

using namespace onnx_loader;

std::string read_model_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw IoError(path, "cannot open: no such file");
  return read_file(path);
}

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

// Constants are folded as soon as all inputs of a node are known; every other node is
// canonicalized.
void process(LoadContext& ctx, const onnx::NodeProto& p) {
  const std::string& op = p.op_type();
  if (op == "Constant") {
    ctx.consts[p.output(0)] = constant_node(ctx, p);
    return;
  }
  bool all_const = true, any_input = false;
  for (const auto& t : p.input()) {
    if (t.empty()) continue;
    any_input = true;
    all_const = all_const && ctx.constant(ctx.resolve(t)) != nullptr;
  }
  // DequantizeLinear of an 8-bit constant is how quantized weights are represented (graph.hpp):
  // kept as a node, never folded.
  if (op == "DequantizeLinear" && all_const) {
    const DType t = ctx.constant(ctx.in(p, 0))->dtype;
    all_const = t != DType::kInt8 && t != DType::kUInt8;
  }
  if (op == "Shape" || (any_input && all_const && can_fold(op))) {
    try {
      ctx.consts[p.output(0)] = fold(ctx, p);
    } catch (const std::length_error& e) {
      ctx.unsupported(e.what());
    }
    return;
  }
  if (is_fold_only(op))
    ctx.unsupported("op '" + op +
                    "' is only supported on constants and shapes (shape computations folded at "
                    "load time); here it reads the activation '" +
                    ctx.in(p, 0) + "'");
  if (any_input && all_const && op != "Identity" && op != "Dropout")
    ctx.unsupported("all inputs of this '" + op + "' are constants, but the loader cannot fold '" +
                    op + "'");
  canonicalize(ctx, p);
}

Graph load(LoadContext& ctx, onnx::ModelProto& m) {
  check_opset(ctx, m);
  onnx::GraphProto& gp = *m.mutable_graph();
  check_ops(ctx, gp);
  sort_nodes(ctx, gp);
  try {
    onnx::checker::check_model(m);
  } catch (const std::exception& e) {  // onnx::checker::ValidationError and protobuf/std errors
    throw ModelError(ctx.file, "", std::string("ONNX checker: ") + e.what());
  }
  ctx.g.name = gp.name();
  ctx.g.opset = ctx.opset;
  ctx.g.source = ctx.file;
  for (const auto& kv : m.metadata_props()) ctx.g.metadata[kv.key()] = kv.value();
  ctx.ours = m.producer_name() == "autocompress";
  read_initializers(ctx, gp);
  read_inputs(ctx, gp);
  count_uses(ctx, gp);
  find_bf16_pairs(ctx, gp);
  for (int k = 0; k < gp.node_size(); ++k) {
    ctx.cur = &gp.node(k);
    ctx.cur_name = display_name(gp.node(k), k);
    process(ctx, gp.node(k));
  }
  ctx.cur = nullptr;
  ctx.cur_name.clear();
  bind_outputs(ctx, gp);
  fuse_softmax_reshapes(ctx);
  remove_dead_nodes(ctx);
  name_nodes(ctx);
  read_layer_metadata(ctx);
  finish_values(ctx);
  check_declared_outputs(ctx, gp);
  return std::move(ctx.g);
}

Graph load_model(const std::string& bytes, const std::string& source, const LoadOptions& options) {
  onnx::ModelProto m;
  if (!m.ParseFromString(bytes) || (!m.has_graph() && m.ir_version() == 0))
    throw ModelError(source, "", "not a valid ONNX model (truncated or corrupt protobuf)");
  LoadContext ctx(source, options);
  return load(ctx, m);
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
  return load_model(read_model_file(path), path, LoadOptions{});
}

Graph load_onnx(const std::string& path, const LoadOptions& options) {
  return load_model(read_model_file(path), path, options);
}

TensorData read_tensor_proto(const std::string& path) {
  std::string bytes = read_model_file(path);
  onnx::TensorProto t;
  if (!t.ParseFromString(bytes)) throw DataError(path, "not a serialized onnx TensorProto");
  return decode_tensor(t, path);
}

}  // namespace autocompress
