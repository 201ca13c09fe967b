#pragma once
// Renders a MigrateReport: steps and numbers for people, wsdedup.migrate/1 for machines.

#include "migrate/migrate_run.hpp"
#include "util/units.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace wsd::migrate {

/// The wsdedup.migrate/1 document: steps, passes (files/bytes copied), verify, switched.
nlohmann::ordered_json migrate_to_json(const MigrateReport& report);

/// The steps as a table, each pass's numbers, verify's differences, the outcome.
std::string render_migrate_text(const MigrateReport& report, util::ExactBytes exact);

} // namespace wsd::migrate
