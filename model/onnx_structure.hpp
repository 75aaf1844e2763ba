// The graph-level passes of the ONNX loader: before the nodes are read, the checks of opset and
// ops, the topological sort, the initializers and graph inputs (with the batch rule of
// LoadOptions), use counts and bf16 Cast pairs; after, the graph outputs bound, softmax reshapes
// fused, dead nodes removed, nodes named, layer metadata read and the declared outputs checked.
#pragma once

#include <onnx/onnx_pb.h>

#include "model/onnx_context.hpp"

namespace autocompress::onnx_loader {

// Reads the default-domain opset; UnsupportedError outside 9..17.
void check_opset(LoadContext& ctx, const onnx::ModelProto& m);
// UnsupportedError naming the first op the loader does not read, with the supported list.
void check_ops(const LoadContext& ctx, const onnx::GraphProto& gp);
// Kahn's algorithm, ties broken by file order (so an already sorted graph keeps its order).
// ModelError on a cycle, a tensor defined twice or an input nobody defines.
void sort_nodes(const LoadContext& ctx, onnx::GraphProto& gp);
void read_initializers(LoadContext& ctx, const onnx::GraphProto& gp);
// The graph inputs and their shapes, dim 0 as kBatch by the rule of LoadOptions::symbolic_batch.
void read_inputs(LoadContext& ctx, const onnx::GraphProto& gp);
// Identity and Dropout are aliases; the uses of every tensor are counted through them.
void count_uses(LoadContext& ctx, const onnx::GraphProto& gp);
// Marks the bf16 Cast pairs (graph.hpp) that canonicalization turns into precision "bf16".
void find_bf16_pairs(LoadContext& ctx, const onnx::GraphProto& gp);

// A graph output reached through Identity / Dropout takes the output's name.
void bind_outputs(LoadContext& ctx, const onnx::GraphProto& gp);
// Reshape -> Softmax(last axis) -> Reshape back, the opset-13 spelling of an opset < 13 Softmax
// (what save_onnx writes), becomes that Softmax again.
void fuse_softmax_reshapes(LoadContext& ctx);
void remove_dead_nodes(LoadContext& ctx);
// ONNX names when present and unique; otherwise "<op>_<k>", k = index among the nodes of that op.
void name_nodes(LoadContext& ctx);
// metadata_props autocompress.precision.<layer> / autocompress.wbits.<layer> become layer
// attributes; in files other tools wrote, a layer of the QDQ int8 pattern reads as "int8".
void read_layer_metadata(LoadContext& ctx);
// Moves the nodes into the graph and drops values and initializers no node references.
void finish_values(LoadContext& ctx);
// ModelError when a graph output's declared type or shape differs from the computed one.
void check_declared_outputs(const LoadContext& ctx, const onnx::GraphProto& gp);

}  // namespace autocompress::onnx_loader
