#pragma once
// The Prometheus text exposition format (version 0.0.4) as node-exporter's textfile collector
// reads it: one "# HELP" and "# TYPE" line per metric family, then its samples. Names are
// checked against Prometheus' rules; label values and help text are escaped, and bytes that
// are not valid UTF-8 (paths are byte strings) are written as the text "\xNN" so the document
// stays valid UTF-8 and two different names never collapse into one label value.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsd::report {

/// Label name/value pairs of one sample, in output order.
using Labels = std::vector<std::pair<std::string, std::string>>;

/// A node-exporter textfile-collector document: metric families (HELP, TYPE) and their samples.
class PrometheusText {
public:
  /// Starts a family; name must follow Prometheus rules (checked: throws std::invalid_argument).
  /// Starting a name again with the same type continues that family (one HELP/TYPE block).
  void family(std::string_view name, std::string_view help, std::string_view type = "gauge");
  /// Adds a sample to the family most recently started with this name (label values escaped).
  void sample(std::string_view name, const Labels& labels, double value);
  /// The whole document, families in the order they were started.
  std::string str() const;

  /// True when `name` is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*).
  static bool is_valid_metric_name(std::string_view name);
  /// True when `name` is a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__").
  static bool is_valid_label_name(std::string_view name);
  /// A label value escaped for the text format (\\, \", \n; invalid UTF-8 bytes as "\\xNN").
  static std::string escape_label_value(std::string_view value);
  /// A sample value as the text format writes it (shortest round-trip form, NaN, +Inf, -Inf).
  static std::string format_value(double value);

private:
  struct Family {
    std::string name;
    std::string help;
    std::string type;
    std::vector<std::string> samples; ///< rendered "name{labels} value" lines
  };
  std::vector<Family> m_families;
};

} // namespace wsd::report
