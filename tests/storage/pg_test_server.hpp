// The PostgreSQL server of the tests and a fresh database per test on it. Under CTest the fixture
// pg_server (tests/storage/CMakeLists.txt) started it and AC_PG_DIR names its directory (uri, or
// skip with the reason the server is absent); a test binary run by hand starts its own with
// tests/storage/pg_server.sh and stops it at exit.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "tests/common/temp_dir.hpp"

namespace autocompress::storage_testing {

inline std::string first_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

// The superuser URI of the server ("postgresql://postgres:pw@127.0.0.1:port/postgres"), or
// nullopt with *skip the reason there is none.
inline std::optional<std::string> pg_admin_uri(std::string* skip) {
  struct Own {  // a server of this process, when no fixture started one
    testing::TempDir dir{"ac_pg"};
    std::string path = dir.file("server");
    Own() {
      const std::string cmd = std::string("bash ") + AC_SOURCE_DIR +
                              "/tests/storage/pg_server.sh start " + path + " >/dev/null";
      if (std::system(cmd.c_str()) != 0) path.clear();
    }
    ~Own() {
      if (path.empty()) return;
      const std::string cmd = std::string("bash ") + AC_SOURCE_DIR +
                              "/tests/storage/pg_server.sh stop " + path + " >/dev/null";
      (void)std::system(cmd.c_str());
    }
  };
  std::string dir;
  if (const char* env = std::getenv("AC_PG_DIR")) {
    dir = env;
  } else {
    static Own own;
    dir = own.path;
  }
  const std::string uri = first_line(dir + "/uri");
  if (!uri.empty()) return uri;
  *skip = first_line(dir + "/skip");
  if (skip->empty()) *skip = "the test PostgreSQL server did not start (see " + dir + ")";
  return std::nullopt;
}

// A new empty schema for one test in the server's database, its URI selecting it through
// search_path (a schema is far cheaper to make than a database); dropped at the end.
class PgTestDatabase {
 public:
  PgTestDatabase() {
    const auto admin = pg_admin_uri(&skip_);
    if (!admin) return;
    admin_ = *admin;
    static std::atomic<int> counter{0};
    schema_ = "ac_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    pqxx::connection c(admin_);
    pqxx::nontransaction(c).exec("CREATE SCHEMA " + schema_);
    uri_ = admin_ + "?options=-csearch_path%3D" + schema_;
  }
  ~PgTestDatabase() {
    if (uri_.empty()) return;
    try {
      pqxx::connection c(admin_);
      pqxx::nontransaction(c).exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    } catch (...) {
    }
  }
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;

  bool ok() const { return !uri_.empty(); }
  const std::string& uri() const { return uri_; }
  const std::string& admin_uri() const { return admin_; }
  // The database the URI names (messages name it).
  std::string name() const { return "postgres"; }
  const std::string& schema() const { return schema_; }
  const std::string& skip_reason() const { return skip_; }

 private:
  std::string admin_, schema_, uri_, skip_;
};

}  // namespace autocompress::storage_testing
