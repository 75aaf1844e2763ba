// The data flags through the binary (cli/data_flags.hpp): eval on class folders of images says
// what it detected and gives a top-1; apply calibrates on an .npy file; apply on a model that is
// not the embedded example needs --calib; a corrupt image is a data error naming the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/sha256.hpp"
#include "data/dataset.hpp"
#include "model/onnx_io.hpp"
#include "tests/cli/run_cli.hpp"
#include "tests/data/torchvision_fixture.hpp"
#include "tests/evaluator/graph_builder.hpp"

namespace autocompress {
namespace {

// The fixture's folder at 20x20 RGB (tests/data/make_image_folder.py), a small classifier of it.
class DataCli : public testing::TorchvisionFixture {
 protected:
  static std::string model() {
    const std::string path = dir_->file("model.onnx");
    if (!std::filesystem::exists(path)) {
      testing::GraphBuilder b({1, 3, 20, 20});
      const std::string h = b.unary("Relu", b.conv("x", 8, 3, 1, {1, 1, 1, 1}));
      save_onnx(b.finish({b.gemm(b.flatten(b.global_pool(h)), 3)}), path);
    }
    return path;
  }
  static std::string int8_recipe() {
    const std::string path = dir_->file("int8.json");
    std::ofstream(path) << R"({"format":"autocompress-recipe","version":1,"model_sha256":")" +
                               sha256_file(model()) + R"(","defaults":{"precision":"int8"}})";
    return path;
  }
  static constexpr const char* kPre =
      " --resize 24 --center-crop 20 --mean 0.485,0.456,0.406"
      " --std 0.229,0.224,0.225";
};

TEST_F(DataCli, EvalOnClassFoldersPrintsKindAndTop1) {
  int rc = -1;
  const std::string out = run_cli("eval -m " + model() + " --data " + folder() + kPre, &rc, true);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("kind       class folders (3 classes, 9 images)"), std::string::npos) << out;
  EXPECT_NE(out.find("top-1 "), std::string::npos) << out;
  EXPECT_NE(out.find("(9 images)"), std::string::npos) << out;
}

TEST_F(DataCli, ApplyCalibratesOnAnNpyFile) {
  const HostTensor x = testing::random_input(load_onnx(model()), 16, 5);
  const std::string calib = dir_->file("calib_x.npy");
  write_npy(calib, x.shape, x.data);
  int rc = -1;
  const std::string out = run_cli("apply -m " + model() + " -r " + int8_recipe() + " --calib " +
                                      calib + " -o " + dir_->file("small.onnx"),
                                  &rc, true);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("calibration data: array file"), std::string::npos) << out;
  EXPECT_TRUE(std::filesystem::exists(dir_->file("small.onnx")));
}

TEST_F(DataCli, ApplyOnAnotherModelWithoutCalibNamesIt) {
  int rc = -1;
  const std::string out = run_cli(
      "apply -m " + model() + " -r " + int8_recipe() + " -o " + dir_->file("none.onnx"), &rc, true);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("--calib"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir_->file("none.onnx")));
}

TEST_F(DataCli, CorruptImageIsADataErrorNamingTheFile) {
  const std::string bad = dir_->file("bad");
  std::filesystem::create_directories(bad + "/a");
  std::filesystem::create_directories(bad + "/b");
  std::filesystem::copy_file(folder() + "/cat/a.jpg", bad + "/a/good.jpg");
  std::ofstream(bad + "/b/broken.jpg") << "\xff\xd8\xff\xe0 not really a JPEG";
  int rc = -1;
  const std::string out = run_cli("eval -m " + model() + " --data " + bad + kPre, &rc, true);
  EXPECT_EQ(rc, 5) << out;
  EXPECT_NE(out.find("broken.jpg"), std::string::npos) << out;
}

}  // namespace
}  // namespace autocompress
