#pragma once
// Per-category and per-workspace figures of the ZFS model, through the model's per-block
// hook (model::BlockObserver): every committed block reference is charged to its file's
// category and workspace (referenced DSIZE: what ZFS with compression but without dedup
// would allocate), and the block's DDT entry is tagged with who references it. After the
// run, a block whose tag names one workspace is that workspace's unique bytes (nobody else
// references it: deleting the workspace frees it); a block tagged with one category is
// that category's exclusive DSIZE. The rest is shared. Every lane (recordsize) is attributed
// on its own, in the same read: tags cost 4 bytes per table slot of each lane, and the
// counters one GroupFigures per group and lane.

#include "model/block_sampler.hpp"
#include "model/zfs_model.hpp"
#include "scan/file_list.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace wsd::estimate {

/// The model's figures for one group of files (a category or a workspace).
struct GroupFigures {
  uint64_t files = 0;
  uint64_t logical_bytes = 0;
  uint64_t allocated_bytes = 0; // today (st_blocks), the "before"
  uint64_t ref_blocks = 0;      // block pointers to DDT entries or embedded
  uint64_t ref_dsize = 0;       // DSIZE of those references: ZFS compression, no dedup
  uint64_t exclusive_dsize = 0; // DSIZE of DDT entries only this group references
  double exclusive_bound = 0;   // two standard errors of exclusive_dsize when sampled
};

/// Everything the attribution found for one lane (recordsize).
struct AttributionResult {
  std::vector<GroupFigures> categories; // parallel to FileList::category_names
  std::vector<GroupFigures> workspaces; // index 0: (none), then workspace_names
  uint64_t shared_categories_dsize = 0; // DSIZE of entries referenced by several categories
  uint64_t shared_workspaces_dsize = 0; // DSIZE of entries referenced by several workspaces
};

class ThreadAttribution;

/// References to all-zero blocks of a group (never sampled out, so never scaled).
struct ScaledRefs {
  uint64_t blocks = 0;
  uint64_t dsize = 0;
};

/// The counters of one lane: per group figures and their all-zero references.
struct LaneTally {
  std::vector<GroupFigures> categories;
  std::vector<GroupFigures> workspaces;
  std::vector<ScaledRefs> zero_categories;
  std::vector<ScaledRefs> zero_workspaces;
};

/// Charges blocks of every model lane to categories and workspaces.
class Attribution {
public:
  /// Tags every lane of `model` (call before any file is fed).
  Attribution(model::ZfsModel& model, const scan::FileList& files);
  ~Attribution();
  Attribution(const Attribution&) = delete;
  Attribution& operator=(const Attribution&) = delete;

  /// An observer for one reader thread (merges its counters back when destroyed).
  std::unique_ptr<ThreadAttribution> make_thread();

  /// Reads the tags back (call after the run, when every thread object is gone), one result
  /// per lane in lane order; the sampled figures are scaled by 1 / sample_rate.
  std::vector<AttributionResult> finish(const model::BlockSampler& sampler) const;

private:
  friend class ThreadAttribution;
  void merge(const ThreadAttribution& thread);

  model::ZfsModel& m_model;
  const scan::FileList& m_files;
  std::mutex m_mutex;
  std::vector<LaneTally> m_lanes;
  bool m_sampling = false;
};

/// The BlockObserver of one reader thread.
class ThreadAttribution final : public model::BlockObserver {
public:
  explicit ThreadAttribution(Attribution& parent);
  ~ThreadAttribution() override;
  ThreadAttribution(const ThreadAttribution&) = delete;
  ThreadAttribution& operator=(const ThreadAttribution&) = delete;

  /// The file whose blocks come next, and whether its read succeeded.
  void set_file(const scan::FileEntry& entry);
  /// Counts the current file itself (once, when it was committed).
  void file_committed();
  void committed_block(size_t lane, const model::BlockKey& key,
                       const model::BlockInfo& info) override;

private:
  friend class Attribution;
  Attribution& m_parent;
  const scan::FileEntry* m_entry = nullptr;
  uint32_t m_tag = 0;
  std::vector<LaneTally> m_lanes;
};

/// Tag of a (workspace, category) pair: workspace + 1 in the low 24 bits, category + 1 in
/// the high 8; a field of all ones means "several".
uint32_t attribution_tag(uint32_t workspace, uint32_t category);
/// Field-wise merge of two tags (model::TagMerge).
uint32_t merge_attribution_tags(uint32_t stored, uint32_t incoming);

} // namespace wsd::estimate
