#include "estimate/attribution.hpp"

#include "model/write_policy.hpp"

#include <algorithm>
#include <cmath>

namespace wsd::estimate {
namespace {

constexpr uint32_t k_ws_mask = 0x00ffffffu;
constexpr uint32_t k_cat_shift = 24;
constexpr uint32_t k_cat_mask = 0xffu;

void add_figures(std::vector<GroupFigures>& into, const std::vector<GroupFigures>& from) {
  for (size_t i = 0; i < from.size(); ++i) {
    GroupFigures& a = into[i];
    const GroupFigures& b = from[i];
    a.files += b.files;
    a.logical_bytes += b.logical_bytes;
    a.allocated_bytes += b.allocated_bytes;
    a.ref_blocks += b.ref_blocks;
    a.ref_dsize += b.ref_dsize;
  }
}

} // namespace

uint32_t attribution_tag(uint32_t workspace, uint32_t category) {
  const uint32_t ws = std::min(workspace + 1, k_ws_mask - 1);
  const uint32_t cat = std::min(category + 1, k_cat_mask - 1);
  return ws | (cat << k_cat_shift);
}

uint32_t merge_attribution_tags(uint32_t stored, uint32_t incoming) {
  const uint32_t ws = (stored & k_ws_mask) == (incoming & k_ws_mask) ? (stored & k_ws_mask)
                                                                     : k_ws_mask;
  const uint32_t cs = stored >> k_cat_shift;
  const uint32_t ci = incoming >> k_cat_shift;
  return ws | ((cs == ci ? cs : k_cat_mask) << k_cat_shift);
}

namespace {

LaneTally make_tally(size_t categories, size_t workspaces) {
  LaneTally t;
  t.categories.resize(categories);
  t.workspaces.resize(workspaces);
  t.zero_categories.resize(categories);
  t.zero_workspaces.resize(workspaces);
  return t;
}

void add_zero(std::vector<ScaledRefs>& into, const std::vector<ScaledRefs>& from) {
  for (size_t i = 0; i < from.size(); ++i) {
    into[i].blocks += from[i].blocks;
    into[i].dsize += from[i].dsize;
  }
}

} // namespace

Attribution::Attribution(model::ZfsModel& model, const scan::FileList& files)
    : m_model(model), m_files(files),
      m_lanes(model.lanes(), make_tally(files.category_names.size(), files.workspace_names.size() + 1)),
      m_sampling(model.options().sample_rate < 1.0) {
  for (size_t lane = 0; lane < m_model.lanes(); ++lane) m_model.table(lane).enable_tags();
}

Attribution::~Attribution() = default;

std::unique_ptr<ThreadAttribution> Attribution::make_thread() {
  return std::make_unique<ThreadAttribution>(*this);
}

void Attribution::merge(const ThreadAttribution& thread) {
  std::lock_guard lock(m_mutex);
  for (size_t lane = 0; lane < m_lanes.size(); ++lane) {
    LaneTally& into = m_lanes[lane];
    const LaneTally& from = thread.m_lanes[lane];
    add_figures(into.categories, from.categories);
    add_figures(into.workspaces, from.workspaces);
    add_zero(into.zero_categories, from.zero_categories);
    add_zero(into.zero_workspaces, from.zero_workspaces);
  }
}

std::vector<AttributionResult> Attribution::finish(const model::BlockSampler& sampler) const {
  std::vector<AttributionResult> out;
  for (size_t lane = 0; lane < m_lanes.size(); ++lane) {
    const LaneTally& tally = m_lanes[lane];
    AttributionResult r;
    r.categories = tally.categories;
    r.workspaces = tally.workspaces;
    std::vector<model::SampledSum> cat_sums(r.categories.size());
    std::vector<model::SampledSum> ws_sums(r.workspaces.size());
    model::SampledSum shared_cat;
    model::SampledSum shared_ws;
    const model::ModelConfig& config = m_model.config(lane);
    m_model.table(lane).for_each([&](const model::TableEntry& e) {
      if (e.info.embedded || e.tag == 0) {
        return;
      }
      const auto dsize = static_cast<double>(model::dsize_of(config, e.info.psize));
      const bool certain = m_sampling && model::is_zero_block_key(e.key);
      auto add = [&](model::SampledSum& sum) {
        if (certain) {
          sum.add_certain(dsize);
        } else {
          sum.add(dsize);
        }
      };
      const uint32_t ws = e.tag & k_ws_mask;
      const uint32_t cat = e.tag >> k_cat_shift;
      add(ws != k_ws_mask && ws >= 1 && ws - 1 < ws_sums.size() ? ws_sums[ws - 1] : shared_ws);
      add(cat != k_cat_mask && cat >= 1 && cat - 1 < cat_sums.size() ? cat_sums[cat - 1]
                                                                     : shared_cat);
    });
    const double rate = sampler.rate();
    auto put = [rate](GroupFigures& g, const model::SampledSum& s) {
      g.exclusive_dsize = static_cast<uint64_t>(std::llround(s.estimate(rate)));
      g.exclusive_bound = s.bound(rate);
    };
    if (!sampler.keeps_all()) {
      // References to sampled blocks stand for 1 / rate as many (all-zero blocks: weight 1).
      auto scale = [rate](std::vector<GroupFigures>& groups, const std::vector<ScaledRefs>& zero) {
        for (size_t i = 0; i < groups.size(); ++i) {
          GroupFigures& g = groups[i];
          const uint64_t zb = zero[i].blocks;
          const uint64_t zd = zero[i].dsize;
          g.ref_blocks = zb + static_cast<uint64_t>(std::llround(static_cast<double>(g.ref_blocks - zb) / rate));
          g.ref_dsize = zd + static_cast<uint64_t>(std::llround(static_cast<double>(g.ref_dsize - zd) / rate));
        }
      };
      scale(r.categories, tally.zero_categories);
      scale(r.workspaces, tally.zero_workspaces);
    }
    for (size_t i = 0; i < cat_sums.size(); ++i) put(r.categories[i], cat_sums[i]);
    for (size_t i = 0; i < ws_sums.size(); ++i) put(r.workspaces[i], ws_sums[i]);
    r.shared_categories_dsize = static_cast<uint64_t>(std::llround(shared_cat.estimate(rate)));
    r.shared_workspaces_dsize = static_cast<uint64_t>(std::llround(shared_ws.estimate(rate)));
    out.push_back(std::move(r));
  }
  return out;
}

ThreadAttribution::ThreadAttribution(Attribution& parent)
    : m_parent(parent),
      m_lanes(parent.m_lanes.size(),
              make_tally(parent.m_files.category_names.size(), parent.m_files.workspace_names.size() + 1)) {}

ThreadAttribution::~ThreadAttribution() {
  m_parent.merge(*this);
}

void ThreadAttribution::set_file(const scan::FileEntry& entry) {
  m_entry = &entry;
  m_tag = attribution_tag(entry.workspace, entry.category);
}

void ThreadAttribution::file_committed() {
  if (m_entry == nullptr) {
    return;
  }
  for (LaneTally& t : m_lanes) {
    for (GroupFigures* g : {&t.categories.at(m_entry->category), &t.workspaces.at(m_entry->workspace)}) {
      ++g->files;
      g->logical_bytes += m_entry->st.size;
      g->allocated_bytes += m_entry->st.allocated_bytes();
    }
  }
}

void ThreadAttribution::committed_block(size_t lane, const model::BlockKey& key,
                                        const model::BlockInfo& info) {
  if (lane >= m_lanes.size() || m_entry == nullptr) {
    return;
  }
  LaneTally& t = m_lanes[lane];
  const uint64_t dsize =
      info.embedded ? 0 : model::dsize_of(m_parent.m_model.config(lane), info.psize);
  for (GroupFigures* g : {&t.categories.at(m_entry->category), &t.workspaces.at(m_entry->workspace)}) {
    ++g->ref_blocks;
    g->ref_dsize += dsize;
  }
  if (m_parent.m_sampling && model::is_zero_block_key(key)) {
    for (ScaledRefs* z : {&t.zero_categories.at(m_entry->category), &t.zero_workspaces.at(m_entry->workspace)}) {
      ++z->blocks;
      z->dsize += dsize;
    }
  }
  if (!info.embedded) {
    m_parent.m_model.table(lane).merge_tag(key, m_tag, &merge_attribution_tags);
  }
}

} // namespace wsd::estimate
