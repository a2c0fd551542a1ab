// The README's compatibility table (worker protocol x server protocol) must say what
// protocolCompatibility() says, so the two cannot drift: this test reads the table between the
// <!-- compat-table --> markers and checks every cell against the function.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "schema/version.hpp"

using namespace ringserve;

namespace {

std::vector<std::string> cells(const std::string& row) {
  std::vector<std::string> out;
  std::stringstream ss(row);
  std::string cell;
  std::getline(ss, cell, '|');  // before the first '|'
  while (std::getline(ss, cell, '|')) {
    const auto b = cell.find_first_not_of(" `*");
    const auto e = cell.find_last_not_of(" `*");
    out.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
  }
  if (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

ProtocolVersion parseVersion(const std::string& s) {
  std::smatch m;
  const std::regex re(R"((\d+)\.(\d+))");
  EXPECT_TRUE(std::regex_search(s, m, re)) << "no version in '" << s << "'";
  return {static_cast<std::uint16_t>(std::stoi(m[1])), static_cast<std::uint16_t>(std::stoi(m[2]))};
}

}  // namespace

TEST(ReadmeCompatibilityTable, MatchesTheCompatibilityFunction) {
  std::ifstream in(RINGSERVE_README);
  ASSERT_TRUE(in) << "cannot read " << RINGSERVE_README;
  std::vector<std::string> rows;
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.find("<!-- compat-table -->") != std::string::npos) {
      inside = true;
      continue;
    }
    if (line.find("<!-- /compat-table -->") != std::string::npos) break;
    if (inside && line.rfind("|", 0) == 0) rows.push_back(line);
  }
  ASSERT_GE(rows.size(), 4u) << "compat table not found in README";
  // Header: | worker protocol | server 1.0 | server 1.1 | ...
  const auto header = cells(rows[0]);
  ASSERT_GE(header.size(), 2u);
  std::vector<ProtocolVersion> servers;
  for (std::size_t i = 1; i < header.size(); ++i) servers.push_back(parseVersion(header[i]));
  // The column for this build must be there.
  EXPECT_NE(std::find(servers.begin(), servers.end(), kProtocolVersion), servers.end());
  int checked = 0;
  for (std::size_t r = 2; r < rows.size(); ++r) {  // skip the |---| line
    const auto c = cells(rows[r]);
    ASSERT_EQ(c.size(), header.size()) << rows[r];
    const ProtocolVersion worker = parseVersion(c[0]);
    for (std::size_t i = 1; i < c.size(); ++i) {
      // Every server in the table keeps the oldest minor this build keeps.
      const auto expected = toString(protocolCompatibility(servers[i - 1], kOldestProtocolMinor, worker));
      EXPECT_EQ(c[i], expected) << "worker " << toString(worker) << " x server " << toString(servers[i - 1]);
      ++checked;
    }
  }
  EXPECT_GE(checked, 6);
}
