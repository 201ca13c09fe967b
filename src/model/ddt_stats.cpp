#include "model/ddt_stats.hpp"

#include "model/nicenum.hpp"
#include "model/write_policy.hpp"

#include <bit>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace wsd::model {

void DdtStat::add(const DdtStat& o) {
  blocks += o.blocks;
  lsize += o.lsize;
  psize += o.psize;
  dsize += o.dsize;
  ref_blocks += o.ref_blocks;
  ref_lsize += o.ref_lsize;
  ref_psize += o.ref_psize;
  ref_dsize += o.ref_dsize;
}

unsigned bucket_of(uint64_t refcnt) {
  // ddt_histogram_add(): "int bucket = highbit64(dds->dds_ref_blocks) - 1;"
  return refcnt == 0 ? 0 : static_cast<unsigned>(std::bit_width(refcnt)) - 1;
}

DdtHistogram build_histogram(const DedupTable& table, const ModelConfig& config) {
  DdtHistogram h;
  table.for_each([&](const TableEntry& e) {
    if (e.info.embedded) {
      ++h.off_table.embedded_entries;
      h.off_table.embedded_refs += e.refcnt;
      h.off_table.embedded_lsize += e.refcnt * e.key.lsize;
      return;
    }
    // ddt_stat_generate(): one block per phys with a reference, x refcnt for "referenced".
    DdtStat s;
    s.blocks = 1;
    s.lsize = e.key.lsize;
    s.psize = e.info.psize;
    s.dsize = dsize_of(config, e.info.psize);
    s.ref_blocks = e.refcnt;
    s.ref_lsize = s.lsize * e.refcnt;
    s.ref_psize = s.psize * e.refcnt;
    s.ref_dsize = s.dsize * e.refcnt;
    h.buckets[bucket_of(e.refcnt)].add(s);
    h.total.add(s);
    if (e.refcnt == 1) {
      ++h.unique_entries;
    } else {
      ++h.duplicate_entries;
    }
  });
  return h;
}

DedupRatios dedup_ratios(const DdtStat& total) {
  DedupRatios r;
  if (total.blocks == 0) {
    return r;
  }
  const auto rl = static_cast<double>(total.ref_lsize);
  const auto rp = static_cast<double>(total.ref_psize);
  const auto rd = static_cast<double>(total.ref_dsize);
  const auto d = static_cast<double>(total.dsize);
  r.dedup = rd / d;
  r.compress = rl / rp;
  r.copies = rd / rp;
  r.combined = r.dedup * r.compress / r.copies;
  return r;
}

namespace {

// Counts use zfs_nicenum() in every release (zfs-fuse included: checked, 2047 blocks of
// 512 B print "1024K", not onnv nicenum()'s "1.00M").
std::string num(uint64_t v, ZdbFormat /*format*/) {
  return zfs_nicenum(v);
}

std::string bytes(uint64_t v, ZdbFormat format) {
  // dump_ddt_stat(): zfs_nicebytes() for the size columns in OpenZFS, zfs_nicenum() in onnv.
  return format == ZdbFormat::onnv ? zfs_nicenum(v) : zfs_nicebytes(v);
}

// dump_ddt_stat(): "%6s   %6s   %5s   %5s   %5s   %6s   %5s   %5s   %5s\n".
void row(std::string& out, const std::string& label, const DdtStat& s, ZdbFormat f) {
  out += fmt::format("{:>6}   {:>6}   {:>5}   {:>5}   {:>5}   {:>6}   {:>5}   {:>5}   {:>5}\n",
                     label, num(s.blocks, f), bytes(s.lsize, f), bytes(s.psize, f),
                     bytes(s.dsize, f), num(s.ref_blocks, f), bytes(s.ref_lsize, f),
                     bytes(s.ref_psize, f), bytes(s.ref_dsize, f));
}

} // namespace

std::string render_histogram(const DdtHistogram& histogram, ZdbFormat format) {
  std::string out = "\n";
  out += "bucket              allocated                       referenced          \n";
  out += "______   ______________________________   ______________________________\n";
  out += fmt::format("{:>6}   {:>6}   {:>5}   {:>5}   {:>5}   {:>6}   {:>5}   {:>5}   {:>5}\n",
                     "refcnt", "blocks", "LSIZE", "PSIZE", "DSIZE", "blocks", "LSIZE", "PSIZE",
                     "DSIZE");
  out += fmt::format("{:>6}   {:>6}   {:>5}   {:>5}   {:>5}   {:>6}   {:>5}   {:>5}   {:>5}\n",
                     "------", "------", "-----", "-----", "-----", "------", "-----", "-----",
                     "-----");
  for (unsigned h = 0; h < 64; ++h) {
    if (histogram.buckets[h].blocks == 0) {
      continue;
    }
    row(out, zfs_nicenum(uint64_t{1} << h), histogram.buckets[h], format);
  }
  if (histogram.total.blocks != 0) {
    row(out, "Total", histogram.total, format);
  }
  out += "\n";
  return out;
}

std::string render_ratio_line(const DdtStat& total) {
  if (total.blocks == 0) {
    return {};
  }
  const DedupRatios r = dedup_ratios(total);
  return fmt::format("dedup = {:.2f}, compress = {:.2f}, copies = {:.2f}, "
                     "dedup * compress / copies = {:.2f}\n\n",
                     r.dedup, r.compress, r.copies, r.combined);
}

std::string render_zdb_dd(const DdtHistogram& histogram, ZdbFormat format,
                          const DdtObjectSizes& sizes) {
  if (histogram.total.blocks == 0) {
    return "All DDTs are empty\n";
  }
  std::string out;
  auto object_line = [&](const char* cls, uint64_t count, uint64_t in_core) {
    if (count == 0) {
      return;
    }
    if (format == ZdbFormat::openzfs_fdt) {
      // 2.3 dump_ddt_object(): "%s: dspace=%llu; mspace=%llu; entries=%llu" (dspace: not
      // modelled, printed as 0).
      out += fmt::format("DDT-sha256-zap-{}: dspace={}; mspace={}; entries={}\n", cls, 0, in_core,
                         count);
    } else {
      // onnv / OpenZFS <= 2.2 dump_ddt(): "%s: %llu entries, size %llu on disk, %llu in core".
      out += fmt::format("DDT-sha256-zap-{}: {} entries, size {} on disk, {} in core\n", cls, count,
                         0, in_core / count);
    }
  };
  object_line("duplicate", histogram.duplicate_entries, sizes.duplicate_in_core);
  object_line("unique", histogram.unique_entries, sizes.unique_in_core);
  out += "\n";
  out += "DDT histogram (aggregated over all DDTs):\n";
  out += render_histogram(histogram, format);
  out += render_ratio_line(histogram.total);
  return out;
}

nlohmann::json ddt_to_json(const DdtHistogram& histogram, const DdtRamFigures& ram) {
  auto side = [](uint64_t b, uint64_t l, uint64_t p, uint64_t d) {
    return nlohmann::json{{"blocks", b}, {"lsize", l}, {"psize", p}, {"dsize", d}};
  };
  nlohmann::json rows = nlohmann::json::array();
  for (unsigned h = 0; h < 64; ++h) {
    const DdtStat& s = histogram.buckets[h];
    if (s.blocks == 0) {
      continue;
    }
    rows.push_back({{"refcnt_min", uint64_t{1} << h},
                    {"allocated", side(s.blocks, s.lsize, s.psize, s.dsize)},
                    {"referenced", side(s.ref_blocks, s.ref_lsize, s.ref_psize, s.ref_dsize)}});
  }
  const DedupRatios r = dedup_ratios(histogram.total);
  const DdtStat& t = histogram.total;
  return nlohmann::json{
      {"entries", histogram.entries()},
      {"unique_entries", histogram.unique_entries},
      {"duplicate_entries", histogram.duplicate_entries},
      {"histogram", rows},
      {"total",
       {{"allocated", side(t.blocks, t.lsize, t.psize, t.dsize)},
        {"referenced", side(t.ref_blocks, t.ref_lsize, t.ref_psize, t.ref_dsize)}}},
      {"embedded",
       {{"entries", histogram.off_table.embedded_entries},
        {"blocks", histogram.off_table.embedded_refs},
        {"lsize", histogram.off_table.embedded_lsize}}},
      {"dedup_ratio", r.dedup},
      {"compress_ratio", r.compress},
      {"copies_ratio", r.copies},
      {"ram_bytes",
       {{"legacy", ram.legacy},
        {"legacy_conservative", ram.legacy_conservative},
        {"fast_dedup", ram.fast_dedup}}},
  };
}

} // namespace wsd::model
