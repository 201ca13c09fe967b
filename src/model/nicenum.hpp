#pragma once
// zdb's number format: the 5-character human numbers of the DDT histogram columns.

#include <cstdint>
#include <string>

namespace wsd::model {

/// zfs_nicenum() (lib/libzutil/zutil_nicenum.c, ZFS_NICENUM_1024; libzfs_util.c in onnv):
/// "1023", "1K", "1.50K", "10.0K", "128K", "13.2M" — the widest precision that fits 5 chars.
std::string zfs_nicenum(uint64_t num);

/// zfs_nicebytes() (ZFS_NICENUM_BYTES): as zfs_nicenum() but "512B" below 1024.
std::string zfs_nicebytes(uint64_t num);

/// nicenum() of onnv's libzpool util.c: rounds to the nearest unit first, then prints two
/// decimals below 10, one below 100 ("1.00M" where zfs_nicenum gives "1024K").
std::string onnv_nicenum(uint64_t num);

} // namespace wsd::model
