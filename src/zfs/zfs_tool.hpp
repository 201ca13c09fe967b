#pragma once
// The one place wsdedup runs the ZFS command-line tools (zfs, zpool, zdb): argv only (never a
// shell), stdin from /dev/null, stdout and stderr captured; plus the few dataset operations
// that monitor and migrate share.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsd::zfs {

/// What a tool printed and how it ended.
struct ToolOutput {
  int status = -1; ///< exit code, or -1 if killed by a signal
  std::string out; ///< everything it wrote to stdout
  std::string err; ///< everything it wrote to stderr
};

/// Runs argv[0] found in PATH with argv (no shell), stdin from /dev/null, captures stdout and
/// stderr; throws util::Fatal("exec(\"zfs\"): No such file or directory") when it cannot start.
ToolOutput run_tool(const std::vector<std::string>& argv);

/// A ZFS target given as "zfs:POOL/NAME" (or "POOL/NAME" where the caller knows it is ZFS).
struct DatasetName {
  std::string pool; ///< the pool, the first component of name
  std::string name; ///< full "pool/a/b" (just "pool" for a pool's root dataset)
};

/// "zfs:POOL[/NAME]" as a DatasetName; nullopt unless the text starts with "zfs:" and names a
/// well-formed dataset (no empty components, no "@" snapshot or "#" bookmark).
std::optional<DatasetName> parse_zfs_target(std::string_view text);

/// Like parse_zfs_target, but the "zfs:" prefix is optional ("POOL" and "POOL/NAME" accepted).
std::optional<DatasetName> parse_dataset_name(std::string_view text);

/// True when `zfs list -H -o name NAME` finds the dataset; Fatal only when zfs cannot run.
bool dataset_exists(const std::string& name);

/// `zfs create -p -o k=v ... name`; throws util::Fatal with zfs's stderr on failure.
void create_dataset(const std::string& name,
                    const std::vector<std::pair<std::string, std::string>>& props);

/// `zfs get -Hp -o property,value p1,p2 name` as a map (values exact, parsable); Fatal on failure.
std::map<std::string, std::string> get_properties(const std::string& name,
                                                  const std::vector<std::string>& props);

/// Parses the output of `zfs get -H[p] -o property,value ...` (tab-separated lines).
std::map<std::string, std::string> parse_property_lines(std::string_view text);

/// Runs a tool and returns its stdout; throws util::Fatal naming the command and its stderr
/// when it cannot start or exits non-zero.
std::string run_tool_checked(const std::vector<std::string>& argv);

/// The command line as a human would type it (for messages), words with spaces quoted.
std::string describe_command(const std::vector<std::string>& argv);

} // namespace wsd::zfs
