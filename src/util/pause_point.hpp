#pragma once
// Deterministic pause points for hostile-case tests (DESIGN.md section 7): with
// WSDEDUP_PAUSE_AT=NAME (or NAME:DETAIL) and WSDEDUP_PAUSE_DIR=DIR in the environment, the
// thread reaching that point creates DIR/NAME.reached and waits until DIR/NAME.go exists,
// so a test can change the tree at exactly that step. Costs one branch when unset.

#include <string_view>

namespace wsd::util {

/// Waits here if the environment asks for it (see above); `detail` is usually a rel path.
void pause_point(std::string_view name, std::string_view detail = {});

} // namespace wsd::util
