// PostgreSQL backend beyond the conformance suite: bad URIs and servers, foreign and newer
// databases (refused unchanged, never naming the password), many writers on one study.
#include "storage/pg_storage.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "storage/filter.hpp"
#include "storage/open_storage.hpp"
#include "storage/pg_connection.hpp"
#include "storage/storage_error.hpp"
#include "tests/storage/pg_test_server.hpp"
#include "tests/storage/storage_test_util.hpp"

namespace autocompress {
namespace {

using storage_testing::PgTestDatabase;
using storage_testing::test_params;
using storage_testing::test_result;
using storage_testing::test_spec;

class PgStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!db.ok()) GTEST_SKIP() << db.skip_reason();
  }
  // The tables of the test database.
  std::vector<std::string> tables() {
    pqxx::connection c(db.uri());
    pqxx::nontransaction t(c);
    std::vector<std::string> out;
    for (const auto& r :
         t.exec("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "ORDER BY 1"))
      out.push_back(r[0].c_str());
    return out;
  }
  void sql(const std::string& s) {
    pqxx::connection c(db.uri());
    pqxx::nontransaction(c).exec(s);
  }
  // The password of the test server's URI.
  std::string password() const {
    const std::string& u = db.admin_uri();
    const size_t colon = u.find(':', u.find("://") + 3), at = u.find('@');
    return u.substr(colon + 1, at - colon - 1);
  }
  // The error opening `uri`, checked to name the host and database but not the password.
  StorageError open_error(const std::string& uri, const std::string& database) {
    try {
      PgStorage st(uri);
    } catch (const StorageError& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("127.0.0.1"), std::string::npos) << m;
      EXPECT_NE(m.find(database), std::string::npos) << m;
      EXPECT_EQ(m.find(password()), std::string::npos) << m;
      return e;
    }
    ADD_FAILURE() << "expected an error opening " << redact_uri(uri);
    return StorageError(ErrorKind::kRuntime, "", "");
  }

  PgTestDatabase db;
};

TEST(PgUri, RedactsPasswords) {
  EXPECT_EQ(redact_uri("postgresql://ann:s3cret@db.example:5432/trials?sslmode=require"),
            "postgresql://ann@db.example:5432/trials?sslmode=require");
  EXPECT_EQ(redact_uri("postgres://h/db?password=s3cret&sslmode=require"),
            "postgres://h/db?sslmode=require");
  EXPECT_EQ(redact_uri("postgres://h/db?sslmode=require&password=s3cret"),
            "postgres://h/db?sslmode=require");
  EXPECT_EQ(redact_uri("postgresql://ann@h/db"), "postgresql://ann@h/db");
  EXPECT_TRUE(is_postgres_uri("postgres://h/db"));
  EXPECT_FALSE(is_postgres_uri("study.db"));
}

TEST(PgUri, UnknownSchemeIsAUsageError) {
  try {
    open_storage("postgresq://ann:s3cret@h/db");
    FAIL() << "expected an error";
  } catch (const StorageError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(e.what()).find("unknown database URI scheme 'postgresq'"),
              std::string::npos)
        << e.what();
    EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
  }
}

TEST_F(PgStorageTest, OpensThroughTheFactoryAndCreatesTheSchemaOnce) {
  auto st = open_storage(db.uri());
  st->create_study(test_spec());
  auto again = open_storage(db.uri(), {.read_only = true});
  EXPECT_EQ(again->studies().size(), 1u);
  const auto t = tables();
  EXPECT_NE(std::find(t.begin(), t.end(), "autocompress_schema"), t.end());
}

TEST_F(PgStorageTest, UnreachableServerNamesHostAndDatabase) {
  // A port nobody listens on: the test server's port + 1 is as good as any closed one.
  std::string uri = db.uri();
  const size_t port_at = uri.find(':', uri.find('@')) + 1, slash = uri.find('/', port_at);
  const int port = std::stoi(uri.substr(port_at, slash - port_at));
  uri.replace(port_at, slash - port_at, std::to_string(port == 65535 ? 1 : port + 1));
  EXPECT_EQ(open_error(uri, db.name()).kind(), ErrorKind::kIo);
}

TEST_F(PgStorageTest, WrongPasswordNamesHostAndDatabaseNotThePassword) {
  std::string uri = db.uri();
  uri.replace(uri.find(password()), password().size(), "not-the-password");
  try {
    PgStorage st(uri);
    FAIL() << "expected an error";
  } catch (const StorageError& e) {
    const std::string m = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_NE(m.find("password authentication failed"), std::string::npos) << m;
    EXPECT_NE(m.find(db.name()), std::string::npos) << m;
    EXPECT_EQ(m.find("not-the-password"), std::string::npos) << m;
  }
  EXPECT_TRUE(tables().empty());
}

TEST_F(PgStorageTest, DatabaseOfAnotherApplicationIsRefusedUnchanged) {
  sql("CREATE TABLE orders (id INTEGER); CREATE TABLE schema_version (version INTEGER)");
  const StorageError e = open_error(db.uri(), db.name());
  EXPECT_EQ(e.kind(), ErrorKind::kData);
  EXPECT_NE(std::string(e.what()).find("another application"), std::string::npos) << e.what();
  EXPECT_EQ(tables(), (std::vector<std::string>{"orders", "schema_version"}));
}

TEST_F(PgStorageTest, NewerSchemaIsRefusedUnchanged) {
  { PgStorage st(db.uri()); }
  sql("UPDATE autocompress_schema SET version = 99");
  const StorageError e = open_error(db.uri(), db.name());
  EXPECT_EQ(e.kind(), ErrorKind::kData);
  EXPECT_NE(std::string(e.what()).find("newer autocompress (schema version 99"), std::string::npos)
      << e.what();
}

TEST_F(PgStorageTest, EmptyDatabaseIsNotOpenedReadOnly) {
  PgOptions o;
  o.read_only = true;
  EXPECT_THROW(PgStorage(db.uri(), o), StorageError);
  EXPECT_TRUE(tables().empty());
}

TEST_F(PgStorageTest, FilterCompilesToNumberedParameters) {
  const Filter f = Filter::parse("accuracy > 0.5 and (latency_ms < 2 or not macs >= 3)");
  const auto s = f.to_sql(Filter::Dialect::kPostgres, 3);
  EXPECT_EQ(s.where, "(\"accuracy\" > $3) AND ((\"latency_ms\" < $4) OR (NOT (\"macs\" >= $5)))");
  EXPECT_EQ(s.params, (std::vector<double>{0.5, 2, 3}));
  PgStorage st(db.uri());
  const Study study = st.create_study(test_spec());
  for (int i = 0; i < 6; ++i) {
    const auto t = st.ask(study.id, "w");
    st.set_params(study.id, t.number, test_params(t.number));
    st.tell(study.id, t.number, test_result(t.number));
  }
  const Filter g = Filter::parse("number >= 2 and latency_ms < 2.5 and top5 > 0.5");
  std::vector<int64_t> got;
  for (const auto& t : st.trials(study.id, &g)) got.push_back(t.number);
  EXPECT_EQ(got, (std::vector<int64_t>{2}));  // latency 1 + 0.5 * (n % 7)
}

// Workers on one study, each with its own connection (as processes on several machines have):
// numbers dense, each trial told once, nothing lost.
TEST_F(PgStorageTest, ConcurrentWorkersGetDenseNumbers) {
  const int64_t id = PgStorage(db.uri()).create_study(test_spec()).id;
  constexpr int kWorkers = 8, kEach = 15;
  std::vector<std::thread> workers;
  std::vector<std::vector<int64_t>> got(kWorkers);
  for (int w = 0; w < kWorkers; ++w)
    workers.emplace_back([&, w] {
      PgStorage st(db.uri());
      st.create_study(test_spec(), /*load_if_exists=*/true);
      for (int i = 0; i < kEach; ++i) {
        const auto t = st.ask(id, "w" + std::to_string(w));
        st.set_params(id, t.number, test_params(t.number));
        st.tell(id, t.number, test_result(t.number));
        got[size_t(w)].push_back(t.number);
      }
    });
  for (auto& t : workers) t.join();
  std::set<int64_t> numbers;
  for (const auto& g : got) numbers.insert(g.begin(), g.end());
  EXPECT_EQ(numbers.size(), size_t(kWorkers * kEach));
  EXPECT_EQ(*numbers.rbegin(), kWorkers * kEach - 1);
  const auto trials = PgStorage(db.uri()).trials(id);
  ASSERT_EQ(trials.size(), size_t(kWorkers * kEach));
  for (const auto& t : trials) EXPECT_EQ(t.state, TrialState::kComplete);
}

}  // namespace
}  // namespace autocompress
