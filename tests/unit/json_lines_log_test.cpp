// util::JsonLinesLog: batched lines (one write per batch), order, flush on destruction and move.
#include "report/json_path.hpp"
#include "test_util.hpp"
#include "util/json_lines_log.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>

using namespace wsd;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace

TEST(JsonLinesLog, BatchedLinesWaitForFlushAndKeepOrder) {
  test::TempDir t;
  const std::string path = t / "log/audit.jsonl";
  {
    util::JsonLinesLog log(path);
    log.append({{"n", 1}}, util::Durability::batched);
    log.append({{"n", 2}}, util::Durability::batched);
    EXPECT_EQ(slurp(path), "") << "batched lines stay in memory";
    log.flush();
    EXPECT_EQ(util::read_json_lines(path).size(), 2u);
    log.append({{"n", 3}}, util::Durability::batched);
    log.append({{"n", 4}}, util::Durability::buffered); // writes 3 first, then 4
    log.append({{"n", 5}}, util::Durability::batched);  // written by the destructor
  }
  const auto lines = util::read_json_lines(path);
  ASSERT_EQ(lines.size(), 5u);
  for (size_t k = 0; k < lines.size(); ++k) {
    EXPECT_EQ(lines[k]["n"].get<int>(), static_cast<int>(k + 1));
    EXPECT_EQ(lines[k]["pid"].get<long>(), static_cast<long>(::getpid()));
  }
}

TEST(JsonLinesLog, MovedLogKeepsItsBatchedLines) {
  test::TempDir t;
  const std::string path = t / "audit.jsonl";
  util::JsonLinesLog moved;
  {
    util::JsonLinesLog log(path);
    log.append({{"n", 1}}, util::Durability::batched);
    moved = std::move(log);
  }
  EXPECT_EQ(slurp(path), "") << "the moved-from log wrote nothing";
  moved.flush();
  EXPECT_EQ(util::read_json_lines(path).size(), 1u);
}

TEST(JsonLinesLog, RenderedLinesPutTimeAndPidFirstAndAppendLikeAppend) {
  test::TempDir t;
  const std::string path = t / "audit.jsonl";
  {
    util::JsonLinesLog log(path);
    const std::string text = log.render({{"action", "x"}, {"path", "a\nb"}, {"bytes", 7}});
    ASSERT_EQ(text.back(), '\n');
    const auto parsed = nlohmann::ordered_json::parse(text);
    std::vector<std::string> keys;
    for (const auto& [k, v] : parsed.items()) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{"time", "pid", "action", "path", "bytes"}));
    EXPECT_EQ(parsed["path"], "a\nb");
    EXPECT_EQ(nlohmann::ordered_json::parse(log.render(nlohmann::ordered_json::object())).size(), 2u);
    EXPECT_EQ(nlohmann::ordered_json::parse(log.render({})).size(), 2u) << "null: no members of its own";
    log.append_text(text, util::Durability::batched);
    log.append({{"action", "y"}}, util::Durability::buffered);
  }
  const auto lines = util::read_json_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["action"], "x");
  EXPECT_EQ(lines[1]["action"], "y");
}

// The dedupe audit lines are written with fmt and append_path_json: the same text as the
// JSON tree would dump, for every kind of path.
TEST(JsonLinesLog, MembersAndFastPathsRenderLikeTheJsonTree) {
  test::TempDir t;
  util::JsonLinesLog log(t / "audit.jsonl");
  const std::vector<std::string> paths = {"ws/node_modules/a.js", "caf\xc3\xa9/\xe2\x82\xac", "q\"uote", "back\\slash",
                                          "new\nline", "tab\t", "del\x7f", "bad\xff\xfe", std::string("nul\0x", 5), ""};
  for (const std::string& p : paths) {
    std::string fast;
    report::append_path_json(fast, p);
    EXPECT_EQ(fast, report::path_to_json(p).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)) << p;
    const std::string members = R"("action":"dedupe_range","path":)" + fast + R"(,"bytes":7)";
    std::string a = log.render_members(members);
    std::string b = log.render({{"action", "dedupe_range"}, {"path", report::path_to_json(p)}, {"bytes", 7}});
    // The millisecond clock may tick between the two renders.
    const auto strip = [](std::string s) { return s.substr(s.find(",\"pid\"")); };
    EXPECT_EQ(strip(a), strip(b)) << p;
  }
}

// The plain-path test scans the ASCII run byte by byte and decodes UTF-8 only after it:
// escapes and bad bytes after a multi-byte character must still be found.
TEST(JsonPath, PlainOnlyWithoutEscapesAndWithValidUtf8) {
  for (const std::string p : {"", "ws/a.js", "caf\xc3\xa9/\xe2\x82\xac", "del\x7f", "\xc3\xa9"})
    EXPECT_TRUE(report::is_plain_json_path(p)) << p;
  for (const std::string p : {"q\"", "b\\", "n\nl", "\x01", "bad\xff", "\xc3\xa9\"", "\xc3\xa9/\x01",
                              "\xc3\xa9\xff", "\xc3", "a\xe2\x82"})
    EXPECT_FALSE(report::is_plain_json_path(p)) << p;
  EXPECT_FALSE(report::is_plain_json_path(std::string("nul\0x", 5)));
}
