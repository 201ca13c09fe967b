#pragma once
// Everything `verify` compares about two trees, gathered in one walk of both roots: every
// entry's metadata, symlink targets read with readlinkat on the walker's directory fd, and
// (with --metadata) extended attributes, ACLs included, read through an O_PATH descriptor.

#include "fs/roots.hpp"
#include "fs/walker.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsd::verify {

enum class ReadXattrs { no, yes };

/// One entry of one tree.
struct Node {
  std::string rel_path; // "" for the root itself
  fs::FileStat st;
  bool stat_deferred = false; // a regular file listed without statx (st: type, ino, dev only)
  std::string link_target;                                 // symlinks only
  uint64_t rdev = 0;                                       // char/block devices only (st_rdev)
  std::vector<std::pair<std::string, std::string>> xattrs; // sorted by name; with ReadXattrs::yes
};

/// A per-path problem met while listing (the path is display form: "root/rel").
struct ListingError {
  std::string path;
  std::string op;
  std::string message;
};

/// The order of TreeListing::nodes.
enum class ListingOrder {
  bytewise,  // std::string's operator<
  component, // verify::path_less ("a/b" before "a-b"): a directory's descendants follow it
};

/// One tree's entries sorted by rel_path (bytewise unless list_trees was asked otherwise).
struct TreeListing {
  std::vector<Node> nodes;
};

struct Listings {
  std::vector<TreeListing> trees; // one per root of the RootSet
  std::vector<ListingError> errors;
  fs::WalkStats walk;
};

/// Walks every root of `roots` once (in one parallel walk) and lists it, each tree's nodes
/// sorted in `order`.
Listings list_trees(const fs::RootSet& roots, const fs::WalkOptions& options, ReadXattrs xattrs,
                    fs::WalkProgress* progress, ListingOrder order = ListingOrder::bytewise);

/// True for trusted.SGI_ACL_FILE/DEFAULT: XFS's second view of the POSIX ACLs that
/// system.posix_acl_* already carry; read_xattrs skips them.
bool is_xfs_acl_alias(std::string_view name);

/// Reads the extended attributes of `name` in `dir_fd` without following a symlink;
/// returns 0 or errno. Symlinks yield no attributes (Linux allows no user.* on them).
int read_xattrs(int dir_fd, const char* name, fs::EntryType type,
                std::vector<std::pair<std::string, std::string>>& out);

} // namespace wsd::verify
