// monitor's judgement: estimate comparison, RAM budget, history trend, warnings, and the
// Prometheus/JSON renderings of a result.

#include "report/prometheus_text.hpp"
#include "test_util.hpp"
#include "util/error.hpp"
#include "util/json_lines_log.hpp"
#include "zfs/monitor_check.hpp"
#include "zfs/monitor_render.hpp"

#include <gtest/gtest.h>

using namespace wsd;

namespace {

std::string estimate_doc(uint64_t entries, double dedup, double compress, uint64_t recordsize = 131072,
                         const char* compression = "lzjb") {
  nlohmann::json j;
  j["schema"] = "wsdedup.estimate/1";
  j["model"] = {{"profile", "zfs-fuse"}, {"recordsize", recordsize}, {"compression", compression}};
  j["ddt"] = {{"entries", entries},
              {"dedup_ratio", dedup},
              {"compress_ratio", compress},
              {"ram_bytes", {{"legacy", entries * 120}, {"legacy_conservative", entries * 320}, {"fast_dedup", entries * 80}}}};
  j["sample"] = {{"rate", 1.0}, {"sampled", false}};
  return j.dump();
}

zfs::Observation observation(uint64_t entries, uint64_t in_core, double dedup, double compress) {
  zfs::Observation o;
  o.target = {"tank", "tank/ws"};
  o.ddt_entries = {entries, true, "zpool status -D"};
  o.ddt_in_core = {in_core, true, "zdb -DD"};
  o.dedup_ratio = dedup;
  o.compress_ratio = compress;
  o.recordsize = {131072, true, "zfs get"};
  o.properties["compression"] = "lzjb";
  o.properties["recordsize"] = "131072";
  return o;
}

} // namespace

TEST(MonitorCheck, ParsesEstimateJson) {
  auto e = zfs::parse_estimate_json(estimate_doc(66, 1.86, 1.34), "e.json");
  EXPECT_EQ(e.entries, 66u);
  EXPECT_DOUBLE_EQ(e.dedup_ratio, 1.86);
  EXPECT_EQ(e.recordsize, 131072u);
  EXPECT_EQ(e.compression, "lzjb");
  EXPECT_EQ(e.ram_legacy, 66u * 120);
  EXPECT_THROW(zfs::parse_estimate_json("{\"schema\":\"wsdedup.usage/1\"}", "u.json"), util::Fatal);
  EXPECT_THROW(zfs::parse_estimate_json("not json", "x.json"), util::Fatal);
}

TEST(MonitorCheck, MatchingEstimateIsWithinTolerance) {
  auto e = zfs::parse_estimate_json(estimate_doc(66, 1.8571, 1.3412), "e.json");
  std::vector<std::string> notes;
  auto cmp = zfs::compare_with_estimate(e, observation(66, 66 * 120, 1.86, 1.34), 0.0, notes);
  ASSERT_EQ(cmp.size(), 4u);
  for (const auto& c : cmp) EXPECT_TRUE(c.within) << c.figure << " " << c.predicted << " vs " << c.actual;
  EXPECT_TRUE(notes.empty());
  auto w = zfs::collect_warnings(observation(66, 66 * 120, 1.86, 1.34), zfs::RamBudget{1 << 20, "test"}, cmp, std::nullopt);
  EXPECT_TRUE(w.empty());
}

TEST(MonitorCheck, DriftIsAWarningWithAMeaning) {
  auto e = zfs::parse_estimate_json(estimate_doc(1000, 2.0, 1.5), "e.json");
  std::vector<std::string> notes;
  auto obs = observation(1500, 1500 * 120, 1.6, 1.5);
  auto cmp = zfs::compare_with_estimate(e, obs, 0.05, notes);
  ASSERT_EQ(cmp[0].key, "ddt_entries");
  EXPECT_FALSE(cmp[0].within);
  EXPECT_NEAR(cmp[0].difference, 0.5, 1e-9);
  EXPECT_NE(cmp[0].meaning.find("added"), std::string::npos);
  EXPECT_EQ(cmp[1].key, "dedup_ratio");
  EXPECT_FALSE(cmp[1].within);
  EXPECT_EQ(cmp[2].key, "compress_ratio");
  EXPECT_TRUE(cmp[2].within);
  auto w = zfs::collect_warnings(obs, zfs::RamBudget{0, ""}, cmp, std::nullopt);
  size_t mismatches = 0;
  for (const auto& x : w) mismatches += x.key == "estimate_mismatch";
  EXPECT_EQ(mismatches, 2u); // entries and ratio; the in-core size is informational
  EXPECT_FALSE(cmp[3].within);
  EXPECT_TRUE(cmp[3].informational);
}

TEST(MonitorCheck, SettingsThatDifferAreNamed) {
  auto e = zfs::parse_estimate_json(estimate_doc(1000, 2.0, 1.5, 16384, "gzip-6"), "e.json");
  std::vector<std::string> notes;
  auto cmp = zfs::compare_with_estimate(e, observation(2000, 1, 1.2, 1.5), 0.05, notes);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("recordsize 16.0 KiB"), std::string::npos) << notes[0];
  EXPECT_NE(notes[0].find("compression gzip-6"), std::string::npos) << notes[0];
  EXPECT_NE(cmp[0].meaning.find("--recordsize 131072"), std::string::npos) << cmp[0].meaning;
}

TEST(MonitorCheck, RamBudget) {
  zfs::ArcFigures arc;
  arc.exposed = true;
  arc.c_max = 16ull << 30;
  auto b = zfs::default_ram_budget(arc, 64ull << 30);
  EXPECT_EQ(b.bytes, 4ull << 30);
  EXPECT_NE(b.basis.find("c_max"), std::string::npos);
  auto fallback = zfs::default_ram_budget(zfs::ArcFigures{}, 64ull << 30);
  EXPECT_EQ(fallback.bytes, 8ull << 30);
  EXPECT_EQ(zfs::default_ram_budget(zfs::ArcFigures{}, 0).bytes, 0u);

  auto obs = observation(10'000'000, 3ull << 30, 1.5, 1.2);
  auto w = zfs::collect_warnings(obs, zfs::RamBudget{2ull << 30, "--ram-budget"}, {}, std::nullopt);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].key, "ddt_over_budget");
  EXPECT_NE(w[0].text.find("3.00 GiB"), std::string::npos) << w[0].text;
  EXPECT_NE(w[0].text.find("2.00 GiB"), std::string::npos) << w[0].text;
  EXPECT_TRUE(zfs::collect_warnings(obs, zfs::RamBudget{4ull << 30, "x"}, {}, std::nullopt).empty());
  // Over the ARC metadata limit of releases that have one.
  obs.arc.exposed = true;
  obs.arc.meta_limit = 1ull << 30;
  auto w2 = zfs::collect_warnings(obs, zfs::RamBudget{4ull << 30, "x"}, {}, std::nullopt);
  ASSERT_EQ(w2.size(), 1u);
  EXPECT_EQ(w2[0].key, "ddt_over_arc_meta_limit");
}

TEST(MonitorCheck, TrendAndDaysToBudget) {
  std::vector<zfs::HistoryPoint> pts;
  const int64_t day = 86'400'000;
  for (int i = 0; i < 8; ++i) {
    zfs::HistoryPoint p;
    p.time_ms = 1'700'000'000'000 + i * day;
    p.ddt_entries = 1000 + 100 * static_cast<uint64_t>(i);
    p.ddt_in_core = (100 + 10 * static_cast<uint64_t>(i)) << 20;
    p.dedup_ratio = 1.5;
    pts.push_back(p);
  }
  auto t = zfs::compute_trend(pts, 250ull << 20);
  EXPECT_EQ(t.runs, 8u);
  EXPECT_NEAR(t.days, 7.0, 1e-9);
  EXPECT_NEAR(*t.entries_per_day, 100.0, 1e-6);
  EXPECT_NEAR(*t.in_core_per_day, 10.0 * (1 << 20), 1e-3);
  EXPECT_NEAR(*t.days_to_budget, 8.0, 1e-6); // from 170 MiB, 80 MiB left at 10 MiB/day
  auto w = zfs::collect_warnings(observation(1700, 170ull << 20, 1.5, 1), zfs::RamBudget{250ull << 20, "x"}, {}, t);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].key, "ddt_budget_soon");
  // One run: no slope.
  auto one = zfs::compute_trend({pts[0]}, 1);
  EXPECT_FALSE(one.entries_per_day);
  EXPECT_FALSE(one.days_to_budget);
}

TEST(MonitorCheck, HistoryFileRoundTrip) {
  test::TempDir dir;
  const std::string path = dir / "hist.jsonl";
  {
    util::JsonLinesLog log(path);
    log.append(zfs::history_line(observation(10, 1000, 1.25, 1.0)), util::Durability::synced);
    auto other = observation(99, 9, 1.0, 1.0);
    other.target = {"other", "other/x"};
    log.append(zfs::history_line(other), util::Durability::synced);
    log.append(zfs::history_line(observation(20, 2000, 1.5, 1.0)), util::Durability::synced);
  }
  auto pts = zfs::read_history(path, "tank/ws");
  ASSERT_EQ(pts.size(), 2u);
  EXPECT_EQ(*pts[0].ddt_entries, 10u);
  EXPECT_EQ(*pts[1].ddt_in_core, 2000u);
  EXPECT_DOUBLE_EQ(*pts[1].dedup_ratio, 1.5);
  EXPECT_GT(pts[0].time_ms, 1'600'000'000'000);
}

TEST(MonitorCheck, RenderingsCarryTheFigures) {
  zfs::MonitorResult r;
  r.obs = observation(66, 8159, 1.86, 1.34);
  r.budget = {1 << 20, "--ram-budget"};
  r.warnings = zfs::collect_warnings(r.obs, zfs::RamBudget{4096, "--ram-budget"}, {}, std::nullopt);
  auto doc = zfs::monitor_to_json(r);
  EXPECT_EQ(doc["schema"], "wsdedup.monitor/1");
  EXPECT_EQ(doc["ddt"]["entries"], 66u);
  EXPECT_EQ(doc["ddt"]["in_core_bytes"], 8159u);
  EXPECT_EQ(doc["status"], "warning");
  const std::string prom = zfs::monitor_to_prometheus(r);
  EXPECT_NE(prom.find("# TYPE wsdedup_zfs_ddt_entries gauge\n"), std::string::npos) << prom;
  EXPECT_NE(prom.find("wsdedup_zfs_ddt_entries{pool=\"tank\"} 66\n"), std::string::npos) << prom;
  EXPECT_NE(prom.find("wsdedup_zfs_ddt_in_core_bytes{pool=\"tank\"} 8159\n"), std::string::npos) << prom;
  EXPECT_NE(prom.find("wsdedup_zfs_monitor_warnings{pool=\"tank\",dataset=\"tank/ws\"} 1\n"), std::string::npos) << prom;
  const std::string text = zfs::render_monitor_text(r, util::ExactBytes::yes);
  EXPECT_NE(text.find("ARC figures not exposed (zfs-fuse)"), std::string::npos);
  EXPECT_NE(text.find("8159"), std::string::npos);
  EXPECT_NE(text.find("WARNING: the DDT takes"), std::string::npos);
}
