#include "estimate/estimate_run.hpp"

#include "catalog/block_rows.hpp"
#include "catalog/result_memo.hpp"
#include "content/cached_hashes.hpp"
#include "content/file_hasher.hpp"
#include "fs/walker.hpp"
#include "model/write_policy.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <future>
#include <mutex>
#include <numeric>
#include <optional>
#include <string_view>

namespace wsd::estimate {
namespace {

int64_t wall_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string encode_digest(const content::Digest128& d) {
  std::string s(16, '\0');
  std::memcpy(s.data(), &d.low, 8);
  std::memcpy(s.data() + 8, &d.high, 8);
  return s;
}

bool decode_digest(std::string_view s, content::Digest128& d) {
  if (s.size() != 16) return false;
  std::memcpy(&d.low, s.data(), 8);
  std::memcpy(&d.high, s.data() + 8, 8);
  return true;
}

// The catalog side of a run: which rows a file needs, loaded once, and where to store.
struct CatalogLink {
  catalog::Catalog* catalog = nullptr;
  const catalog::FilesystemIds* fs_ids = nullptr;
  std::vector<std::string> lane_params; // zfs-blocks params per recordsize lane
  catalog::Catalog::Snapshot digests;   // xxh3-128 rows
  std::vector<catalog::Catalog::Snapshot> lanes;
  std::vector<std::string> cdc_params;            // cdc-chunks params per average (--cdc)
  std::vector<catalog::Catalog::Snapshot> cdc;    // their rows

  catalog::FileIdentity identity(const fs::FileStat& st) const {
    return catalog::FileIdentity::of(fs_ids->of(st.dev), st);
  }
};

// Everything one reader thread feeds, composed so each file is read once. With a catalog it
// also records each read file's rows, and replays files whose rows are fresh.
class EstimateConsumer final : public content::ContentConsumer {
public:
  EstimateConsumer(model::ZfsModel& model, Attribution& attribution, ChunkModel* chunks,
                   content::DigestTable& digests, const scan::FileList& files,
                   const fs::RootSet& roots, const content::ReaderOptions& reader_options,
                   std::mutex& error_mutex, std::vector<scan::ReportedError>& errors, const CatalogLink* link)
      : m_model(model), m_attribution(attribution.make_thread()),
        m_hasher(content::make_file_hasher(digests)), m_digests(digests), m_files(files),
        m_roots(roots), m_reader_options(reader_options), m_error_mutex(error_mutex), m_errors(errors), m_link(link),
        m_model_config(model) {
    if (m_link != nullptr) m_paths.emplace(*m_link->fs_ids, reader_options);
    m_model.feeder().set_observer(m_attribution.get());
    m_model.feeder().set_recording(m_link != nullptr);
    if (chunks != nullptr) {
      m_chunks = std::make_unique<ChunkFeeder>(*chunks);
    }
  }

  void begin(const content::FileJob& job) override {
    m_started_ns = wall_clock_ns();
    m_attribution->set_file(m_files.files.at(job.id));
    m_model.begin(job);
    // A file that is one block in some lane gets its whole-file digest from the model
    // (ZfsFileFeeder::file_digest: one hash for both when it ends in a non-zero byte).
    m_digest_from_model = m_model.feeder().gives_file_digest(job.size);
    if (!m_digest_from_model) m_hasher->begin(job);
    if (m_chunks) m_chunks->begin_file();
  }

  void data(uint64_t offset, std::span<const std::byte> bytes) override {
    m_model.data(offset, bytes);
    if (!m_digest_from_model) m_hasher->data(offset, bytes);
    if (m_chunks) m_chunks->data(bytes);
  }

  void hole(uint64_t offset, uint64_t length) override {
    m_model.hole(offset, length);
    if (!m_digest_from_model) m_hasher->hole(offset, length);
    if (m_chunks) m_chunks->zeros(length);
  }

  void end(const content::FileJob& job, const content::ReadResult& result) override {
    const bool ok = result.outcome == content::ReadOutcome::ok;
    m_model.end(job, result); // reports the committed blocks to the attribution
    if (ok) m_attribution->file_committed();
    if (m_digest_from_model) {
      // No block fed (nothing delivered): the digest of no bytes, as the hasher would give.
      const auto& d = m_model.feeder().file_digest();
      m_digests.digests.at(job.id) = d ? *d : content::hash_bytes({});
      m_digests.outcomes.at(job.id) = result.outcome;
    } else {
      m_hasher->end(job, result);
    }
    if (m_chunks) m_chunks->end_file(ok);
    if (result.outcome == content::ReadOutcome::error) {
      std::lock_guard lock(m_error_mutex);
      m_errors.push_back({m_roots.display_path(job.root, content::job_path(job, m_reader_options)), result.op,
                          util::errno_text(result.err)});
    }
    if (ok && m_link != nullptr && job.mtime_ns != 0) store(job);
  }

  /// Feeds file `id` from its catalog rows instead of its bytes; false (nothing counted)
  /// when a row is missing, stale or malformed, or lacks a fate this run needs.
  bool replay(size_t id) {
    const scan::FileEntry& f = m_files.files.at(id);
    const catalog::FileIdentity now = m_link->identity(f.st);
    const auto digest_row = m_link->digests.find(now);
    content::Digest128 digest;
    if (!digest_row || !decode_digest(digest_row->value, digest)) return false;
    model::ZfsFileFeeder& feeder = m_model.feeder();
    m_lane_records.resize(m_model_config.lanes());
    for (size_t lane = 0; lane < m_model_config.lanes(); ++lane) {
      const auto row = m_link->lanes[lane].find(now);
      if (!row) return false;
      auto blocks = catalog::decode_blocks(
          row->value, catalog::block_count(f.st.size, m_model_config.config(lane).recordsize));
      if (!blocks) return false;
      m_lane_records[lane] = std::move(*blocks);
    }
    if (m_chunks && !decode_cdc_rows(now)) return false;
    m_attribution->set_file(f);
    feeder.begin_file(f.st.size);
    for (size_t lane = 0; lane < m_lane_records.size(); ++lane) {
      for (const model::BlockRecord& b : m_lane_records[lane]) {
        if (!feeder.replay_block(lane, b)) {
          feeder.end_file(model::FileOutcome::discard);
          return false;
        }
      }
    }
    feeder.end_file(model::FileOutcome::commit);
    m_attribution->file_committed();
    if (m_chunks) {
      for (size_t i = 0; i < m_cdc_records.size(); ++i) m_chunks->replay(i, m_cdc_records[i]);
    }
    m_digests.digests.at(id) = digest;
    m_digests.outcomes.at(id) = content::ReadOutcome::ok;
    return true;
  }

private:
  // Each average's chunks of the file described by `now` from its cdc-chunks rows; false
  // when one is missing or malformed.
  bool decode_cdc_rows(const catalog::FileIdentity& now) {
    m_cdc_records.resize(m_link->cdc.size());
    for (size_t i = 0; i < m_link->cdc.size(); ++i) {
      const auto row = m_link->cdc[i].find(now);
      if (!row) return false;
      const auto chunks = catalog::decode_chunks(row->value, now.size);
      if (!chunks) return false;
      m_cdc_records[i].clear();
      for (const catalog::ChunkRecord& c : *chunks) m_cdc_records[i].push_back({c.hash_lo, c.hash_hi, c.length});
    }
    return true;
  }

  // Queues the rows of a file just read: its digest, each lane's blocks, each CDC average's
  // chunks.
  void store(const content::FileJob& job) {
    catalog::Row row;
    row.id = {m_link->fs_ids->of(job.dev), job.ino, job.size, job.mtime_ns, job.ctime_ns};
    row.computed_ns = m_started_ns; // the read began here: later changes are not in it
    row.value = encode_digest(m_digests.digests.at(job.id));
    m_link->catalog->put(content::hash_kind(content::ReadScope::whole), "", row, m_paths->of(job));
    for (size_t lane = 0; lane < m_model_config.lanes(); ++lane) {
      row.value = catalog::encode_blocks(m_model.feeder().recorded(lane));
      m_link->catalog->put(catalog::k_zfs_blocks_kind, m_link->lane_params[lane], row, {}); // path: once
    }
    if (m_chunks) {
      std::vector<catalog::ChunkRecord> records;
      for (size_t i = 0; i < m_link->cdc_params.size(); ++i) {
        records.clear();
        for (const ChunkKey& k : m_chunks->file_chunks(i)) records.push_back({k.hash_lo, k.hash_hi, k.length});
        row.value = catalog::encode_chunks(records);
        m_link->catalog->put(catalog::k_cdc_chunks_kind, m_link->cdc_params[i], row, {});
      }
    }
  }

  model::ZfsModelConsumer m_model;
  std::unique_ptr<ThreadAttribution> m_attribution;
  std::unique_ptr<content::ContentConsumer> m_hasher;
  std::unique_ptr<ChunkFeeder> m_chunks;
  content::DigestTable& m_digests;
  const scan::FileList& m_files;
  const fs::RootSet& m_roots;
  const content::ReaderOptions& m_reader_options;
  std::optional<content::StoredPaths> m_paths; // with a catalog
  std::mutex& m_error_mutex;
  std::vector<scan::ReportedError>& m_errors;
  const CatalogLink* m_link;
  const model::ZfsModel& m_model_config;
  int64_t m_started_ns = 0;
  bool m_digest_from_model = false;
  std::vector<std::vector<model::BlockRecord>> m_lane_records;
  std::vector<std::vector<ChunkKey>> m_cdc_records; // per CDC average, while replaying
};

// The cdc-chunks params of one average chunk size.
std::string cdc_params(uint32_t average) {
  return "avg=" + std::to_string(average);
}

uint64_t scaled(double v) {
  return static_cast<uint64_t>(std::llround(v));
}

// The histogram of a sampled table, each sampled entry standing for 1 / rate entries
// (all-zero blocks, always kept, for one).
LaneResult sampled_lane(const model::ZfsModel& zm, size_t lane, double rate) {
  LaneResult r;
  r.config = zm.config(lane);
  std::array<std::array<double, 8>, 64> b{};
  std::array<uint64_t, 64> present{};
  model::SampledSum entries;
  model::SampledSum dsize;
  model::SampledSum ref_dsize;
  model::SampledSum unique;
  model::SampledSum emb_entries;
  model::SampledSum emb_refs;
  model::SampledSum emb_lsize;
  uint64_t held = 0;
  zm.table(lane).for_each([&](const model::TableEntry& e) {
    const bool certain = model::is_zero_block_key(e.key);
    const double w = certain ? 1.0 : 1.0 / rate;
    auto add = [certain](model::SampledSum& s, double x) {
      if (certain) s.add_certain(x); else s.add(x);
    };
    if (e.info.embedded) {
      add(emb_entries, 1);
      add(emb_refs, static_cast<double>(e.refcnt));
      add(emb_lsize, static_cast<double>(e.refcnt * e.key.lsize));
      return;
    }
    ++held;
    const double ds = static_cast<double>(model::dsize_of(r.config, e.info.psize));
    const auto rc = static_cast<double>(e.refcnt);
    auto& row = b[model::bucket_of(e.refcnt)];
    present[model::bucket_of(e.refcnt)] = 1;
    row[0] += w;
    row[1] += w * e.key.lsize;
    row[2] += w * e.info.psize;
    row[3] += w * ds;
    row[4] += w * rc;
    row[5] += w * rc * e.key.lsize;
    row[6] += w * rc * e.info.psize;
    row[7] += w * rc * ds;
    add(entries, 1);
    add(dsize, ds);
    add(ref_dsize, rc * ds);
    if (e.refcnt == 1) add(unique, 1);
  });
  model::DdtHistogram& h = r.histogram;
  for (size_t i = 0; i < 64; ++i) {
    if (present[i] == 0) continue;
    model::DdtStat s{scaled(b[i][0]), scaled(b[i][1]), scaled(b[i][2]), scaled(b[i][3]),
                     scaled(b[i][4]), scaled(b[i][5]), scaled(b[i][6]), scaled(b[i][7])};
    if (s.blocks == 0) s.blocks = 1;
    h.buckets[i] = s;
    h.total.add(s);
  }
  h.unique_entries = std::min(h.total.blocks, scaled(unique.estimate(rate)));
  h.duplicate_entries = h.total.blocks - h.unique_entries;
  h.off_table.embedded_entries = scaled(emb_entries.estimate(rate));
  h.off_table.embedded_refs = scaled(emb_refs.estimate(rate));
  h.off_table.embedded_lsize = scaled(emb_lsize.estimate(rate));
  r.sampled_entries = held;
  r.entries_bound = entries.bound(rate);
  r.dsize_bound = dsize.bound(rate);
  r.ref_dsize_bound = ref_dsize.bound(rate);
  r.ram = model::estimate_ddt_ram(zm.table(lane), r.config);
  const double f = held == 0 ? 1.0 : static_cast<double>(h.total.blocks) / static_cast<double>(held);
  auto sc = [f](uint64_t v) { return scaled(static_cast<double>(v) * f); };
  r.ram.figures.legacy = sc(r.ram.figures.legacy);
  r.ram.figures.legacy_conservative = h.entries() * model::k_conservative_entry_bytes;
  r.ram.figures.fast_dedup = sc(r.ram.figures.fast_dedup);
  r.ram.zdb_objects.unique_in_core = sc(r.ram.zdb_objects.unique_in_core);
  r.ram.zdb_objects.duplicate_in_core = sc(r.ram.zdb_objects.duplicate_in_core);
  return r;
}

} // namespace

WholeFileResult whole_file_sharing(const scan::FileList& files,
                                   const std::vector<content::Digest128>& digests,
                                   const std::vector<bool>& ok, ByMetadata by_metadata) {
  // What must match for two files to share storage: reflinks and hardlinks work within one
  // filesystem; hardlinks also share owner, group, mode and mtime.
  struct Item {
    uint64_t dev;
    uint64_t size;
    content::Digest128 digest;
    uint32_t uid;
    uint32_t gid;
    uint32_t mode;
    int64_t mtime_ns;
    uint32_t index; // last: among equals, the first in (root, path) order is kept
    auto operator<=>(const Item&) const = default;
    bool same_content(const Item& o) const {
      return dev == o.dev && size == o.size && digest == o.digest && uid == o.uid &&
             gid == o.gid && mode == o.mode && mtime_ns == o.mtime_ns;
    }
  };
  const bool meta = by_metadata == ByMetadata::yes;
  std::vector<Item> items;
  for (size_t i = 0; i < files.files.size(); ++i) {
    const fs::FileStat& st = files.files[i].st;
    if (!ok[i] || st.size == 0) continue;
    items.push_back(Item{st.dev, st.size, digests[i], meta ? st.uid : 0u, meta ? st.gid : 0u,
                         meta ? st.mode : 0u, meta ? st.mtime_ns : int64_t{0},
                         static_cast<uint32_t>(i)});
  }
  std::sort(items.begin(), items.end());
  WholeFileResult r;
  for (size_t i = 0; i < items.size();) {
    size_t j = i + 1;
    while (j < items.size() && items[j].same_content(items[i])) ++j;
    if (j - i > 1) {
      ++r.groups;
      for (size_t k = i + 1; k < j; ++k) {
        const fs::FileStat& st = files.files[items[k].index].st;
        ++r.duplicate_files;
        r.saved_bytes += st.allocated_bytes();
        r.saved_logical += st.size;
      }
    }
    i = j;
  }
  return r;
}

namespace {

// The model configuration of each recordsize lane under `options`.
std::vector<model::ModelConfig> lane_configs(const EstimateOptions& options) {
  std::vector<model::ModelConfig> out;
  for (uint32_t rs : options.model.recordsizes) {
    model::ModelConfig c;
    c.profile = options.model.profile;
    c.recordsize = rs;
    c.ashift = options.model.ashift;
    c.compression = options.model.compression;
    c.copies = options.model.copies;
    out.push_back(c);
  }
  return out;
}

// Bump when the memo value's layout (or what a result means) changes.
constexpr uint32_t k_estimate_memo_version = 1;

} // namespace

std::string estimate_memo_key(const EstimateOptions& options, const std::vector<std::string>& roots) {
  std::string key = "estimate/" + std::to_string(k_estimate_memo_version);
  for (const model::ModelConfig& c : lane_configs(options)) {
    // The block rows' params (profile, recordsize, ashift, compression, holes, key version)
    // and what they leave to the accounting: copies.
    key += " lane(" + catalog::zfs_block_params(c, options.model.holes) +
           ",copies=" + std::to_string(c.copies) + ")";
  }
  char rate[64];
  std::snprintf(rate, sizeof rate, " sample=%a", options.model.sample_rate);
  key += rate;
  key += " cdc=";
  for (uint32_t avg : options.cdc_averages) key += std::to_string(avg) + ",";
  for (const std::string& r : roots) key += " root=" + std::to_string(r.size()) + ":" + r;
  return key;
}

std::optional<std::string> encode_estimate_memo(const EstimateResult& r) {
  if (!r.errors.empty() || r.reader.changed != 0 || r.reader.errors != 0) return std::nullopt;
  catalog::MemoWriter w;
  w.put(static_cast<uint64_t>(r.lanes.size()));
  for (const LaneResult& lane : r.lanes) {
    w.put(lane.histogram);
    w.put(lane.ram);
    w.put(lane.counters);
    w.put(lane.sampled_entries);
    w.put(lane.entries_bound);
    w.put(lane.dsize_bound);
    w.put(lane.ref_dsize_bound);
    w.put(lane.index_bytes);
    w.put_vector(lane.attribution.categories);
    w.put_vector(lane.attribution.workspaces);
    w.put(lane.attribution.shared_categories_dsize);
    w.put(lane.attribution.shared_workspaces_dsize);
  }
  w.put(r.reflink);
  w.put(r.hardlink);
  w.put_vector(r.cdc);
  w.put(r.files);
  w.put(r.logical_bytes);
  w.put(r.allocated_bytes);
  w.put(r.sample_rate);
  w.put(r.cdc_index_bytes);
  w.put(r.digest_bytes);
  return w.take();
}

std::optional<EstimateResult> decode_estimate_memo(std::string_view value, const EstimateOptions& options) {
  const std::vector<model::ModelConfig> configs = lane_configs(options);
  catalog::MemoReader in(value);
  EstimateResult r;
  uint64_t lanes = 0;
  in.get(lanes);
  if (!in.ok() || lanes != configs.size()) return std::nullopt;
  for (const model::ModelConfig& config : configs) {
    LaneResult lane;
    lane.config = config;
    in.get(lane.histogram);
    in.get(lane.ram);
    in.get(lane.counters);
    in.get(lane.sampled_entries);
    in.get(lane.entries_bound);
    in.get(lane.dsize_bound);
    in.get(lane.ref_dsize_bound);
    in.get(lane.index_bytes);
    in.get_vector(lane.attribution.categories);
    in.get_vector(lane.attribution.workspaces);
    in.get(lane.attribution.shared_categories_dsize);
    in.get(lane.attribution.shared_workspaces_dsize);
    r.lanes.push_back(std::move(lane));
  }
  in.get(r.reflink);
  in.get(r.hardlink);
  in.get_vector(r.cdc);
  in.get(r.files);
  in.get(r.logical_bytes);
  in.get(r.allocated_bytes);
  in.get(r.sample_rate);
  in.get(r.cdc_index_bytes);
  in.get(r.digest_bytes);
  if (!in.at_end()) return std::nullopt;
  if (!r.lanes.empty()) r.attribution = r.lanes.front().attribution;
  return r;
}

std::shared_ptr<CatalogPreload> preload_catalog_rows(const EstimateOptions& options) {
  if (options.catalog == nullptr) return nullptr;
  auto preload = std::make_shared<CatalogPreload>();
  for (uint32_t rs : options.model.recordsizes) {
    model::ModelConfig c;
    c.profile = options.model.profile;
    c.recordsize = rs;
    c.ashift = options.model.ashift;
    c.compression = options.model.compression;
    c.copies = options.model.copies;
    preload->lane_params.push_back(catalog::zfs_block_params(c, options.model.holes));
  }
  catalog::Catalog* cat = options.catalog;
  for (uint32_t avg : options.cdc_averages) preload->cdc_params.push_back(cdc_params(avg));
  CatalogPreload* p = preload.get(); // the shared_ptr outlives the future's wait in run_estimate
  preload->loaded = std::async(std::launch::async, [cat, p] {
    p->digests = cat->load(content::hash_kind(content::ReadScope::whole), "");
    for (const std::string& params : p->lane_params) {
      p->lanes.push_back(cat->load(catalog::k_zfs_blocks_kind, params));
    }
    for (const std::string& params : p->cdc_params) {
      p->cdc.push_back(cat->load(catalog::k_cdc_chunks_kind, params));
    }
  });
  return preload;
}

EstimateResult run_estimate(const fs::RootSet& roots, const scan::FileList& files,
                            const EstimateOptions& options, content::ReaderProgress* progress) {
  EstimateResult result;
  model::ZfsModel zm(options.model);
  Attribution attribution(zm, files); // every lane
  std::unique_ptr<ChunkModel> chunks;
  if (!options.cdc_averages.empty()) {
    chunks = std::make_unique<ChunkModel>(options.cdc_averages);
  }
  content::DigestTable digests(files.files.size());
  std::mutex error_mutex;

  // The catalog: loaded once (in the background since before the scan, when the caller
  // preloaded). A file is replayed only when every row it needs is fresh (digest, each
  // lane's blocks, each CDC average's chunks); otherwise it is read and all its rows stored.
  std::unique_ptr<CatalogLink> link;
  std::unique_ptr<catalog::FilesystemIds> fs_ids;
  std::shared_ptr<CatalogPreload> preload = options.preload ? options.preload : preload_catalog_rows(options);
  if (options.catalog != nullptr) {
    fs_ids = std::make_unique<catalog::FilesystemIds>(roots);
    link = std::make_unique<CatalogLink>();
    link->catalog = options.catalog;
    link->fs_ids = fs_ids.get();
    for (size_t lane = 0; lane < zm.lanes(); ++lane) {
      link->lane_params.push_back(catalog::zfs_block_params(zm.config(lane), options.model.holes));
    }
    for (uint32_t avg : options.cdc_averages) link->cdc_params.push_back(cdc_params(avg));
    if (preload) {
      preload->loaded.get();
      link->digests = std::move(preload->digests);
      link->lanes = std::move(preload->lanes);
      link->cdc = std::move(preload->cdc);
    }
  }
  const bool replay = link != nullptr;

  content::ReaderOptions ro;
  ro.threads = options.threads;
  ro.cross_fs = options.cross_fs;
  // Jobs name their file by directory and name: the reader reuses the open directory, and
  // the catalog rows their directory's stored path.
  ro.dir_path = [&files](uint32_t dir) { return files.paths.dir_path(dir); };
  content::ContentReader reader(roots, ro);
  const auto t0 = std::chrono::steady_clock::now();
  auto make_consumer = [&]() {
    return std::make_unique<EstimateConsumer>(zm, attribution, chunks.get(), digests, files,
                                              roots, ro, error_mutex, result.errors, link.get());
  };
  result.reader = reader.run(
      [&](const std::function<void(content::FileJob)>& push) {
        auto push_file = [&](size_t i) {
          const scan::FileEntry& f = files.files[i];
          push(content::FileJob::in_dir(i, f.root, f.dir, files.paths.name(f.name), f.st));
          ++result.catalog_misses;
        };
        if (!replay) {
          for (size_t i = 0; i < files.files.size(); ++i) push_file(i);
          return;
        }
        // Files with fresh rows are replayed first, by one thread per core over stripes of
        // the list (each with its own consumer, as the readers have); the files left are
        // then read. A first run only looks each file up in an empty snapshot.
        const unsigned workers = std::max(1u, std::min(fs::resolve_threads(options.threads), 16u));
        constexpr size_t k_stripe = 4096; // files per stripe: neighbours share cache lines
        std::vector<std::vector<uint32_t>> missed(workers);
        std::vector<uint64_t> hits(workers, 0);
        std::vector<std::future<void>> running;
        for (unsigned w = 0; w < workers; ++w) {
          running.push_back(std::async(std::launch::async, [&, w] {
            const std::unique_ptr<EstimateConsumer> replayer = make_consumer();
            for (size_t begin = size_t{w} * k_stripe; begin < files.files.size(); begin += size_t{workers} * k_stripe) {
              const size_t end = std::min(files.files.size(), begin + k_stripe);
              for (size_t i = begin; i < end; ++i) {
                if (replayer->replay(i)) ++hits[w];
                else missed[w].push_back(static_cast<uint32_t>(i));
              }
            }
          }));
        }
        for (auto& r : running) r.get();
        std::vector<uint32_t> all_missed;
        for (unsigned w = 0; w < workers; ++w) {
          result.catalog_hits += hits[w];
          all_missed.insert(all_missed.end(), missed[w].begin(), missed[w].end());
        }
        std::sort(all_missed.begin(), all_missed.end()); // read in list order, as without a catalog
        for (const uint32_t i : all_missed) push_file(i);
      },
      [&](unsigned /*thread*/) -> std::unique_ptr<content::ContentConsumer> {
        return make_consumer();
      },
      progress);
  if (link) options.catalog->flush();
  result.read_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const model::BlockSampler sampler(options.model.sample_rate);
  result.sample_rate = sampler.rate();
  for (size_t lane = 0; lane < zm.lanes(); ++lane) {
    LaneResult lr;
    if (sampler.keeps_all()) {
      lr.config = zm.config(lane);
      lr.histogram = zm.histogram(lane);
      lr.ram = model::estimate_ddt_ram(zm.table(lane), lr.config);
      lr.sampled_entries = lr.histogram.entries();
    } else {
      lr = sampled_lane(zm, lane, sampler.rate());
    }
    lr.counters = zm.counters(lane);
    lr.index_bytes = zm.table(lane).index_bytes();
    result.lanes.push_back(std::move(lr));
  }
  std::vector<AttributionResult> attributed = attribution.finish(sampler);
  for (size_t lane = 0; lane < result.lanes.size(); ++lane) {
    result.lanes[lane].attribution = std::move(attributed.at(lane));
  }
  if (!result.lanes.empty()) result.attribution = result.lanes.front().attribution;

  std::vector<bool> ok(files.files.size());
  for (size_t i = 0; i < files.files.size(); ++i) {
    ok[i] = digests.outcomes[i] == content::ReadOutcome::ok;
    const scan::FileEntry& f = files.files[i];
    ++result.files;
    result.logical_bytes += f.st.size;
    result.allocated_bytes += f.st.allocated_bytes();
  }
  result.digest_bytes = digests.digests.capacity() * sizeof(content::Digest128) +
                        digests.outcomes.capacity() * sizeof(content::ReadOutcome);
  result.reflink = whole_file_sharing(files, digests.digests, ok, ByMetadata::no);
  result.hardlink = whole_file_sharing(files, digests.digests, ok, ByMetadata::yes);
  if (chunks) {
    for (size_t i = 0; i < chunks->averages().size(); ++i) {
      result.cdc.push_back({chunks->averages()[i], chunks->index(i).totals()});
      result.cdc_index_bytes += chunks->index(i).index_bytes();
    }
  }
  std::sort(result.errors.begin(), result.errors.end(),
            [](const scan::ReportedError& a, const scan::ReportedError& b) { return a.path < b.path; });
  return result;
}

} // namespace wsd::estimate
