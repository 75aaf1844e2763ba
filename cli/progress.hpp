// The search's progress as `autocompress search` prints it. On a terminal: one live status line
// redrawn in place (budget bar, counts, front, hypervolume, rate, ETA) and a permanent line when
// the front improves. Off a terminal (logs, CI, nohup): a line per minute or per 25 trials. Both:
// the runner's events and the final line. The formatting is pure functions, tested alone.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "search/study/study.hpp"

namespace autocompress::cli {

// "3h 12m", "12m", "<1m" (minutes rounded); "" when unknown (NaN, infinite or negative).
std::string format_eta(double seconds);
// Seconds until the budget ends: the trials left at this run's rate, the time left, or the sooner
// of the two; NaN without a budget, or with a trial budget and no finished trial yet.
double eta_seconds(const StudyProgress& p);
// The part of the budget used, in [0, 1] (with both budgets the larger); NaN without a budget.
double budget_fraction(const StudyProgress& p);
// "[######--------------]": `width` cells between the brackets, filled by `fraction`.
std::string render_bar(double fraction, int width);
// The live line (no '\r', no newline) in at most `columns` characters:
// "[####----] 120/500 | ETA 1h 58m | 100 complete, 15 pruned, 5 failed | front 12, HV 0.4321 |
// 3.2 trials/min"; when narrower, without the bar, then without the parts from the end.
std::string render_status(const StudyProgress& p, int columns);
// A permanent line ("done: " first when final): counts | front, HV | best per objective | rate,
// ETA. `objectives` names the study's objectives in order (for the best values).
std::string render_line(const StudyProgress& p, const std::vector<std::string>& objectives);

// Off a terminal: is a line due, a minute or `every_trials` finished trials after the last one?
class LineThrottle {
 public:
  LineThrottle(double every_s, int64_t every_trials) : every_s_(every_s), every_n_(every_trials) {}
  // True for the first report, and when due since the last report it said true for (which it
  // then remembers).
  bool due(double elapsed_s, int64_t finished_in_run);

 private:
  double every_s_;
  int64_t every_n_;
  bool any_ = false;
  double last_s_ = 0;
  int64_t last_n_ = 0;
};

struct ProgressOptions {
  bool terminal = false;      // `out` is a terminal: the live line
  bool quiet = false;         // nothing on `out` but events
  std::string log_path;       // when set, the off-terminal lines are appended to this file too
  double every_s = 60;        // off a terminal: a line at least once a minute ...
  int64_t every_trials = 25;  // ... or per this many finished trials
};

// The StudyRunner callback of `search` (ProgressCallback): prints to `out` (stderr) and appends
// to the log file. IoError when the log file cannot be opened.
class ProgressPrinter {
 public:
  ProgressPrinter(std::vector<std::string> objectives, ProgressOptions options, std::FILE* out);
  ~ProgressPrinter();
  ProgressPrinter(const ProgressPrinter&) = delete;
  ProgressPrinter& operator=(const ProgressPrinter&) = delete;
  void operator()(const StudyProgress& p);

 private:
  void permanent(const std::string& line);  // on `out`, above the live line when there is one
  void to_log(const std::string& line);

  std::vector<std::string> objectives_;
  ProgressOptions o_;
  std::FILE* out_;
  std::FILE* log_ = nullptr;
  LineThrottle throttle_;
  bool live_ = false;  // a live line is on the terminal now
};

}  // namespace autocompress::cli
