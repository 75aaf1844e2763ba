// The "Done when" (issue 12): apply(export(trial)) reproduces the trial. On a model that
// is not the embedded example, with .npy data and with class folders of PNG images: a short
// search, `export` of every complete trial (recipe with the study's calibration record, and
// `--onnx`), `apply` of the recipe without --calib, then `eval` of each written model on the
// study's validation images: its correct count equals the trial's recorded accuracy, to the image.
// `pareto --verify` on the same images with the shared data flags gives the study's original
// accuracy (the image folders' test data preprocessed as the study recorded).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "common/file.hpp"
#include "data/data_spec.hpp"
#include "data/dataset.hpp"
#include "evaluator/executor.hpp"
#include "evaluator/reference.hpp"
#include "model/onnx_io.hpp"
#include "storage/sqlite_storage.hpp"
#include "tests/cli/run_cli.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/data/image_files.hpp"
#include "tests/evaluator/graph_builder.hpp"

namespace autocompress {
namespace {

using nlohmann::json;

// Labels as an IDX file (magic 0x801, count, one byte each).
void write_idx_labels(const std::string& path, const std::vector<int64_t>& labels) {
  std::string b = {0, 0, 8, 1};
  const uint32_t n = uint32_t(labels.size());
  for (int s = 24; s >= 0; s -= 8) b.push_back(char((n >> s) & 0xff));
  for (int64_t l : labels) b.push_back(char(l));
  std::ofstream(path, std::ios::binary) << b;
}

// The top-1 class of every sample of `x` under `g` (the naive reference).
std::vector<int64_t> predictions(const Graph& g, const HostTensor& x) {
  const auto out = make_reference_executor(g)->run({x});
  const int64_t n = x.shape[0], k = int64_t(out[0].data.size()) / n;
  std::vector<int64_t> top;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = &out[0].data[size_t(i * k)];
    top.push_back(int64_t(std::max_element(row, row + k) - row));
  }
  return top;
}

class ApplyTrial : public ::testing::Test {
 protected:
  // Two conv layers of 32 channels (prunable to 16), 4 classes, 3 x 16 x 16 input.
  void SetUp() override {
    testing::GraphBuilder b({1, 3, 16, 16});
    std::string h = b.unary("Relu", b.conv("x", 32, 3, 1, {1, 1, 1, 1}));
    h = b.unary("Relu", b.conv(h, 32, 3, 1, {1, 1, 1, 1}));
    save_onnx(b.finish({b.gemm(b.flatten(b.global_pool(h)), 4)}), model_);
  }

  // search on `data`, then every COMPLETE trial exported, applied and evaluated on `eval_data`.
  // Returns how many trials were checked.
  int search_export_apply(const std::string& data, const std::string& eval_data, int trials = 4) {
    const std::string at = " --db " + dir_.file("s.db") + " --study s";
    int rc = -1;
    const std::string search = run_cli("search -m " + model_ + at + data +
                                           " --calib-limit 40 --trials " + std::to_string(trials) +
                                           " --latency-model roofline --no-early-stopping"
                                           " --no-front-stopping -q",
                                       &rc, true);
    EXPECT_EQ(rc, 0) << search;
    SqliteStorage st(dir_.file("s.db"));
    const Study s = st.get_study("s");
    int checked = 0;
    for (const FrozenTrial& t : st.trials(s.id)) {
      if (t.state != TrialState::kComplete) continue;
      const std::string n = std::to_string(t.number), recipe = dir_.file("r" + n + ".json"),
                        applied = dir_.file("a" + n + ".onnx"),
                        exported = dir_.file("e" + n + ".onnx");
      const std::string exp = run_cli(
          "export" + at + " --trial " + n + " -o " + recipe + " --onnx " + exported, &rc, true);
      EXPECT_EQ(rc, 0) << exp;
      EXPECT_NE(read_file(recipe).find("\"calibration\""), std::string::npos);
      const std::string app =
          run_cli("apply -m " + model_ + " -r " + recipe + " -o " + applied, &rc, true);
      EXPECT_EQ(rc, 0) << app;
      EXPECT_EQ(app.find("warning"), std::string::npos) << app;
      EXPECT_EQ(read_file(applied), read_file(exported)) << "trial " << n;
      // in one batch of all images, as the study ran them (fewer than its chunk and eval batch)
      const double images = t.metrics.at("images"), accuracy = t.values.at(0);
      const std::string ev = run_cli("eval -m " + applied + eval_data + " --json --batch " +
                                         std::to_string(std::lround(images)),
                                     &rc);
      EXPECT_EQ(rc, 0) << ev;
      const json j = json::parse(ev);
      EXPECT_EQ(j["images"].get<double>(), images);
      EXPECT_EQ(std::lround(j["top1"].get<double>() * images), std::lround(accuracy * images))
          << "trial " << n << " (" << t.user_attrs.at("recipe") << ")";
      ++checked;
    }
    return checked;
  }

  // `pareto --verify` of the study with the shared data flags `test`: the test accuracy of the
  // original (the study's validation images here) equals the study's recorded one, to the image.
  void verify_on(const std::string& test) {
    int rc = -1;
    const std::string out = run_cli("pareto --db " + dir_.file("s.db") +
                                        " --study s --verify --repeats 2 --threads 1 --format "
                                        "json" +
                                        test,
                                    &rc, true);
    ASSERT_EQ(rc, 0) << out;
    const json j = json::parse(out.substr(out.find('{')));
    SqliteStorage st(dir_.file("s.db"));
    const Study s = st.get_study("s");
    const double images = std::stod(s.user_attrs.at("validation_images"));
    EXPECT_EQ(j["test_images"].get<double>(), images);
    EXPECT_EQ(std::lround(j["rows"][0]["test_accuracy"].get<double>() * images),
              std::lround(std::stod(s.user_attrs.at("original_accuracy")) * images));
  }

  testing::TempDir dir_;
  std::string model_ = dir_.file("m.onnx");
};

TEST_F(ApplyTrial, NpyData) {
  const Graph g = load_onnx(model_);
  const HostTensor val = testing::random_input(g, 200, 3), calib = testing::random_input(g, 64, 4);
  write_npy(dir_.file("val_x.npy"), val.shape, val.data);
  write_npy(dir_.file("calib_x.npy"), calib.shape, calib.data);
  write_idx_labels(dir_.file("val_y.idx"), predictions(g, val));  // the original is 100 % right
  const std::string data = " --data " + dir_.file("val_x.npy") + " --labels " +
                           dir_.file("val_y.idx") + " --calib " + dir_.file("calib_x.npy");
  const std::string val_data = data.substr(0, data.find(" --calib"));
  EXPECT_GE(search_export_apply(data, val_data), 3);
  verify_on(val_data);  // the shared data flags
  verify_on(" --test-data " + dir_.file("val_x.npy") + " --test-labels " + dir_.file("val_y.idx"));
  // No test data given, and the study validated on a file: no test split to take.
  int rc = -1;
  const std::string out =
      run_cli("pareto --db " + dir_.file("s.db") + " --study s --verify", &rc, true);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("has no test split; give the test images with --data"), std::string::npos)
      << out;
}

// The study records its data (absolute paths, fingerprints): export's and pareto --export-dir's
// recipes carry it, apply from another directory finds the files, apply warns when they changed,
// and resuming the study on changed files is refused (exit 5, naming the file, DB unchanged).
TEST_F(ApplyTrial, StudyRecordsItsData) {
  const Graph g = load_onnx(model_);
  const HostTensor val = testing::random_input(g, 40, 3), calib = testing::random_input(g, 16, 4);
  write_npy(dir_.file("val_x.npy"), val.shape, val.data);
  write_npy(dir_.file("calib_x.npy"), calib.shape, calib.data);
  write_idx_labels(dir_.file("val_y.idx"), predictions(g, val));
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir_.str());  // the search names its data relative to here
  const std::string db = dir_.file("s.db"), at = " --db " + db + " --study s";
  const std::string search = "search -m " + model_ + at +
                             " --data val_x.npy --labels val_y.idx --calib calib_x.npy"
                             " --calib-limit 16 --trials 2 --latency-model roofline -q";
  int rc = -1;
  std::string out = run_cli(search, &rc, true);
  ASSERT_EQ(rc, 0) << out;
  out = run_cli(search, &rc, true);  // resumed on the same files
  ASSERT_EQ(rc, 0) << out;
  json data;
  int64_t trial = -1;
  {
    SqliteStorage st(db);
    const Study s = st.get_study("s");
    data = json::parse(s.user_attrs.at("data"));
    for (const FrozenTrial& t : st.trials(s.id))
      if (t.state == TrialState::kComplete) trial = t.number;
  }
  EXPECT_EQ(data["validation"]["spec"]["source"], dir_.file("val_x.npy"));
  EXPECT_EQ(data["validation"]["spec"]["labels"], dir_.file("val_y.idx"));
  EXPECT_EQ(data["calibration"]["spec"]["source"], dir_.file("calib_x.npy"));
  EXPECT_EQ(data["calibration"]["fingerprint"]["files"], 1);
  ASSERT_GE(trial, 0);
  const std::string recipe = dir_.file("r.json"), n = std::to_string(trial);
  out = run_cli("export" + at + " --trial " + n + " -o " + recipe, &rc, true);
  ASSERT_EQ(rc, 0) << out;
  const json r = json::parse(read_file(recipe));
  EXPECT_EQ(r["calibration"]["data"], data["calibration"]["spec"]);
  EXPECT_EQ(r["calibration"]["fingerprint"], data["calibration"]["fingerprint"]);
  out = run_cli("pareto" + at + " --export-dir " + dir_.file("front"), &rc, true);
  ASSERT_EQ(rc, 0) << out;
  for (const auto& e : std::filesystem::directory_iterator(dir_.file("front")))
    EXPECT_EQ(json::parse(read_file(e.path().string()))["calibration"], r["calibration"]);
  // apply from another directory: the record's absolute paths
  std::filesystem::current_path("/");
  out = run_cli("apply -m " + model_ + " -r " + recipe + " -o " + dir_.file("a.onnx"), &rc, true);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.find("warning"), std::string::npos) << out;
  // The calibration file changes: apply warns, resuming the study is refused.
  const HostTensor other = testing::random_input(g, 20, 5);
  write_npy(dir_.file("calib_x.npy"), other.shape, other.data);
  out = run_cli("apply -m " + model_ + " -r " + recipe + " -o " + dir_.file("b.onnx"), &rc, true);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("calibration data changed since the study"), std::string::npos) << out;
  std::filesystem::current_path(dir_.str());
  const std::string before = run_cli("trials" + at + " --format json");
  out = run_cli(search, &rc, true);
  EXPECT_EQ(rc, 5) << out;
  EXPECT_NE(out.find(dir_.file("calib_x.npy") + ": the calibration data changed since study 's'"),
            std::string::npos)
      << out;
  EXPECT_EQ(run_cli("trials" + at + " --format json"), before);
  std::filesystem::current_path(cwd);
}

// Class folders of RGB PNG images larger than the model's input (resized, cropped, normalized),
// each image in the folder of the original's prediction (so labels mostly agree with it);
// calibration on a flat folder of other images.
TEST_F(ApplyTrial, ImageFolders) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> px(0, 255);
  const auto image = [&](const std::string& path) {
    std::vector<uint8_t> rows(size_t(20 * 18 * 3));
    for (auto& v : rows) v = uint8_t(px(rng));
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary)
        << testing::encode_png(testing::png_spec(20, 18, PNG_COLOR_TYPE_RGB, 8, rows));
  };
  for (int i = 0; i < 60; ++i) image(dir_.file("staged/" + std::to_string(100 + i) + ".png"));
  for (int i = 0; i < 40; ++i) image(dir_.file("calib/" + std::to_string(100 + i) + ".png"));
  const Graph g = load_onnx(model_);
  DataSpec spec;
  spec.source = dir_.file("staged");
  spec.preprocessing.resize = spec.preprocessing.center_crop = {16};
  spec.preprocessing.norm = {{0.5f}, {0.25f}};
  const Dataset staged = materialize(open_dataset(spec, g.value(g.inputs[0]).shape).data);
  const auto top = predictions(g, {{staged.size(), 3, 16, 16}, staged.images});
  for (int i = 0; i < 60; ++i) {
    const std::string name = std::to_string(100 + i) + ".png";
    const std::string cls = dir_.file("val/c" + std::to_string(top[size_t(i)]));
    std::filesystem::create_directories(cls);
    std::filesystem::rename(dir_.file("staged/" + name), cls + "/" + name);
  }
  const std::string pre = " --resize 16 --center-crop 16 --mean 0.5 --std 0.25";
  const std::string data = " --data " + dir_.file("val") + " --calib " + dir_.file("calib") + pre;
  EXPECT_GE(search_export_apply(data, " --data " + dir_.file("val") + pre), 3);
  // Preprocessed as the study did (20 x 18 images do not fit the model without its resize).
  verify_on(" --data " + dir_.file("val"));
}

// The 224 x 224 case a user brings: torchvision's MobileNetV2 (width 0.35, random weights) on a
// flat folder of 256 x 256 JPEG photos (label-free: accuracy is agreement with the original),
// resized and center-cropped as ImageNet validation is; a short search, then every trial
// exported, applied and evaluated as above, and the front verified on the same folder.
TEST_F(ApplyTrial, Mobilenet224Jpegs) {
  model_ = std::string(AC_SOURCE_DIR) + "/tests/fixtures/mobilenet_v2_x035_224.onnx";
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> noise(-12, 12);
  const auto photo = [&](const std::string& path, int i) {
    Image img = testing::pattern(256, 256, 3);
    for (size_t k = 0; k < img.pixels.size(); ++k)
      img.pixels[k] =
          uint8_t(std::clamp(int(img.pixels[k]) + noise(rng) + (int(k) % 3) * i, 0, 255));
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << testing::encode_jpeg(img, 90, true);
  };
  for (int i = 0; i < 24; ++i) photo(dir_.file("val/" + std::to_string(10 + i) + ".jpg"), i);
  for (int i = 0; i < 12; ++i) photo(dir_.file("calib/" + std::to_string(10 + i) + ".jpg"), 30 + i);
  const std::string pre =
      " --resize 232 --center-crop 224 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225";
  // Labels: the original's top-1 on the folder, in the folder's order, so accuracy is agreement.
  const Graph g = load_onnx(model_);
  DataSpec spec;
  spec.source = dir_.file("val");
  spec.preprocessing.resize = {232};
  spec.preprocessing.center_crop = {224};
  spec.preprocessing.norm = {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
  const Dataset val = materialize(open_dataset(spec, g.value(g.inputs[0]).shape).data);
  write_idx_labels(dir_.file("val_y.idx"), predictions(g, {{val.size(), 3, 224, 224}, val.images}));
  const std::string eval_data =
      " --data " + dir_.file("val") + " --labels " + dir_.file("val_y.idx") + pre;
  EXPECT_GE(search_export_apply(eval_data + " --calib " + dir_.file("calib"), eval_data, 3), 2);
  verify_on(" --data " + dir_.file("val"));
}

}  // namespace
}  // namespace autocompress
