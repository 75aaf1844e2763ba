#include "search/samplers/space.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace autocompress {
namespace {

SearchSpace small_space() {
  SearchSpace s;
  s.knobs.push_back({"conv1/prune", Knob::Type::kPrune, {0.0, 0.25, 0.5, 0.75}, -1});
  s.knobs.push_back({"conv1/precision", Knob::Type::kPrecision, {"fp32", "bf16", "int8"}, -1});
  s.knobs.push_back({"fc/wbits", Knob::Type::kWbits, {8.0, 6.0, 4.0}, 0});  // frozen
  s.knobs.push_back({"single", Knob::Type::kGeneric, {1.0}, -1});
  return s;
}

TEST(Space, EncodeScalesLevelsToTheUnitInterval) {
  const auto s = small_space();
  EXPECT_EQ(encode(s, {3, 1, 0, 0}), (std::vector<double>{1.0, 0.5, 0.0, 0.0}));
  EXPECT_EQ(encode(s, {1, 2, 0, 0}), (std::vector<double>{1.0 / 3, 1.0, 0.0, 0.0}));
}

TEST(Space, DecodeIsExactOnEncodedPointsAndRoundsOthers) {
  const auto s = small_space();
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 3; ++b) {
      const Candidate c = {a, b, 0, 0};
      EXPECT_EQ(decode(s, encode(s, c)), c);
    }
  EXPECT_EQ(decode(s, {0.4, 0.74, 0.9, 0.5}), (Candidate{1, 1, 0, 0}));  // frozen stays
  EXPECT_EQ(decode(s, {-3, 7, 0, 0}), (Candidate{0, 2, 0, 0}));          // clamped
  EXPECT_THROW(decode(s, {0.0}), UsageError);
}

TEST(Space, CheckCandidateNamesTheKnob) {
  const auto s = small_space();
  EXPECT_NO_THROW(check_candidate(s, {3, 2, 0, 0}));
  try {
    check_candidate(s, {4, 0, 0, 0});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("conv1/prune"), std::string::npos);
  }
  EXPECT_THROW(check_candidate(s, {0, 0, 1, 0}), UsageError);  // frozen knob moved
  EXPECT_THROW(check_candidate(s, {0, -1, 0, 0}), UsageError);
  EXPECT_THROW(check_candidate(s, {0, 0, 0}), UsageError);
}

}  // namespace
}  // namespace autocompress
