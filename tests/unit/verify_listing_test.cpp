// Unit tests for verify's tree listing: the nodes come out in the asked order and each node
// still carries its own entry's metadata after the sort (the listing sorts pointers and moves
// each node once into place).

#include "fs/roots.hpp"
#include "fs/walker.hpp"
#include "test_util.hpp"
#include "verify/comparer.hpp"
#include "verify/tree_listing.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <sys/stat.h>

namespace wsd {
namespace {

// A tree whose file sizes encode their paths: file i of directory d holds d*100+i+1 bytes.
void make_tree(const std::string& root) {
  for (int d = 0; d < 12; ++d) {
    const std::string dir = root + fmt::format("/d{}", d % 2 == 0 ? "-" + std::to_string(d) : "/" + std::to_string(d));
    ::mkdir((root + "/d").c_str(), 0755);
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir;
    for (int i = 0; i < 30; ++i)
      test::write_file(fmt::format("{}/f{}", dir, i), std::string(static_cast<size_t>(d * 100 + i + 1), 'x'));
  }
}

TEST(VerifyListing, EachOrderIsSortedAndEveryNodeKeepsItsOwnMetadata) {
  test::TempDir a, b;
  make_tree(a.path());
  make_tree(b.path());
  const fs::RootSet roots({a.path(), b.path()});
  for (const auto order : {verify::ListingOrder::component, verify::ListingOrder::bytewise}) {
    fs::WalkOptions options;
    options.threads = 4; // entries gathered from several threads' vectors
    const verify::Listings l = verify::list_trees(roots, options, verify::ReadXattrs::no, nullptr, order);
    ASSERT_EQ(l.trees.size(), 2u);
    EXPECT_TRUE(l.errors.empty());
    for (const auto& tree : l.trees) {
      ASSERT_EQ(tree.nodes.size(), 1u + 1u + 12u + 12u * 30u); // root, "d", 12 dirs, files
      for (size_t k = 1; k < tree.nodes.size(); ++k) {
        const std::string& p = tree.nodes[k - 1].rel_path;
        const std::string& q = tree.nodes[k].rel_path;
        EXPECT_TRUE(order == verify::ListingOrder::component ? verify::path_less(p, q) : p < q)
            << p << " before " << q;
      }
      for (const auto& n : tree.nodes) {
        if (!n.st.is_regular()) continue;
        // "d-4/f7" or "d/5/f7": the size says which file this node's metadata came from.
        const size_t f = n.rel_path.rfind("/f");
        const std::string dir = n.rel_path.substr(0, f);
        const int d = std::stoi(dir.substr(dir.find_first_of("-/") + 1));
        const int i = std::stoi(n.rel_path.substr(f + 2));
        EXPECT_EQ(n.st.size, static_cast<uint64_t>(d * 100 + i + 1)) << n.rel_path;
      }
    }
    // The component order puts "d" and its descendants before "d-0".
    if (order == verify::ListingOrder::component) {
      const auto& nodes = l.trees[0].nodes;
      EXPECT_EQ(nodes[1].rel_path, "d");
      EXPECT_EQ(nodes[2].rel_path, "d/1");
    }
  }
}

} // namespace
} // namespace wsd
