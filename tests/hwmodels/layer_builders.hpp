// Hand-written layer descriptions for the roofline and energy cases.
#pragma once

#include "hwmodels/layer_desc.hpp"

namespace autocompress::testing {

// A stride-1 "same" convolution of c_in -> c_out channels on hw x hw, k x k, batch 1.
inline LayerDesc conv(int64_t c_in, int64_t c_out, int64_t hw, int64_t k,
                      Precision p = Precision::kFp32, int wbits = 0, int abits = 0) {
  LayerDesc d;
  d.name = "conv";
  d.kind = LayerKind::kConv;
  d.c_in = c_in, d.c_out = c_out;
  d.h_in = d.w_in = d.h_out = d.w_out = hw;
  d.kh = d.kw = k;
  d.precision = p;
  d.wbits = wbits ? wbits : precision_bits(p);
  d.abits = d.obits = abits ? abits : precision_bits(p);
  return d;
}

inline LayerDesc depthwise(int64_t c, int64_t hw, int64_t k) {
  LayerDesc d = conv(c, c, hw, k);
  d.name = "dw";
  d.kind = LayerKind::kDepthwise;
  d.groups = c;
  return d;
}

inline LayerDesc gemm(int64_t k, int64_t m, int64_t batch = 1) {
  LayerDesc d = conv(k, m, 1, 1);
  d.name = "fc";
  d.kind = LayerKind::kGemm;
  d.batch = batch;
  return d;
}

}  // namespace autocompress::testing
