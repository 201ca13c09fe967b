// The per-block hook and the attribution built on it: tags survive table growth, merge
// field-wise, and a workspace's unique bytes are exactly the DSIZE of the blocks only it
// references; withdrawn files reach neither the observer nor the tags.

#include "estimate/attribution.hpp"
#include "model/ddt_table.hpp"
#include "model/zfs_model.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <string>

namespace wsd::estimate {
namespace {

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

TEST(DedupTableTags, SurviveGrowthAndMerge) {
  model::DedupTable table(2);
  table.enable_tags();
  auto key = [](uint64_t i) {
    return model::BlockKey{i * 0x9e3779b97f4a7c15ull, static_cast<uint32_t>(i * 2654435761u) & 0xffff0000u, 4096};
  };
  for (uint64_t i = 1; i <= 5000; ++i) {
    table.add_ref(key(i), model::BlockInfo{4096, false, false});
    table.merge_tag(key(i), attribution_tag(static_cast<uint32_t>(i % 7), 1), &merge_attribution_tags);
  }
  // Block 14 is referenced again from workspace 3: "several workspaces", same category.
  table.add_ref(key(14), model::BlockInfo{4096, false, false});
  table.merge_tag(key(14), attribution_tag(3, 1), &merge_attribution_tags);
  size_t seen = 0;
  table.for_each([&](const model::TableEntry& e) {
    ++seen;
    for (uint64_t i = 1; i <= 5000; ++i) {
      if (key(i) == e.key) {
        if (i == 14) {
          EXPECT_EQ(e.tag & 0xffffffu, 0xffffffu);
          EXPECT_EQ(e.tag >> 24, 2u);
        } else {
          EXPECT_EQ(e.tag, attribution_tag(static_cast<uint32_t>(i % 7), 1));
        }
        break;
      }
    }
  });
  EXPECT_EQ(seen, 5000u);
}

TEST(DedupTableTags, OffByDefault) {
  model::DedupTable table(2);
  const model::BlockKey k{1, 0x20000, 512};
  table.add_ref(k, model::BlockInfo{512, false, false});
  table.merge_tag(k, 5, &merge_attribution_tags);
  table.for_each([](const model::TableEntry& e) { EXPECT_EQ(e.tag, 0u); });
}

TEST(Attribution, UniqueBytesPerWorkspace) {
  scan::FileList files;
  files.workspace_names = {"w1", "w2"};
  files.category_names = {"node_modules", ".git", "other"};
  scan::FileEntry f;
  f.workspace = 1; // w1
  f.category = 2;
  f.st.size = 1;
  files.files = {f, f, f};
  files.files[1].workspace = 2; // w2
  model::ModelOptions o;
  o.compression = {model::Compression::off, 0};
  model::ZfsModel model(o);
  Attribution attribution(model, files);
  {
    auto feeder = model.make_feeder();
    auto observer = attribution.make_thread();
    feeder->set_observer(observer.get());
    const std::string shared = test::random_bytes(10000, 1); // LSIZE 10240, DSIZE 12288
    const std::string own = test::random_bytes(3000, 2);     // LSIZE 3072, DSIZE 4096
    observer->set_file(files.files[0]);
    feeder->add_file(as_bytes(shared));
    observer->file_committed();
    observer->set_file(files.files[1]);
    feeder->add_file(as_bytes(shared));
    observer->file_committed();
    observer->set_file(files.files[2]);
    feeder->add_file(as_bytes(own));
    observer->file_committed();
    // A withdrawn file of w2 leaves no trace.
    observer->set_file(files.files[1]);
    feeder->begin_file(own.size());
    feeder->data(0, as_bytes(own));
    feeder->end_file(model::FileOutcome::discard);
  }
  const std::vector<AttributionResult> lanes = attribution.finish(model::BlockSampler(1.0));
  ASSERT_EQ(lanes.size(), 1u);
  const AttributionResult& r = lanes[0];
  EXPECT_EQ(r.workspaces[1].exclusive_dsize, 4096u);  // w1: only its own file
  EXPECT_EQ(r.workspaces[2].exclusive_dsize, 0u);     // w2: the shared block only
  EXPECT_EQ(r.shared_workspaces_dsize, 12288u);
  EXPECT_EQ(r.workspaces[1].ref_dsize, 12288u + 4096u);
  EXPECT_EQ(r.workspaces[2].ref_dsize, 12288u);
  EXPECT_EQ(r.workspaces[2].files, 1u);
  EXPECT_EQ(r.categories[2].exclusive_dsize, 12288u + 4096u);
  EXPECT_EQ(r.shared_categories_dsize, 0u);
}

// Every recordsize is attributed on its own: a file that shares its first 64 KiB with a
// file of another category shares four 16K blocks but no 128K block.
TEST(Attribution, EveryRecordsizeOnItsOwn) {
  scan::FileList files;
  files.workspace_names = {"w1", "w2"};
  files.category_names = {"node_modules", ".git", "other"};
  scan::FileEntry a;
  a.workspace = 1;
  a.category = 0; // node_modules
  a.st.size = 131072;
  scan::FileEntry b = a;
  b.workspace = 2;
  b.category = 2; // other
  files.files = {a, b};
  model::ModelOptions o;
  o.compression = {model::Compression::off, 0};
  o.recordsizes = {16u << 10, 128u << 10};
  model::ZfsModel model(o);
  Attribution attribution(model, files);
  {
    auto feeder = model.make_feeder();
    auto observer = attribution.make_thread();
    feeder->set_observer(observer.get());
    const std::string first = test::random_bytes(131072, 3);
    const std::string second = first.substr(0, 65536) + test::random_bytes(65536, 4);
    observer->set_file(files.files[0]);
    feeder->add_file(as_bytes(first));
    observer->file_committed();
    observer->set_file(files.files[1]);
    feeder->add_file(as_bytes(second));
    observer->file_committed();
  }
  const std::vector<AttributionResult> lanes = attribution.finish(model::BlockSampler(1.0));
  ASSERT_EQ(lanes.size(), 2u);
  // 16K: blocks 0-3 shared, 4-7 each file's own.
  EXPECT_EQ(lanes[0].categories[0].exclusive_dsize, 65536u);
  EXPECT_EQ(lanes[0].categories[2].exclusive_dsize, 65536u);
  EXPECT_EQ(lanes[0].shared_categories_dsize, 65536u);
  EXPECT_EQ(lanes[0].workspaces[2].exclusive_dsize, 65536u);
  EXPECT_EQ(lanes[0].shared_workspaces_dsize, 65536u);
  EXPECT_EQ(lanes[0].categories[0].ref_blocks, 8u);
  // 128K: one block each, nothing shared.
  EXPECT_EQ(lanes[1].categories[0].exclusive_dsize, 131072u);
  EXPECT_EQ(lanes[1].categories[2].exclusive_dsize, 131072u);
  EXPECT_EQ(lanes[1].shared_categories_dsize, 0u);
  EXPECT_EQ(lanes[1].shared_workspaces_dsize, 0u);
  EXPECT_EQ(lanes[1].categories[0].ref_blocks, 1u);
  // The lane-independent figures are the same in both.
  for (const AttributionResult& r : lanes) {
    EXPECT_EQ(r.categories[0].files, 1u);
    EXPECT_EQ(r.categories[2].logical_bytes, 131072u);
    EXPECT_EQ(r.categories[0].ref_dsize, 131072u);
  }
}

} // namespace
} // namespace wsd::estimate
