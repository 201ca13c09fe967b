// Parsers of the ZFS tools' dedup output, against outputs captured from zfs-fuse on this
// machine (tests/fixtures/zfs/zfs-fuse-*) and OpenZFS 2.2/2.3 outputs written from their
// format strings (openzfs-*; openzfs-synthetic-truth.json holds the exact numbers behind them).

#include "model/nicenum.hpp"
#include "zfs/pool_observer.hpp"
#include "zfs/zfs_parse.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <random>
#include <sstream>

using namespace wsd;

namespace {

std::string fixture_dir() {
  std::string here = __FILE__; // .../tests/unit/zfs_parse_test.cpp
  return here.substr(0, here.rfind("/unit/")) + "/fixtures/zfs/";
}

std::string fixture(const std::string& name) {
  std::ifstream in(fixture_dir() + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json truth() { return nlohmann::json::parse(fixture("openzfs-synthetic-truth.json")); }

} // namespace

TEST(ZfsParse, NicenumRoundTripsEveryFormat) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200000; ++i) {
    const unsigned bits = static_cast<unsigned>(rng() % 62);
    const uint64_t n = rng() >> (63 - bits);
    for (const std::string& text : {model::zfs_nicenum(n), model::zfs_nicebytes(n), model::onnv_nicenum(n)}) {
      auto p = zfs::parse_nicenum(text);
      ASSERT_TRUE(p) << text;
      ASSERT_TRUE(p->admits(n)) << n << " printed as " << text << " parsed to [" << p->low << ", " << p->high << "]";
    }
  }
}

TEST(ZfsParse, NicenumValues) {
  auto a = zfs::parse_nicenum("1.03M");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->exact);
  EXPECT_EQ(a->value, 1080033u); // 1.03 * 2^20 rounded
  EXPECT_TRUE(a->admits(1075839));  // 1.025 MiB
  EXPECT_TRUE(a->admits(1085276));  // 1.0349998 MiB still prints as 1.03M
  EXPECT_FALSE(a->admits(1085277)); // 1.0350008 MiB prints as 1.04M
  auto b = zfs::parse_nicenum("512B");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->exact);
  EXPECT_EQ(b->value, 512u);
  auto c = zfs::parse_nicenum("66");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->exact);
  EXPECT_EQ(c->value, 66u);
  auto d = zfs::parse_nicenum("128K");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->value, 131072u);
  EXPECT_FALSE(zfs::parse_nicenum("-"));
  EXPECT_FALSE(zfs::parse_nicenum("1.2.3K"));
  EXPECT_FALSE(zfs::parse_nicenum("K"));
  EXPECT_FALSE(zfs::parse_nicenum("12Q"));
  EXPECT_FALSE(zfs::parse_nicenum(""));
}

TEST(ZfsParse, Ratio) {
  EXPECT_DOUBLE_EQ(*zfs::parse_ratio("1.86x"), 1.86);
  EXPECT_DOUBLE_EQ(*zfs::parse_ratio("1.00"), 1.0);
  EXPECT_FALSE(zfs::parse_ratio("x"));
  EXPECT_FALSE(zfs::parse_ratio("-"));
}

TEST(ZfsParse, ZfsFuseZpoolStatus) {
  auto s = zfs::parse_zpool_status_dedup(fixture("zfs-fuse-zpool-status-D.txt"));
  ASSERT_TRUE(s.present);
  EXPECT_EQ(s.entries, 66u);
  EXPECT_EQ(s.on_disk.value, 744u);
  EXPECT_TRUE(s.on_disk.exact);
  EXPECT_EQ(s.in_core.value, 124u);
  EXPECT_FALSE(s.cached);
}

TEST(ZfsParse, ZfsFuseZdb) {
  for (const char* name : {"zfs-fuse-zdb-DD.txt", "zfs-fuse-zdb-DDD.txt"}) {
    SCOPED_TRACE(name);
    auto z = zfs::parse_zdb_ddt(fixture(name));
    EXPECT_FALSE(z.empty);
    ASSERT_EQ(z.objects.size(), 2u);
    EXPECT_EQ(z.objects[0].name, "DDT-sha256-zap-duplicate");
    EXPECT_EQ(z.objects[0].entries, 29u);
    EXPECT_EQ(z.objects[0].on_disk, 847u);
    EXPECT_EQ(z.objects[0].in_core, 141u);
    EXPECT_EQ(z.objects[0].scale, zfs::DdtSizeScale::per_entry);
    EXPECT_EQ(z.objects[1].name, "DDT-sha256-zap-unique");
    EXPECT_EQ(z.objects[1].entries, 37u);
    EXPECT_EQ(z.entries(), 66u);
    EXPECT_EQ(z.in_core_bytes(), 29u * 141 + 37u * 110);
    EXPECT_EQ(z.on_disk_bytes(), 29u * 847 + 37u * 664);
    ASSERT_EQ(z.histogram.size(), 4u);
    EXPECT_EQ(z.histogram[0].refcnt_min, 1u);
    EXPECT_EQ(z.histogram[0].blocks.value, 37u);
    EXPECT_EQ(z.histogram[0].lsize.value, 592u * 1024);
    EXPECT_EQ(z.histogram[1].refcnt_min, 2u);
    EXPECT_EQ(z.histogram[1].ref_blocks.value, 71u);
    EXPECT_EQ(z.histogram[2].refcnt_min, 4u);
    EXPECT_EQ(z.histogram[2].psize.value, 3u * 1024);
    const zfs::DdtHistogramRow* total = z.total_row();
    ASSERT_NE(total, nullptr);
    EXPECT_EQ(total->blocks.value, 66u);
    EXPECT_EQ(total->ref_blocks.value, 120u);
    EXPECT_EQ(total->lsize.text, "1.03M");
    ASSERT_TRUE(z.ratios);
    EXPECT_DOUBLE_EQ(z.ratios->dedup, 1.86);
    EXPECT_DOUBLE_EQ(z.ratios->compress, 1.34);
    EXPECT_DOUBLE_EQ(z.ratios->copies, 1.09);
    EXPECT_DOUBLE_EQ(z.ratios->combined, 2.27);
    EXPECT_EQ(z.format, "");
  }
}

TEST(ZfsParse, ZfsFuseFigures) {
  zfs::Observation obs;
  zfs::fill_ddt_figures(obs, fixture("zfs-fuse-zpool-status-D.txt"), fixture("zfs-fuse-zdb-DD.txt"), "");
  ASSERT_TRUE(obs.ddt_entries.value);
  EXPECT_EQ(*obs.ddt_entries.value, 66u);
  ASSERT_TRUE(obs.ddt_in_core.value);
  EXPECT_EQ(*obs.ddt_in_core.value, 29u * 141 + 37u * 110); // zdb's per-object figures
  EXPECT_FALSE(obs.ddt_in_core.exact);
  ASSERT_TRUE(obs.dedup_ratio);
  EXPECT_DOUBLE_EQ(*obs.dedup_ratio, 1.86);
  EXPECT_EQ(obs.dedup_ratio_source, "zdb -DD");
  // Without zdb: zpool status's per-entry average times the entries.
  zfs::Observation no_zdb;
  zfs::fill_ddt_figures(no_zdb, fixture("zfs-fuse-zpool-status-D.txt"), "", "");
  EXPECT_EQ(*no_zdb.ddt_in_core.value, 66u * 124);
  EXPECT_FALSE(no_zdb.dedup_ratio);
}

TEST(ZfsParse, ZfsFuseListAndGet) {
  const std::string list = fixture("zfs-fuse-zpool-list-H.txt");
  auto words = zfs::split_words(list);
  ASSERT_EQ(words.size(), 5u);
  EXPECT_EQ(words[0], "wsdmonfx");
  EXPECT_DOUBLE_EQ(*zfs::parse_ratio(words[4]), 1.86);
  auto props = zfs::parse_get_output(fixture("zfs-fuse-zfs-get-Hp-all.txt"));
  EXPECT_EQ(props["used"], "1781760");
  EXPECT_EQ(props["compressratio"], "1.33x");
  EXPECT_EQ(props["dedup"], "on");
  EXPECT_EQ(props["recordsize"], "16384");
  EXPECT_EQ(props["compression"], "lzjb");
  EXPECT_EQ(props.count("logicalused"), 0u);
  // The four-column form (name, property, value, source).
  auto four = zfs::parse_get_output("tank/ws\tused\t123456\t-\ntank/ws\tdedup\ton\tlocal\n");
  EXPECT_EQ(four["used"], "123456");
  EXPECT_EQ(four["dedup"], "on");
}

TEST(ZfsParse, OpenZfs233) {
  const nlohmann::json t = truth();
  auto z = zfs::parse_zdb_ddt(fixture("openzfs-2.3.3-zdb-DD.txt"));
  EXPECT_EQ(z.format, "FDT");
  ASSERT_EQ(z.objects.size(), 2u); // the DDT-log lines are not ZAP objects
  EXPECT_EQ(z.objects[0].scale, zfs::DdtSizeScale::total);
  EXPECT_EQ(z.objects[0].entries, t["duplicate"].get<uint64_t>());
  EXPECT_EQ(z.objects[0].in_core, t["d_mspace"].get<uint64_t>());
  EXPECT_EQ(z.objects[1].on_disk, t["u_dspace"].get<uint64_t>());
  EXPECT_EQ(z.entries(), 1234567u);
  EXPECT_EQ(z.in_core_bytes(), t["in_core"].get<uint64_t>());
  EXPECT_EQ(z.on_disk_bytes(), t["on_disk"].get<uint64_t>());
  ASSERT_EQ(z.histogram.size(), 5u);
  for (size_t i = 0; i < 4; ++i) {
    const auto& row = t["rows"][i];
    const auto& h = z.histogram[i];
    EXPECT_EQ(h.refcnt_min, row[0].get<uint64_t>());
    const zfs::PrintedNumber* cols[8] = {&h.blocks, &h.lsize, &h.psize, &h.dsize,
                                         &h.ref_blocks, &h.ref_lsize, &h.ref_psize, &h.ref_dsize};
    for (size_t c = 0; c < 8; ++c)
      EXPECT_TRUE(cols[c]->admits(row[c + 1].get<uint64_t>())) << "row " << i << " col " << c << " " << cols[c]->text;
  }
  ASSERT_NE(z.total_row(), nullptr);
  EXPECT_TRUE(z.total_row()->blocks.admits(1234567));
  EXPECT_TRUE(z.total_row()->ref_dsize.admits(t["total"][7].get<uint64_t>()));
  ASSERT_TRUE(z.ratios);
  EXPECT_NEAR(z.ratios->dedup, t["dedup"].get<double>(), 0.005);
  EXPECT_NEAR(z.ratios->compress, t["compress"].get<double>(), 0.005);

  auto s = zfs::parse_zpool_status_dedup(fixture("openzfs-2.3.3-zpool-status-D.txt"));
  ASSERT_TRUE(s.present);
  EXPECT_EQ(s.entries, 1234567u);
  EXPECT_TRUE(s.in_core.admits(t["in_core"].get<uint64_t>()));
  EXPECT_TRUE(s.on_disk.admits(t["on_disk"].get<uint64_t>()));
  ASSERT_TRUE(s.cached);
  EXPECT_TRUE(s.cached->admits(t["cached"].get<uint64_t>()));
  auto hist = zfs::parse_ddt_histogram(fixture("openzfs-2.3.3-zpool-status-D.txt"));
  EXPECT_EQ(hist.size(), 5u);

  auto literal = zfs::parse_zpool_status_dedup(fixture("openzfs-2.3.3-zpool-status-Dp-line.txt"));
  ASSERT_TRUE(literal.present);
  EXPECT_TRUE(literal.in_core.exact);
  EXPECT_EQ(literal.in_core.value, t["in_core"].get<uint64_t>());
  EXPECT_EQ(literal.on_disk.value, t["on_disk"].get<uint64_t>());

  // Figures: zdb's exact totals; zpool status alone: its (rounded) totals.
  zfs::Observation obs;
  zfs::fill_ddt_figures(obs, fixture("openzfs-2.3.3-zpool-status-D.txt"), fixture("openzfs-2.3.3-zdb-DD.txt"),
                        "zfs-2.3.3-1");
  EXPECT_EQ(*obs.ddt_entries.value, 1234567u);
  EXPECT_EQ(*obs.ddt_in_core.value, t["in_core"].get<uint64_t>());
  EXPECT_TRUE(obs.ddt_in_core.exact);
  zfs::Observation status_only;
  zfs::fill_ddt_figures(status_only, fixture("openzfs-2.3.3-zpool-status-D.txt"), "", "");
  // ", N cached" proves 2.3+ even without a version: totals, not per entry.
  EXPECT_NEAR(static_cast<double>(*status_only.ddt_in_core.value), t["in_core"].get<double>(),
              t["in_core"].get<double>() * 0.005);
}

TEST(ZfsParse, OpenZfs227PerEntry) {
  const nlohmann::json t = truth();
  auto z = zfs::parse_zdb_ddt(fixture("openzfs-2.2.7-zdb-DD.txt"));
  ASSERT_EQ(z.objects.size(), 2u);
  EXPECT_EQ(z.objects[0].scale, zfs::DdtSizeScale::per_entry);
  const uint64_t exact = t["in_core"].get<uint64_t>();
  EXPECT_LE(z.in_core_bytes(), exact);
  EXPECT_GT(z.in_core_bytes() + z.entries(), exact); // truncated averages: low by < 1 B/entry
  zfs::Observation obs;
  zfs::fill_ddt_figures(obs, fixture("openzfs-2.2.7-zpool-status-D.txt"), "", "zfs-2.2.7-1");
  EXPECT_EQ(*obs.ddt_in_core.value, 1234567u * 573); // per-entry average x entries
  EXPECT_FALSE(obs.ddt_in_core.exact);
}

TEST(ZfsParse, EmptyDdt) {
  auto s = zfs::parse_zpool_status_dedup(fixture("openzfs-2.3.3-zpool-status-D-empty.txt"));
  EXPECT_TRUE(s.present);
  EXPECT_EQ(s.entries, 0u);
  auto z = zfs::parse_zdb_ddt("All DDTs are empty\n");
  EXPECT_TRUE(z.empty);
  zfs::Observation obs;
  zfs::fill_ddt_figures(obs, fixture("openzfs-2.3.3-zpool-status-D-empty.txt"), "All DDTs are empty\n", "");
  EXPECT_EQ(*obs.ddt_entries.value, 0u);
  EXPECT_EQ(*obs.ddt_in_core.value, 0u);
}

TEST(ZfsParse, NoDedupLineAtAll) {
  auto s = zfs::parse_zpool_status_dedup("  pool: tank\n state: ONLINE\nerrors: No known data errors\n");
  EXPECT_FALSE(s.present);
  auto z = zfs::parse_zdb_ddt("garbage\nDDT-sha256-zap-unique: nonsense here\n");
  EXPECT_TRUE(z.objects.empty());
}

TEST(ZfsParse, VersionScale) {
  EXPECT_TRUE(zfs::ddt_sizes_are_totals("zfs-2.3.3-1"));
  EXPECT_TRUE(zfs::ddt_sizes_are_totals("zfs-2.4.0-rc1"));
  EXPECT_TRUE(zfs::ddt_sizes_are_totals("zfs-kmod-2.3.0"));
  EXPECT_FALSE(zfs::ddt_sizes_are_totals("zfs-2.2.7-1"));
  EXPECT_FALSE(zfs::ddt_sizes_are_totals("zfs-0.8.6-1"));
  EXPECT_FALSE(zfs::ddt_sizes_are_totals(""));
}

TEST(ZfsParse, Arcstats) {
  auto arc = zfs::read_arcstats(fixture_dir() + "openzfs-2.3.3-arcstats.txt");
  ASSERT_TRUE(arc.exposed);
  EXPECT_EQ(*arc.c_max, 16843894784u);
  EXPECT_EQ(*arc.size, 8123456789u);
  EXPECT_EQ(*arc.meta_used, 3100000000u);
  EXPECT_FALSE(arc.meta_limit); // gone since OpenZFS 2.2
  EXPECT_EQ(*arc.demand_metadata_misses, 1200000u);
  auto old = zfs::read_arcstats(fixture_dir() + "openzfs-2.1.5-arcstats.txt");
  ASSERT_TRUE(old.exposed);
  EXPECT_EQ(*old.meta_limit, 3145728000u);
  auto none = zfs::read_arcstats(fixture_dir() + "no-such-arcstats");
  EXPECT_FALSE(none.exposed);
  auto kv = zfs::parse_kstat("13 1 0x01 2 80 1 2\nname  type data\nsize 4 42\nname_str 7 text\n");
  EXPECT_EQ(kv.size(), 1u);
  EXPECT_EQ(kv["size"], 42u);
}
