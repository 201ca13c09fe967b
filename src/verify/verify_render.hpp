#pragma once
// Renders a VerifyReport: a list of differences for people, wsdedup.verify/1 for machines.

#include "util/units.hpp"
#include "verify/comparer.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace wsd::verify {

/// The wsdedup.verify/1 document.
nlohmann::ordered_json verify_to_json(const VerifyReport& report);

/// One line per difference, then a summary line.
std::string render_verify_text(const VerifyReport& report, util::ExactBytes exact, bool stats);

} // namespace wsd::verify
