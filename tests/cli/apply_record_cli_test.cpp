// apply and the recipe's calibration record (recipe version 2, docs/recipe.md): without --calib it
// calibrates on the record's data with the record's settings; --calib other than the record is a
// warning naming both; a changed fingerprint a warning naming the file; a source that is gone an
// error naming it and --calib; nothing is written on an error.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/file.hpp"
#include "common/sha256.hpp"
#include "compressors/recipe.hpp"
#include "data/dataset.hpp"
#include "data/fingerprint.hpp"
#include "model/onnx_io.hpp"
#include "tests/cli/run_cli.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/evaluator/graph_builder.hpp"

namespace autocompress {
namespace {

// A small 12x12 one-channel classifier (not the embedded example) and two .npy calibration sets.
class ApplyRecord : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::GraphBuilder b({1, 1, 12, 12});
    const std::string h = b.unary("Relu", b.conv("x", 8, 3, 1, {1, 1, 1, 1}));
    save_onnx(b.finish({b.gemm(b.flatten(b.global_pool(h)), 4)}), model_);
    for (const auto& [path, seed] : {std::pair{calib_, 5}, std::pair{other_, 6}}) {
      const HostTensor x = testing::random_input(load_onnx(model_), 24, seed);
      write_npy(path, x.shape, x.data);
    }
  }
  // An int8 recipe whose record names `source` (with its fingerprint unless `fingerprint` is off).
  std::string recipe(const std::string& source, bool fingerprint = true) const {
    Recipe r;
    r.model_sha256 = sha256_file(model_);
    r.defaults.precision = Precision::kInt8;
    CalibrationRecord c;
    c.data.source = source;
    c.data.limit = 16;
    if (fingerprint) c.fingerprint = fingerprint_source(source);
    c.channel_multiple = 1;
    r.calibration = c;
    std::ofstream(recipe_) << recipe_to_json(r);
    return recipe_;
  }
  std::string apply(const std::string& extra, int* rc) const {
    return run_cli("apply -m " + model_ + " -r " + recipe_ + " -o " + out_ + extra, rc, true);
  }

  testing::TempDir dir_;
  std::string model_ = dir_.file("m.onnx"), calib_ = dir_.file("calib.npy"),
              other_ = dir_.file("other.npy"), recipe_ = dir_.file("r.json"),
              out_ = dir_.file("small.onnx");
};

TEST_F(ApplyRecord, CalibratesOnTheRecordWithoutWarnings) {
  recipe(calib_);
  int rc = -1;
  const std::string out = apply("", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("calibration data: array file"), std::string::npos) << out;
  EXPECT_EQ(out.find("warning"), std::string::npos) << out;
  const std::string first = read_file(out_);
  // the same data given as --calib (same images, same count): the same model, no warning
  const std::string again = apply(" --calib " + calib_ + " --calib-images 16", &rc);
  EXPECT_EQ(rc, 0) << again;
  EXPECT_EQ(again.find("warning"), std::string::npos) << again;
  EXPECT_EQ(read_file(out_), first);
  // no temporary left beside the output
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_.str())) files += !e.is_directory();
  EXPECT_EQ(files, 5);
}

TEST_F(ApplyRecord, OtherCalibWarnsNamingBoth) {
  recipe(calib_);
  int rc = -1;
  const std::string out = apply(" --calib " + other_, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("warning: calibrating on '" + other_ + "'"), std::string::npos) << out;
  EXPECT_NE(out.find("not on the study's calibration data '" + calib_ + "' (first 16 images)"),
            std::string::npos)
      << out;
  // the same file, but more images than the record's: also other data
  const std::string more = apply(" --calib " + calib_ + " --calib-images 20", &rc);
  EXPECT_NE(more.find("warning: calibrating on '" + calib_ + "' (first 20 images)"),
            std::string::npos)
      << more;
}

TEST_F(ApplyRecord, ChangedFingerprintWarnsNamingTheFile) {
  recipe(calib_);
  const HostTensor x = testing::random_input(load_onnx(model_), 30, 7);  // more images: new size
  write_npy(calib_, x.shape, x.data);
  int rc = -1;
  const std::string out = apply("", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("warning: " + calib_ + ": calibration data changed since the study"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("recorded 1 files"), std::string::npos) << out;
}

TEST_F(ApplyRecord, MissingRecordDataIsAnErrorNamingItAndCalib) {
  recipe(dir_.file("gone.npy"), false);
  int rc = -1;
  const std::string out = apply("", &rc);
  EXPECT_EQ(rc, 5) << out;
  EXPECT_NE(out.find(dir_.file("gone.npy") + ": not found"), std::string::npos) << out;
  EXPECT_NE(out.find("--calib"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(out_));
}

TEST_F(ApplyRecord, NoRecordNoCalibSaysWhatToPass) {
  Recipe r;
  r.model_sha256 = sha256_file(model_);
  r.defaults.precision = Precision::kInt8;
  std::ofstream(recipe_) << recipe_to_json(r);
  int rc = -1;
  const std::string out = apply("", &rc);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("give --calib"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(out_));
}

}  // namespace
}  // namespace autocompress
