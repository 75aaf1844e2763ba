#include "compressors/size.hpp"

#include <gtest/gtest.h>

#include "compressors/apply.hpp"
#include "model/onnx_io.hpp"

namespace autocompress {
namespace {

const std::string kSrc = AC_SOURCE_DIR;

Recipe uniform(const nlohmann::json& defaults) {
  nlohmann::json j{{"format", "autocompress-recipe"},
                   {"version", 1},
                   {"model_sha256", std::string(64, '0')},
                   {"defaults", defaults}};
  return parse_recipe(j.dump(), "test");
}

class Size : public ::testing::Test {
 protected:
  static const ApplyContext& ctx() {
    static ApplyContext c(load_onnx(kSrc + "/examples/fashion_cnn.onnx"), Dataset{});
    return c;
  }
};

TEST_F(Size, OriginalMatchesTheLayerTable) {
  const SizeReport r = size_report(ctx().original());
  const auto layers = weighted_layers(ctx().original());
  ASSERT_EQ(r.layers.size(), layers.size());
  for (size_t k = 0; k < layers.size(); ++k) {
    EXPECT_EQ(r.layers[k].name, layers[k].name);
    EXPECT_EQ(r.layers[k].params, layers[k].params);
    EXPECT_EQ(r.layers[k].macs, layers[k].macs);
    EXPECT_DOUBLE_EQ(r.layers[k].packed_bytes, 4.0 * double(layers[k].params));
    EXPECT_DOUBLE_EQ(r.layers[k].bops, 32.0 * 32.0 * double(layers[k].macs));
  }
  EXPECT_EQ(r.total.macs, 12128256);  // inspect: 12.13 M MACs over the Conv/Gemm layers
  EXPECT_GT(r.other_params, 0);       // BatchNorm parameters
}

TEST_F(Size, QuantizedWeightsArePackedAtTheirBitWidth) {
  ApplyOptions o;
  o.quant.bias_correction = false;  // no calibration data in this context
  const Graph q = apply(ctx(), uniform({{"wbits", 4}, {"precision", "bf16"}}), o);
  const SizeReport a = size_report(ctx().original()), b = size_report(q);
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (size_t k = 0; k < a.layers.size(); ++k) {
    const auto& l = b.layers[k];
    const Node& n = *q.find_node(l.name);
    const Shape& w = q.value(n.inputs[1]).shape;
    const double m = double(w[0]), weights = double(numel(w));
    const double bias = n.inputs.size() > 2 && !n.inputs[2].empty() ? 4 * m : 0;
    EXPECT_EQ(l.params, a.layers[k].params);
    EXPECT_EQ(l.wbits, 4);
    EXPECT_EQ(l.abits, 16);
    EXPECT_DOUBLE_EQ(l.packed_bytes, weights / 2 + 4 * m + bias) << l.name;  // + scales, bias
    EXPECT_DOUBLE_EQ(l.bops, 4.0 * 16.0 * double(l.macs));
  }
}

TEST_F(Size, FactorizedLayerIsOneRow) {
  const Graph f = apply(ctx(), uniform({{"rank", 0.25}}));
  const SizeReport a = size_report(ctx().original()), b = size_report(f);
  ASSERT_EQ(a.layers.size(), b.layers.size());
  int64_t macs = 0;
  for (const auto& n : f.nodes) macs += node_macs(f, n);
  EXPECT_EQ(b.total.macs, macs);
  EXPECT_LT(b.total.macs, a.total.macs);
  EXPECT_LT(b.total.params, a.total.params);
}

}  // namespace
}  // namespace autocompress
