// The model state table: supervisor/core/README.md's table is the table the registry uses, and
// the table itself keeps the rules the registry relies on.
#include "supervisor/core/model_state.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace ringserve::supervisor {
namespace {

using P = ModelPhase;
using E = ModelEvent;

std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  std::getline(ss, cell, '|');  // before the first bar
  while (std::getline(ss, cell, '|')) {
    const auto b = cell.find_first_not_of(' ');
    const auto e = cell.find_last_not_of(' ');
    out.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
  }
  return out;
}

TEST(ModelStateTable, TheReadmeTableIsTheTableTheRegistryUses) {
  std::ifstream in(RINGSERVE_CORE_README);
  ASSERT_TRUE(in) << RINGSERVE_CORE_README;
  std::vector<std::tuple<std::string, std::string, std::string>> readme;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.find("<!-- model-state-table -->") != std::string::npos) {
      inside = true;
      continue;
    }
    if (line.find("<!-- /model-state-table -->") != std::string::npos) break;
    if (!inside || line.rfind("| from", 0) == 0 || line.rfind("|---", 0) == 0) continue;
    auto c = cells(line);
    ASSERT_EQ(c.size(), 3u) << line;
    readme.emplace_back(c[0], c[1], c[2]);
  }
  std::vector<std::tuple<std::string, std::string, std::string>> code;
  for (const auto& t : modelTransitions()) code.emplace_back(toString(t.from), toString(t.event), toString(t.to));
  EXPECT_EQ(readme, code);
}

TEST(ModelStateTable, EachPhaseAndEventHasAtMostOneRow) {
  std::set<std::pair<P, E>> seen;
  for (const auto& t : modelTransitions()) EXPECT_TRUE(seen.insert({t.from, t.event}).second) << toString(t.from);
}

TEST(ModelStateTable, GoneIsFinalAndOnlyDrainingOrDiscardLeadsThere) {
  for (const auto& t : modelTransitions()) {
    EXPECT_NE(t.from, P::gone);
    if (t.to == P::gone) {
      EXPECT_TRUE(t.event == E::drained || t.event == E::discard) << toString(t.event);
    }
  }
  EXPECT_EQ(nextPhase(P::ready, E::drained), std::nullopt);  // an unload always drains first
}

TEST(ModelStateTable, EveryLivePhaseCanBeUnloadedAndFailedModelsCanRecover) {
  for (P p : {P::preparing, P::loading, P::ready, P::restarting, P::failed})
    EXPECT_EQ(nextPhase(p, E::unload), P::draining) << toString(p);
  EXPECT_EQ(nextPhase(P::failed, E::loaded), P::ready);            // a restarted worker loaded it
  EXPECT_EQ(nextPhase(P::failed, E::workersLost), std::nullopt);   // a failed model stays failed
  EXPECT_EQ(nextPhase(P::restarting, E::waiting), P::restarting);  // still 503 retriable
  EXPECT_EQ(nextPhase(P::draining, E::workersLost), P::draining);
}

TEST(ModelStateTable, WhatUsersSeeForEachPhase) {
  EXPECT_EQ(publicState(P::preparing), ModelState::loading);
  EXPECT_EQ(publicState(P::loading), ModelState::loading);
  EXPECT_EQ(publicState(P::restarting), ModelState::loading);
  EXPECT_TRUE(retriable(P::restarting));
  EXPECT_FALSE(retriable(P::loading));
  EXPECT_EQ(publicState(P::ready), ModelState::ready);
  EXPECT_EQ(publicState(P::failed), ModelState::unavailable);
  EXPECT_EQ(publicState(P::draining), ModelState::unloading);
  EXPECT_EQ(publicState(P::gone), ModelState::unavailable);
}

}  // namespace
}  // namespace ringserve::supervisor
