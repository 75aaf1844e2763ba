// End-to-end on the test PostgreSQL server (tests/storage/pg_test_server.hpp): `search --db
// postgresql://...` writes a study that studies / trials / pareto / export / report read back,
// with the password in the URI never in their output nor in anything the study recorded; an
// unreachable server or a wrong password exits with the storage code (7), a URI typo with 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/cli/run_cli.hpp"
#include "tests/storage/pg_test_server.hpp"
#include "tests/storage/storage_test_util.hpp"

namespace autocompress {
namespace {

using nlohmann::json;
using storage_testing::PgTestDatabase;
using storage_testing::TempDir;

struct CliRun {
  int code = -1;
  std::string out;  // stdout and stderr
};

CliRun cli(const std::string& args) {
  CliRun r;
  r.out = run_cli(args, &r.code, /*with_stderr=*/true);
  return r;
}

// The password of "postgresql://user:password@host...".
std::string password_of(const std::string& uri) {
  const size_t user = uri.find("://") + 3, colon = uri.find(':', user), at = uri.find('@', user);
  return colon < at ? uri.substr(colon + 1, at - colon - 1) : "";
}

// Every row of every table of `schema`, as text.
std::string all_rows(const std::string& admin_uri, const std::string& schema) {
  pqxx::connection c(admin_uri);
  pqxx::work w(c);
  std::string out;
  for (const auto& t : w.exec_params("SELECT table_name FROM information_schema.tables "
                                     "WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
                                     schema)) {
    const std::string table = schema + "." + w.quote_name(t[0].c_str());
    for (const auto& r : w.exec("SELECT x::text FROM " + table + " x")) out += r[0].c_str();
  }
  return out;
}

class PgCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!db.ok()) GTEST_SKIP() << db.skip_reason();
    password = password_of(db.uri());
    ASSERT_FALSE(password.empty()) << db.uri();
  }
  // `args` with the study's --db; asserts exit 0 and no password in the output.
  std::string ok(const std::string& args) {
    const CliRun r = cli(args + " --db '" + db.uri() + "'");
    EXPECT_EQ(r.code, 0) << args << "\n" << r.out;
    EXPECT_EQ(r.out.find(password), std::string::npos) << args << "\n" << r.out;
    return r.out;
  }
  PgTestDatabase db;
  std::string password;
  TempDir dir;
};

TEST_F(PgCli, SearchThenEveryQueryReadsTheSameStudy) {
  const std::string search =
      ok("search --trials 3 --val-limit 100 --calib-limit 32 --no-warm-start --study pg");
  EXPECT_NE(search.find("study 'pg' in postgresql://postgres@127.0.0.1:"), std::string::npos)
      << search;
  EXPECT_NE(search.find("3 complete"), std::string::npos) << search;

  const json studies = json::parse(ok("studies --format json"));
  ASSERT_EQ(studies.size(), 1u);
  EXPECT_EQ(studies[0]["name"], "pg");
  EXPECT_EQ(studies[0]["trials"]["COMPLETE"], 3);

  std::vector<int> numbers;
  for (const auto& t : json::parse(ok("trials --study pg --format json")))
    numbers.push_back(t["number"]);
  EXPECT_EQ(numbers, (std::vector<int>{0, 1, 2}));

  const std::string front = ok("pareto --study pg --format json");
  EXPECT_FALSE(json::parse(front.substr(front.find('['))).empty()) << front;

  const std::string recipe = dir.file("t0.json"), report = dir.file("r.html");
  ok("export --study pg --trial 0 -o " + recipe);
  EXPECT_TRUE(std::filesystem::exists(recipe));
  ok("report --study pg -o " + report);
  EXPECT_NE(storage_testing::file_bytes(report).find("pg"), std::string::npos);

  // Nothing the study recorded (attrs, provenance, config, trials) holds the password.
  const std::string rows = all_rows(db.admin_uri(), db.schema());
  EXPECT_NE(rows.find("\"val_limit\""), std::string::npos);  // the recorded config is there
  EXPECT_EQ(rows.find(password), std::string::npos);
}

TEST_F(PgCli, BadServersExitWithTheStorageCodeAndTyposWithUsage) {
  const std::string hostport = db.uri().substr(db.uri().find('@') + 1);  // 127.0.0.1:port/...
  const auto failing = [&](const std::string& uri, int code, const std::string& shown) {
    const CliRun r = cli("studies --db '" + uri + "'");
    EXPECT_EQ(r.code, code) << uri << "\n" << r.out;
    EXPECT_NE(r.out.find(shown), std::string::npos) << uri << "\n" << r.out;
    EXPECT_EQ(r.out.find("wrong-secret"), std::string::npos) << r.out;
  };
  failing("postgresql://postgres:wrong-secret@" + hostport, 7,
          "postgresql://postgres@" + hostport.substr(0, hostport.find('?')));
  failing("postgresql://postgres:wrong-secret@127.0.0.1:1/postgres", 7,
          "postgresql://postgres@127.0.0.1:1/postgres");
  failing("postgresql://postgres:wrong-secret@127.0.0.1:port/postgres", 2, "port");
  failing("postgresq://postgres:wrong-secret@127.0.0.1:5432/postgres", 2, "postgresq");
  // A search with a wrong password records nothing and says why.
  const CliRun r =
      cli("search --trials 1 --val-limit 100 --calib-limit 32 --no-warm-start -q "
          "--db 'postgresql://postgres:wrong-secret@" +
          hostport + "'");
  EXPECT_EQ(r.code, 7) << r.out;
  EXPECT_NE(r.out.find("password authentication failed"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("wrong-secret"), std::string::npos) << r.out;
  EXPECT_EQ(all_rows(db.admin_uri(), db.schema()), "");
}

}  // namespace
}  // namespace autocompress
