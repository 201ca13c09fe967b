#include "report/html_builder.hpp"
#include "report/html_page.hpp"
#include "report/json_path.hpp"
#include "report/report_document.hpp"
#include "report/report_prometheus.hpp"
#include "report/report_text.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using nlohmann::ordered_json;
using namespace wsd::report;

namespace {

ordered_json hostile_usage_doc() {
  ordered_json doc;
  doc["schema"] = "wsdedup.usage/1";
  doc["roots"] = {"/srv/ws"};
  doc["workspace_pattern"] = "*";
  doc["total"] = {{"logical_bytes", 3000}, {"allocated_bytes", 8192}, {"files", 3}, {"dirs", 4}};
  doc["categories"] = ordered_json::array();
  doc["categories"].push_back({{"logical_bytes", 3000}, {"allocated_bytes", 8192}, {"files", 3}, {"dirs", 4},
                               {"count", 0}, {"name", "other"}});
  doc["workspaces"] = ordered_json::array();
  for (const std::string& name : {std::string("<script>alert(1)</script>"), std::string("a\"b'c\nd"),
                                 std::string("bad\xff\xfe")}) {
    ordered_json w = {{"logical_bytes", 1000}, {"allocated_bytes", 4096}, {"files", 1}, {"dirs", 1}};
    w["name"] = path_to_json(name);
    w["categories"] = {{"other", {{"logical_bytes", 1000}, {"allocated_bytes", 4096}, {"files", 1}, {"dirs", 1}, {"count", 0}}}};
    doc["workspaces"].push_back(w);
  }
  doc["hardlinks"] = {{"inodes", 0}, {"extra_names", 0}};
  doc["errors"] = ordered_json::array();
  doc["stats"] = {{"seconds", 0.5}, {"entries", 8}, {"threads", 2}, {"mounts_skipped", 0}, {"peak_open_dirs", 3}};
  return doc;
}

} // namespace

TEST(ReportHtml, EscapesUntrustedText) {
  EXPECT_EQ(html_escape("<script>&\"'"), "&lt;script&gt;&amp;&quot;&#39;");
  EXPECT_EQ(html_escape("a\nb"), "a\\nb");
  EXPECT_EQ(html_escape(std::string("x\xff")), "x\\xff");
}

TEST(ReportHtml, EmbeddedJsonCannotCloseTheScriptElement) {
  ordered_json doc = {{"path", "</script><script>alert(1)</script>"}, {"u", "caf\xC3\xA9"}};
  const std::string text = json_for_script(doc);
  EXPECT_EQ(text.find('<'), std::string::npos);
  EXPECT_EQ(text.find('>'), std::string::npos);
  for (const char c : text) EXPECT_LT(static_cast<unsigned char>(c), 0x80);
  EXPECT_EQ(ordered_json::parse(text), doc);
}

TEST(ReportHtml, PointersEscapeTokens) {
  EXPECT_EQ(pointer_join("/a", "b/c~d"), "/a/b~1c~0d");
  EXPECT_EQ(pointer_join("/w", size_t{3}), "/w/3");
}

TEST(ReportHtml, PageShowsHostileNamesOnlyAsText) {
  const ordered_json doc = hostile_usage_doc();
  const std::string page = html_from_json(doc);
  // The only <script elements are ours: the error hook, the data block and the page script.
  size_t scripts = 0;
  for (size_t pos = page.find("<script"); pos != std::string::npos; pos = page.find("<script", pos + 1)) ++scripts;
  EXPECT_EQ(scripts, 3u);
  EXPECT_NE(page.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(page.find("a&quot;b&#39;c\\nd"), std::string::npos);
  EXPECT_NE(page.find("bad\\xff\\xfe"), std::string::npos);
  EXPECT_NE(page.find("Content-Security-Policy"), std::string::npos);
  EXPECT_EQ(page.find("http://"), page.find("http://www.w3.org/2000/svg")); // only the SVG namespace
  EXPECT_EQ(page.find("https://"), std::string::npos);
  // Every number cell names a pointer that resolves to a number in the document.
  size_t cells = 0;
  const std::string marker = "data-key=\"";
  for (size_t pos = page.find(marker); pos != std::string::npos; pos = page.find(marker, pos + 1)) {
    const size_t end = page.find('"', pos + marker.size());
    const std::string pointer = page.substr(pos + marker.size(), end - pos - marker.size());
    ASSERT_TRUE(doc.contains(ordered_json::json_pointer(pointer))) << pointer;
    EXPECT_TRUE(doc.at(ordered_json::json_pointer(pointer)).is_number()) << pointer;
    ++cells;
  }
  EXPECT_GT(cells, 20u);
}

TEST(ReportText, UsageRoundTripsThroughTheUsageRenderer) {
  const ordered_json doc = hostile_usage_doc();
  const auto r = usage_from_json(doc);
  EXPECT_EQ(r.total.allocated_bytes, 8192u);
  ASSERT_EQ(r.workspaces.size(), 3u);
  EXPECT_EQ(r.workspaces[2].name, "bad\xff\xfe");
  ASSERT_EQ(r.workspaces[0].by_category.size(), 1u);
  EXPECT_EQ(r.workspaces[0].by_category[0].allocated_bytes, 4096u);
  const std::string text = text_from_json(doc, wsd::util::ExactBytes::yes);
  EXPECT_NE(text.find("8192"), std::string::npos);
  EXPECT_NE(text.find("a\"b'c\\nd"), std::string::npos);
  EXPECT_NE(text.find("bad\\xff\\xfe"), std::string::npos);
}

TEST(ReportText, RejectsUnknownSchemas) {
  EXPECT_THROW(text_from_json(ordered_json{{"schema", "wsdedup.usage/2"}}, wsd::util::ExactBytes::no),
               std::invalid_argument);
  EXPECT_THROW(text_from_json(ordered_json{{"x", 1}}, wsd::util::ExactBytes::no), std::invalid_argument);
  EXPECT_EQ(document_kind(ordered_json{{"schema", "wsdedup.dupes/1"}}), DocumentKind::dupes);
}

TEST(ReportPrometheus, UsageMetricsCarryEscapedLabels) {
  ordered_json doc = hostile_usage_doc();
  stamp_run(doc, 1.5);
  const std::string text = prometheus_from_json(doc, 0);
  EXPECT_NE(text.find("wsdedup_usage_allocated_bytes{command=\"usage\",root=\"/srv/ws\"} 8192\n"), std::string::npos);
  EXPECT_NE(text.find("workspace=\"a\\\"b'c\\nd\"} 4096"), std::string::npos);
  EXPECT_NE(text.find("workspace=\"bad\\\\xFF\\\\xFE\"}"), std::string::npos);
  EXPECT_NE(text.find("wsdedup_run_duration_seconds{command=\"usage\",root=\"/srv/ws\"} 1.5\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE wsdedup_last_run_timestamp_seconds gauge\n"), std::string::npos);
}
