// The search's progress output (cli/progress.hpp): the ETA in hours and minutes, the budget bar,
// the live and permanent lines, the off-terminal throttle, and the printer on and off a terminal.
#include "cli/progress.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>

#include "common/error.hpp"
#include "tests/data/test_files.hpp"

namespace autocompress::cli {
namespace {

StudyProgress progress(int64_t finished_in_run, double elapsed_s) {
  StudyProgress p;
  p.study.complete = finished_in_run;
  p.study.front_size = 3;
  p.study.hypervolume = 0.25;
  p.study.best = {0.91, 1.5};
  p.finished_in_run = finished_in_run;
  p.trials_budget = 100;
  p.elapsed_s = elapsed_s;
  p.rate_per_min = elapsed_s > 0 ? 60 * double(finished_in_run) / elapsed_s : 0;
  return p;
}

// What a printer with options `o` writes for a run of `trials` trials, one a second (`tweak`
// changes the report of trial n), and its final report.
std::string print_run(const ProgressOptions& o, int trials,
                      const std::function<void(int n, StudyProgress&)>& tweak) {
  std::FILE* out = std::tmpfile();
  EXPECT_NE(out, nullptr);
  {
    ProgressPrinter printer({"accuracy", "latency_ms"}, o, out);
    for (int n = 1; n <= trials; ++n) {
      StudyProgress p = progress(n, n);
      tweak(n, p);
      printer(p);
    }
    StudyProgress last = progress(trials, trials + 1);
    last.final = true;
    printer(last);
  }
  std::rewind(out);
  std::string s;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, out)) s.append(buf, n);
  std::fclose(out);
  return s;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size())) ++n;
  return n;
}

TEST(Progress, EtaInHoursAndMinutes) {
  EXPECT_EQ(format_eta(0), "<1m");
  EXPECT_EQ(format_eta(59), "<1m");
  EXPECT_EQ(format_eta(60), "1m");
  EXPECT_EQ(format_eta(12 * 60 + 10), "12m");
  EXPECT_EQ(format_eta(3 * 3600 + 12 * 60), "3h 12m");
  EXPECT_EQ(format_eta(26 * 3600 + 5 * 60 + 20), "26h 5m");
  EXPECT_EQ(format_eta(-1), "");
  EXPECT_EQ(format_eta(std::nan("")), "");
}

TEST(Progress, EtaFromTheTrialBudgetTheTimeBudgetOrTheSoonerOfBoth) {
  StudyProgress p = progress(40, 400);  // 6 trials/min, 60 left: 10 minutes
  EXPECT_DOUBLE_EQ(eta_seconds(p), 600);
  p.timeout_s = 900;  // 500 s left
  EXPECT_DOUBLE_EQ(eta_seconds(p), 500);
  p.trials_budget = 0;
  p.timeout_s = 3600;
  EXPECT_DOUBLE_EQ(eta_seconds(p), 3200);
  p.timeout_s = 0;
  EXPECT_TRUE(std::isnan(eta_seconds(p)));  // no budget
  StudyProgress first = progress(0, 0);     // a trial budget, no rate yet
  EXPECT_TRUE(std::isnan(eta_seconds(first)));
}

TEST(Progress, BudgetFractionAndBar) {
  StudyProgress p = progress(25, 100);
  EXPECT_DOUBLE_EQ(budget_fraction(p), 0.25);
  p.timeout_s = 200;  // half the time used: the larger
  EXPECT_DOUBLE_EQ(budget_fraction(p), 0.5);
  p.trials_budget = 0, p.timeout_s = 0;
  EXPECT_TRUE(std::isnan(budget_fraction(p)));
  EXPECT_EQ(render_bar(0.5, 10), "[#####-----]");
  EXPECT_EQ(render_bar(0, 4), "[----]");
  EXPECT_EQ(render_bar(1.5, 4), "[####]");
}

TEST(Progress, StatusLineHasBarCountsFrontRateAndEtaAndFitsTheTerminal) {
  StudyProgress p = progress(40, 400);
  p.study.complete = 30, p.study.pruned = 8, p.study.failed = 2;
  const std::string s = render_status(p, 200);
  EXPECT_EQ(s.rfind("[########------------] 40/100 | ETA 10m | ", 0), 0u) << s;
  EXPECT_NE(s.find("30 complete, 8 pruned, 2 failed"), std::string::npos) << s;
  EXPECT_NE(s.find("front 3, HV 0.25"), std::string::npos) << s;
  EXPECT_NE(s.find("6.0 trials/min"), std::string::npos) << s;
  EXPECT_NE(s.find("ETA 10m"), std::string::npos) << s;
  EXPECT_EQ(s.find('\n'), std::string::npos);
  // Narrower: the bar goes first, then whole parts from the end (the rate, the front, ...).
  const std::string narrow = render_status(p, 79);
  EXPECT_EQ(
      narrow.rfind("40/100 | ETA 10m | 30 complete, 8 pruned, 2 failed | front 3, HV 0.25", 0), 0u)
      << narrow;
  EXPECT_LE(narrow.size(), 79u);
  EXPECT_EQ(render_status(p, 30), "40/100 | ETA 10m");
  EXPECT_EQ(render_status(p, 4), "40/1");
}

TEST(Progress, PermanentLineNamesTheBestPerObjectiveAndSaysDoneAtTheEnd) {
  StudyProgress p = progress(40, 400);
  const std::string line = render_line(p, {"accuracy", "latency_ms"});
  EXPECT_EQ(line,
            "40 complete, 0 pruned, 0 failed | front 3, HV 0.25 | best accuracy 0.91 latency_ms "
            "1.5 | 6.0 trials/min, ETA 10m");
  p.final = true;
  EXPECT_EQ(render_line(p, {"accuracy", "latency_ms"}).rfind("done: 40 complete", 0), 0u);
  EXPECT_NE(render_line(p, {"accuracy", "latency_ms"}).find("7m elapsed"), std::string::npos);
}

TEST(Progress, ThrottleSaysALineIsDueOncePerMinuteOrPerNTrials) {
  LineThrottle t(60, 25);
  EXPECT_TRUE(t.due(1, 1));  // the first
  EXPECT_FALSE(t.due(30, 10));
  EXPECT_FALSE(t.due(59, 25));
  EXPECT_TRUE(t.due(59, 26));  // 25 trials after the last line
  EXPECT_FALSE(t.due(100, 27));
  EXPECT_TRUE(t.due(119, 28));  // a minute after it
}

TEST(Progress, OffATerminalALinePer25TrialsEventsAndTheFinalLineAlsoInTheLog) {
  testing::TempDir dir;
  const std::string text =
      print_run({.log_path = dir.file("search.log")}, 60, [](int n, StudyProgress& p) {
        if (n == 30) p.event = "trial 29 not recorded: gone";
      });
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
  EXPECT_EQ(count(text, "\n"), 5u) << text;  // trials 1, 26, 51, the event, the final line
  EXPECT_NE(text.find("1 complete, 0 pruned"), std::string::npos) << text;
  EXPECT_NE(text.find("51 complete, 0 pruned"), std::string::npos) << text;
  EXPECT_NE(text.find("trial 29 not recorded: gone\n"), std::string::npos) << text;
  EXPECT_NE(text.find("done: 60 complete"), std::string::npos) << text;
  EXPECT_EQ(read_file(dir.file("search.log")), text);
}

TEST(Progress, OnATerminalOneLiveLineAndANewLineOnlyWhenTheFrontImproves) {
  const std::string text = print_run({.terminal = true, .log_path = ""}, 40,
                                     [](int n, StudyProgress& p) { p.front_improved = n == 7; });
  EXPECT_EQ(count(text, "\n"), 2u) << text;  // the improvement and the final line
  EXPECT_GE(count(text, "\r"), 40u);
  EXPECT_NE(text.find("\r\x1b[K7 complete, 0 pruned"), std::string::npos) << text;
  EXPECT_NE(text.find("\r\x1b[Kdone: 40 complete"), std::string::npos) << text;
  EXPECT_NE(text.find("40/100"), std::string::npos) << text;
}

TEST(Progress, QuietPrintsOnlyEventsButTheLogGetsItsLines) {
  testing::TempDir dir;
  const std::string text =
      print_run({.terminal = true, .quiet = true, .log_path = dir.file("q.log")}, 1,
                [](int, StudyProgress& p) { p.event = "trial 0 not recorded: x"; });
  EXPECT_EQ(text, "trial 0 not recorded: x\n");
  const std::string logged = read_file(dir.file("q.log"));
  EXPECT_EQ(count(logged, "\n"), 3u) << logged;  // the event, trial 1, done
}

TEST(Progress, AnUnwritableLogIsAnIoError) {
  EXPECT_THROW(ProgressPrinter({}, {.log_path = "/nonexistent/dir/x.log"}, stderr), IoError);
}

}  // namespace
}  // namespace autocompress::cli
