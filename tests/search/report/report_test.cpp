// search/report/report.hpp: the SVG content of the report (points, knee, baselines, axes,
// hypervolume, heatmap) and, when Debian's chromium is installed, that a headless browser draws the
// plots.
#include "search/report/report.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/error.hpp"
#include "search/report/front.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/search/report/png_decode.hpp"

namespace autocompress {
namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

std::string recipe(const std::string& p1, const std::string& p2, double prune, int wbits) {
  const nlohmann::json r = {{"format", "autocompress-recipe"},
                            {"version", 1},
                            {"model_sha256", std::string(64, 'a')},
                            {"defaults", nlohmann::json::object()},
                            {"layers",
                             {{"c1", {{"precision", p1}, {"prune", prune}}},
                              {"c2", {{"precision", p2}, {"prune", prune}}},
                              {"fc", {{"precision", p2}, {"wbits", wbits}}}}}};
  return r.dump();
}

// 3 objectives, 40 COMPLETE trials on a curved front plus dominated ones, two baselines, a few
// infeasible and PRUNED trials.
struct Fixture {
  Study s;
  std::vector<FrozenTrial> trials;
  Fixture() {
    s.name = "demo";
    s.model_path = "examples/fashion_cnn.onnx";
    s.target = "host";
    s.objectives = {{"accuracy", Direction::kMaximize},
                    {"latency_ms", Direction::kMinimize},
                    {"size_mb", Direction::kMinimize}};
    s.constraints = {"accuracy_drop"};
    s.reference_point = {0.8, 3.0, 2.0};
    s.search_space =
        R"({"knobs":[{"name":"c1/precision","type":"precision"},)"
        R"({"name":"c2/precision","type":"precision"},{"name":"fc/wbits","type":"wbits"}]})";
    const char* modes[] = {"fp32", "bf16", "int8"};
    for (int i = 0; i < 48; ++i) {
      FrozenTrial t;
      t.number = i;
      t.state = i % 12 == 5 ? TrialState::kPruned : TrialState::kComplete;
      const double x = (i % 16) / 15.0, worse = i >= 32 ? 0.3 : 0;
      t.values = {0.92 - 0.1 * x * x - 0.02 * worse, 2.5 - 2 * x + worse, 1.5 - x + worse};
      t.constraints = {i % 9 == 4 ? 1.0 : -0.5};
      t.user_attrs["recipe"] = recipe(modes[i % 3], modes[(i / 3) % 3], (i % 4) * 0.125, 8 - i % 5);
      trials.push_back(t);
    }
    trials[3].user_attrs["baseline"] = "int8 everywhere";
    trials[40].user_attrs["baseline"] = "25% uniform pruning";
  }
};

TEST(Report, PlotsEveryPairWithFrontKneeBaselinesAndAxes) {
  const Fixture f;
  const std::string html = render_report(f.s, f.trials);
  const TrialFront front = study_front(f.s, f.trials);
  ASSERT_GT(front.members.size(), 5u);
  EXPECT_EQ(count(html, "<svg "), 3 + 1 + 3u);  // 3 pairs, hypervolume, 3 knob panels
  EXPECT_EQ(count(html, "class=\"front\""), 3 * front.members.size());
  EXPECT_EQ(count(html, "class=\"knee\""), 3u);
  EXPECT_EQ(count(html, "class=\"baseline\""), 6u);
  EXPECT_EQ(count(html, ">int8 everywhere</text>"), 3u);
  size_t complete = 0;
  for (const auto& t : f.trials) complete += t.state == TrialState::kComplete;
  EXPECT_EQ(count(html, "class=\"trial"), 3 * complete);
  EXPECT_EQ(count(html, "class=\"trial infeasible\""), 3 * 5u);  // 4, 13, 22, 31, 40
  for (const char* label :
       {">accuracy (higher is better)</text>", ">latency_ms (lower is better)</text>",
        ">size_mb (lower is better)</text>", ">trial number</text>"})
    EXPECT_GE(count(html, label), 1u) << label;
  EXPECT_EQ(count(html, "class=\"hv-line\""), 1u);
  // One cell per front trial and layer in each panel (precision, weight bits, prune).
  EXPECT_EQ(count(html, "class=\"cell\""), 3 * 3 * front.members.size());
  EXPECT_EQ(count(html, "(knee)</td>"), 1u);
  EXPECT_EQ(html.find("<script"), std::string::npos);  // self-contained, no scripts
  EXPECT_EQ(html.find("http://www.w3.org/2000/svg\"") != std::string::npos, true);
}

TEST(Report, EscapesNamesAndCopesWithAnEmptyStudy) {
  Fixture f;
  f.s.name = "a<b>&c";
  const std::string html = render_report(f.s, {});
  EXPECT_NE(html.find("a&lt;b&gt;&amp;c"), std::string::npos);
  EXPECT_EQ(html.find("a<b>"), std::string::npos);
  EXPECT_NE(html.find("No front"), std::string::npos);
  f.s.objectives.clear();
  EXPECT_THROW(render_report(f.s, {}), Error);
}

TEST(NiceTicks, StepsOfOneTwoFive) {
  EXPECT_EQ(nice_ticks(0, 1, 5), (std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}));
  const auto t = nice_ticks(0.83, 0.921, 5);
  ASSERT_GE(t.size(), 3u);
  for (double v : t) EXPECT_TRUE(v >= 0.83 && v <= 0.921) << v;
  EXPECT_NEAR(t[1] - t[0], 0.02, 1e-12);
  EXPECT_EQ(nice_ticks(2, 2).size(), 1u);
}

// Pixels within `tol` of a colour.
size_t pixels_like(const testing::Image& img, int r, int g, int b, int tol = 24) {
  size_t n = 0;
  for (const auto& p : img.rgb)
    n += std::abs(p[0] - r) <= tol && std::abs(p[1] - g) <= tol && std::abs(p[2] - b) <= tol;
  return n;
}

TEST(Report, RendersInHeadlessChromium) {
  const char* browser = nullptr;
  for (const char* c : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (std::filesystem::exists(c)) browser = c;
  if (!browser) GTEST_SKIP() << "Debian's chromium is not installed (apt-get install chromium)";
  const testing::TempDir tmp("ac_report");
  const std::string dir = tmp.str();
  const std::string html_path = dir + "/report.html", png = dir + "/shot.png";
  const Fixture f;
  std::ofstream(html_path) << render_report(f.s, f.trials);
  // --no-sandbox: the tests may run as root; a fresh profile dir keeps runs independent.
  const std::string cmd = std::string(browser) +
                          " --headless --no-sandbox --disable-gpu --hide-scrollbars"
                          " --user-data-dir=" +
                          dir + "/profile --screenshot=" + png +
                          " --window-size=1400,1800 file://" + html_path + " >" + dir +
                          "/log.txt 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "chromium failed; see " << dir << "/log.txt";
  const testing::Image img = testing::read_png(png);
  EXPECT_EQ(img.width, 1400);
  // The plots drew: the front's blue, the hypervolume line's green, dark heatmap cells, and
  // the baselines' orange are on the page (text is black and grey).
  EXPECT_GT(pixels_like(img, 0x1f, 0x77, 0xb4), 300u);
  EXPECT_GT(pixels_like(img, 0x2c, 0xa0, 0x2c), 200u);
  EXPECT_GT(pixels_like(img, 8, 48, 107, 40), 100u);
  EXPECT_GT(pixels_like(img, 0xff, 0x7f, 0x0e), 50u);
  // The top-left plot's area (below the title and the notes) is not blank.
  size_t ink = 0;
  for (int y = 120; y < 460 && y < img.height; ++y)
    for (int x = 0; x < 460; ++x) ink += img.at(x, y)[0] < 200;
  EXPECT_GT(ink, 2000u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace autocompress
