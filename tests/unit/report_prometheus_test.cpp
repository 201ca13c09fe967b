#include "report/prometheus_text.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

using wsd::report::PrometheusText;

TEST(PrometheusText, FamiliesAndSamplesInOrder) {
  PrometheusText p;
  p.family("wsdedup_logical_bytes", "Logical bytes by category.");
  p.sample("wsdedup_logical_bytes", {{"category", "node_modules"}}, 1024);
  p.family("wsdedup_errors_total", "Per-file errors.", "counter");
  p.sample("wsdedup_errors_total", {}, 3);
  p.sample("wsdedup_logical_bytes", {{"category", "other"}}, 5.5);
  EXPECT_EQ(p.str(),
            "# HELP wsdedup_logical_bytes Logical bytes by category.\n"
            "# TYPE wsdedup_logical_bytes gauge\n"
            "wsdedup_logical_bytes{category=\"node_modules\"} 1024\n"
            "wsdedup_logical_bytes{category=\"other\"} 5.5\n"
            "# HELP wsdedup_errors_total Per-file errors.\n"
            "# TYPE wsdedup_errors_total counter\n"
            "wsdedup_errors_total 3\n");
}

TEST(PrometheusText, RejectsBadNamesTypesAndUnknownFamilies) {
  PrometheusText p;
  EXPECT_THROW(p.family("1abc", "x"), std::invalid_argument);
  EXPECT_THROW(p.family("a-b", "x"), std::invalid_argument);
  EXPECT_THROW(p.family("", "x"), std::invalid_argument);
  EXPECT_THROW(p.family("ok_name", "x", "bogus"), std::invalid_argument);
  EXPECT_THROW(p.sample("never_started", {}, 1), std::invalid_argument);
  p.family("ok_name", "x");
  EXPECT_THROW(p.sample("ok_name", {{"__reserved", "v"}}, 1), std::invalid_argument);
  EXPECT_THROW(p.sample("ok_name", {{"9x", "v"}}, 1), std::invalid_argument);
  EXPECT_THROW(p.sample("ok_name", {{"a", "1"}, {"a", "2"}}, 1), std::invalid_argument);
  EXPECT_THROW(p.family("ok_name", "x", "counter"), std::invalid_argument);
  EXPECT_NO_THROW(p.family("ok_name", "again"));
  EXPECT_TRUE(PrometheusText::is_valid_metric_name("a:b_c9"));
  EXPECT_FALSE(PrometheusText::is_valid_label_name("a:b"));
}

TEST(PrometheusText, EscapesHostileLabelValuesAndHelp) {
  EXPECT_EQ(PrometheusText::escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  // Invalid UTF-8 becomes the visible text \xFF (backslash escaped); valid UTF-8 passes.
  EXPECT_EQ(PrometheusText::escape_label_value(std::string("x\xFFy")), "x\\\\xFFy");
  EXPECT_EQ(PrometheusText::escape_label_value("h\xC3\xA9"), "h\xC3\xA9");
  EXPECT_EQ(PrometheusText::escape_label_value(std::string("\xC3")), "\\\\xC3");
  PrometheusText p;
  p.family("m", "line one\nback\\slash \"q\"");
  p.sample("m", {{"path", "<script>"}}, 1);
  EXPECT_EQ(p.str(), "# HELP m line one\\nback\\\\slash \"q\"\n# TYPE m gauge\nm{path=\"<script>\"} 1\n");
}

TEST(PrometheusText, FormatsValues) {
  EXPECT_EQ(PrometheusText::format_value(0), "0");
  EXPECT_EQ(PrometheusText::format_value(123456789012345.0), "123456789012345");
  EXPECT_EQ(PrometheusText::format_value(1.25), "1.25");
  EXPECT_EQ(PrometheusText::format_value(-2), "-2");
  EXPECT_EQ(PrometheusText::format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(PrometheusText::format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(PrometheusText::format_value(std::nan("")), "NaN");
  EXPECT_EQ(std::stod(PrometheusText::format_value(0.1)), 0.1);
}
