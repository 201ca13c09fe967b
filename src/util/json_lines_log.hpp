#pragma once
// Append-only JSON-lines files: the audit log of every destructive step (DESIGN.md invariant
// 8: written before the step, confirmed after) and the hardlink journal that `--undo` reads.

#include "util/fd.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace wsd::util {

/// Whether an appended line must reach the disk before we go on. buffered: written to the
/// file at once (the page cache), not synced. synced: written and fdatasync'ed. batched: kept
/// in memory until flush() or the next buffered/synced append, for callers that flush before
/// the step the line announces (one write per batch of actions).
enum class Durability : uint8_t { buffered, synced, batched };

class JsonLinesLog {
public:
  JsonLinesLog() = default;
  /// Opens (creating parent directories and the file, mode 0600) for appending; throws Fatal.
  explicit JsonLinesLog(const std::string& path);
  JsonLinesLog(JsonLinesLog&& other) noexcept;
  JsonLinesLog& operator=(JsonLinesLog&& other) noexcept;
  /// Writes batched lines still held (errors ignored: call flush() to see them).
  ~JsonLinesLog();
  bool is_open() const { return m_fd.valid(); }
  const std::string& path() const { return m_path; }
  /// Appends one line ("time" and "pid" added); throws Fatal when the log cannot be written,
  /// since a destructive step must not happen unlogged. Batched lines held so far are
  /// written first, so the file keeps the order of the calls.
  void append(const nlohmann::ordered_json& line, Durability durability);
  /// The text append() writes for `line` (an object), newline included: threads render
  /// their lines with this outside whatever lock guards the log, then append_text().
  std::string render(const nlohmann::ordered_json& line) const;
  /// render() for a line whose members are already JSON text (`"key":value,...`).
  std::string render_members(std::string_view members) const;
  /// Appends a line made by render(), like append().
  void append_text(std::string_view text, Durability durability);
  /// Writes the batched lines held in memory (one write); throws Fatal like append().
  void flush();

private:
  void write_all(const std::string& text);

  util::Fd m_fd;
  std::string m_path;
  std::string m_pending; // batched lines not yet written
  long m_pid = 0;
};

/// Reads every line of a JSON-lines file; throws Fatal on an unreadable file. Malformed lines
/// (a torn last line after a crash) are skipped.
std::vector<nlohmann::ordered_json> read_json_lines(const std::string& path);

/// Where logs go by default: /var/log/wsdedup for root, else $XDG_STATE_HOME/wsdedup.
std::string default_log_dir();

} // namespace wsd::util
