# bench/corpus/gen.awk - deterministic text generators used by bench/make-corpus.
#
#   awk -v mode=MODE -v seed=N -v n=N [-v name=NAME] [-v base=EPOCH] -f gen.awk [FILE]
#
# The same mode, seed and n always print the same bytes (mawk and gawk), so a corpus is a
# function of its seed. Modes:
#   tsx, ts, test   a React component / TypeScript module / test file with about n functions
#   css             n CSS rules
#   md              n markdown paragraphs
#   json            a fixture: a JSON array of n records
#   edit            FILE with a few lines replaced and inserted (a commit's worth of change)
#   minjs           about n bytes of minified-looking JavaScript on a few long lines
#   map             a source map of about n bytes
#   log             n lines of a dev-server / test-runner log (base = first timestamp)
#   jsonl           n lines of an agent session transcript (JSON lines)
# The output looks like code and logs to a compressor (repetitive vocabulary, identifiers,
# numbers): it compresses about as well as the real thing, which is what the estimate
# benchmarks need. It does not have to parse.

function rw() { return W[int(rand() * nw) + 1] }
function ri(a, b) { return a + int(rand() * (b - a + 1)) }
function cap(s) { return toupper(substr(s, 1, 1)) substr(s, 2) }
function camel() { return rw() cap(rw()) }
function pascal() { return cap(rw()) cap(rw()) }
function ty() { return T[int(rand() * nt) + 1] }
function ident() { return substr("abcdefghijklmnopqrstuvwxyz", ri(1, 26), 1) (rand() < 0.4 ? substr("abcdefghijklmnopqrstuvwxyz$_", ri(1, 28), 1) : "") }
function sentence(k,   s, i) {
  s = cap(rw())
  for (i = 1; i < k; i++) s = s " " rw()
  return s "."
}
function hex(k,   s, i) {
  s = ""
  for (i = 0; i < k; i++) s = s substr("0123456789abcdef", ri(1, 16), 1)
  return s
}
function b64(k,   s, i) {
  s = ""
  for (i = 0; i < k; i++) s = s substr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", ri(1, 64), 1)
  return s
}
function ts(t) { # epoch seconds -> ISO 8601 (UTC, no leap seconds: fine for logs)
  return sprintf("%s.%03dZ", civil(t), ri(0, 999))
}
function civil(t,   d, s, y, m, doy, era, yoe, mp, doe, dd) {
  d = int(t / 86400); s = t - d * 86400
  d += 719468; era = int(d / 146097); doe = d - era * 146097
  yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
  y = yoe + era * 400; doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100))
  mp = int((5 * doy + 2) / 153); dd = doy - int((153 * mp + 2) / 5) + 1
  m = mp < 10 ? mp + 3 : mp - 9; if (m <= 2) y++
  return sprintf("%04d-%02d-%02dT%02d:%02d:%02d", y, m, dd, int(s / 3600), int(s / 60) % 60, s % 60)
}

function code_line(   r) { # one plausible line of TypeScript
  r = rand()
  if (r < 0.2) return "  const " camel() " = " camel() "(" camel() ", " ri(0, 999) ");"
  if (r < 0.35) return "  if (!" camel() "." rw() ") return " (rand() < 0.5 ? "null" : "undefined") ";"
  if (r < 0.5) return "  " camel() "." rw() " = await " rw() "Service." camel() "({ id: " camel() ".id, " rw() ": " ri(0, 99) " });"
  if (r < 0.6) return "  // TODO(" rw() "): " tolower(sentence(ri(4, 9)))
  if (r < 0.72) return "  for (const " rw() " of " camel() "s) { " camel() ".push(" rw() "." rw() "); }"
  if (r < 0.82) return "  logger." (rand() < 0.7 ? "debug" : "warn") "(\"" sentence(ri(3, 7)) "\", { " rw() ": " camel() " });"
  if (r < 0.9) return "  return { ..." camel() ", " rw() ": " camel() "." rw() " ?? " ri(0, 9) " };"
  return "  throw new " pascal() "Error(`" rw() " ${" camel() "} " rw() "`);"
}

function gen_ts(k, kind,   i, j, f) {
  printf "import { %s, %s } from \"../lib/%s\";\n", camel(), camel(), rw()
  printf "import type { %s } from \"../types/%s\";\n", pascal(), rw()
  if (kind == "tsx") printf "import { useState, useEffect } from \"react\";\n"
  printf "\n"
  for (i = 0; i < k; i++) {
    f = (kind == "tsx") ? pascal() : camel()
    if (rand() < 0.4) {
      printf "export interface %sProps {\n", pascal()
      for (j = ri(2, 6); j > 0; j--) printf "  %s%s: %s;\n", camel(), (rand() < 0.3 ? "?" : ""), ty()
      printf "}\n\n"
    }
    if (kind == "tsx") {
      printf "export function %s({ %s, %s }: %sProps) {\n", f, camel(), camel(), pascal()
      printf "  const [%s, set%s] = useState<%s>(%s);\n", rw(), pascal(), ty(), (rand() < 0.5 ? "null" : "[]")
      for (j = ri(2, 10); j > 0; j--) print code_line()
      printf "  return (\n    <div className=\"%s-%s %s\">\n", rw(), rw(), rw()
      for (j = ri(1, 5); j > 0; j--) printf "      <%s %s={%s} onClick={() => %s(%d)} />\n", pascal(), rw(), camel(), camel(), ri(0, 99)
      printf "    </div>\n  );\n}\n\n"
    } else if (kind == "test") {
      printf "describe(\"%s\", () => {\n", f
      for (j = ri(1, 5); j > 0; j--) {
        printf "  it(\"%s\", async () => {\n", tolower(sentence(ri(3, 8)))
        printf "    const %s = await %s(%d);\n    expect(%s.%s).toEqual(%d);\n  });\n", rw(), camel(), ri(0, 99), rw(), rw(), ri(0, 999)
      }
      printf "});\n\n"
    } else {
      printf "export %sfunction %s(%s: %s, %s = %d): %s {\n", (rand() < 0.5 ? "async " : ""), f, camel(), ty(), rw(), ri(0, 100), ty()
      for (j = ri(2, 14); j > 0; j--) print code_line()
      printf "}\n\n"
    }
  }
}

function min_token(   r) {
  r = rand()
  if (r < 0.25) return "function " ident() "(" ident() "," ident() "){return " ident() "." rw() "(" ident() ")}"
  if (r < 0.4) return "var " ident() "=" ident() "(" ri(0, 9999) ")," ident() "=\"" rw() "-" rw() "\";"
  if (r < 0.55) return ident() "." camel() "=function(" ident() "){" ident() "&&" ident() "(" ident() ",\"" rw() "\")};"
  if (r < 0.7) return "if(" ident() "===" ri(0, 99) "){" ident() "=" ident() "[" ri(0, 64) "]}else " ident() "++;"
  if (r < 0.85) return "case " ri(0, 999) ":return " ident() "(\"" sentence(ri(2, 5)) "\");"
  return "Object.defineProperty(" ident() ",\"" camel() "\",{enumerable:!0,get:function(){return " ident() "}});"
}

function vlq(   s, k) {
  s = ""
  for (k = ri(4, 5); k > 0; k--) s = s substr("ACDEGIKMOQSUWYacegikmoqsuwy0246", ri(1, 30), 1)
  return s
}

BEGIN {
  srand(seed + 0)
  nw = split("user account order invoice payment session token cache request response handler route " \
    "widget panel modal button table row column filter query result item list map config option " \
    "setting value state store action reducer effect hook context provider service client server " \
    "worker job task queue event message stream buffer file path node tree graph edge metric counter " \
    "timer span trace log error retry timeout limit page cursor offset batch chunk record field schema " \
    "model view form input label theme color size layout header footer sidebar menu search upload " \
    "download export import report chart series point range date time zone locale price total tax " \
    "cart product catalog stock warehouse shipment customer address email phone status flag", W, " ")
  nt = split("string|number|boolean|string[]|number[]|Record<string, unknown>|Promise<void>|" \
    "Map<string, number>|User|Order|Session|unknown|Date", T, "|")
  np = split("margin padding color display gap width height border", P, " ")
  n = n + 0
  if (mode == "tsx" || mode == "ts" || mode == "test") gen_ts(n, mode)
  else if (mode == "css") {
    for (i = 0; i < n; i++) {
      printf ".%s-%s%s {\n", rw(), rw(), (rand() < 0.3 ? ":hover" : "")
      for (j = ri(1, 6); j > 0; j--) printf "  %s: %s;\n", P[ri(1, np)], (rand() < 0.5 ? ri(0, 64) "px" : "#" hex(6))
      printf "}\n\n"
    }
  } else if (mode == "md") {
    printf "# %s %s\n\n", pascal(), rw()
    for (i = 0; i < n; i++) {
      if (rand() < 0.2) printf "## %s\n\n", sentence(ri(2, 5))
      s = ""
      for (j = ri(2, 6); j > 0; j--) s = s sentence(ri(5, 14)) " "
      printf "%s\n\n", s
    }
  } else if (mode == "json") {
    printf "[\n"
    for (i = 0; i < n; i++) {
      printf "  {\"id\": %d, \"uuid\": \"%s-%s-%s\", \"%s\": \"%s\", \"%s\": %d, \"%s\": %s, \"tags\": [\"%s\", \"%s\"], \"note\": \"%s\"}%s\n", \
        i + 1, hex(8), hex(4), hex(12), rw(), camel(), rw(), ri(0, 100000), rw(), (rand() < 0.5 ? "true" : "false"), rw(), rw(), sentence(ri(3, 10)), (i < n - 1 ? "," : "")
    }
    printf "]\n"
  } else if (mode == "minjs") {
    printf "/*! %s v%d.%d.%d | (c) %s | MIT */\n", name, ri(0, 9), ri(0, 30), ri(0, 20), pascal()
    printf "(function(){\"use strict\";"
    len = 0; line = 0
    while (len < n) {
      t = min_token(); printf "%s", t; len += length(t); line += length(t)
      if (line > 32000) { printf "\n"; line = 0 }
    }
    printf "})();\n//# sourceMappingURL=%s.map\n", name
  } else if (mode == "map") {
    printf "{\"version\":3,\"file\":\"%s\",\"sources\":[", name
    for (i = 0; i < 40; i++) printf "%s\"../../src/%s/%s.tsx\"", (i ? "," : ""), rw(), pascal()
    printf "],\"names\":["
    for (i = 0; i < 300; i++) printf "%s\"%s\"", (i ? "," : ""), camel()
    printf "],\"mappings\":\""
    len = 0
    while (len < n) {
      t = vlq(); printf "%s%s", t, (rand() < 0.08 ? ";" : ","); len += length(t) + 1
    }
    printf "AAAA\"}\n"
  } else if (mode == "log") {
    t = base + 0
    for (i = 0; i < n; i++) {
      t += ri(0, 3)
      r = rand()
      if (r < 0.55) printf "%s INFO  [%s] %s %s %d ms\n", ts(t), rw(), (rand() < 0.5 ? "GET" : "POST"), "/api/" rw() "/" ri(1, 9999), ri(1, 900)
      else if (r < 0.8) printf "%s DEBUG [%s] %s\n", ts(t), rw(), sentence(ri(4, 12))
      else if (r < 0.93) printf "%s WARN  [%s] %s (retry %d/5)\n", ts(t), rw(), sentence(ri(3, 8)), ri(1, 5)
      else {
        printf "%s ERROR [%s] %sError: %s\n", ts(t), rw(), pascal(), sentence(ri(3, 9))
        for (j = ri(3, 9); j > 0; j--) printf "    at %s (/workspace/src/%s/%s.ts:%d:%d)\n", camel(), rw(), camel(), ri(1, 400), ri(1, 80)
      }
    }
  } else if (mode == "jsonl") {
    t = base + 0
    for (i = 0; i < n; i++) {
      t += ri(1, 40)
      r = rand()
      if (r < 0.3) printf "{\"ts\":\"%s\",\"role\":\"user\",\"content\":\"%s\"}\n", ts(t), sentence(ri(6, 30))
      else if (r < 0.7) printf "{\"ts\":\"%s\",\"role\":\"assistant\",\"content\":\"%s %s\",\"tokens\":%d}\n", ts(t), sentence(ri(10, 40)), sentence(ri(10, 40)), ri(50, 4000)
      else printf "{\"ts\":\"%s\",\"role\":\"tool\",\"tool\":\"%s\",\"args\":{\"path\":\"src/%s/%s.ts\"},\"exit\":%d,\"output\":\"%s\"}\n", ts(t), (rand() < 0.5 ? "bash" : "edit"), rw(), camel(), (rand() < 0.9 ? 0 : 1), sentence(ri(5, 25))
    }
  }
  if (mode != "edit") exit 0
}

mode == "edit" {
  if (rand() < 0.04) print code_line()
  else print
  if (rand() < 0.02) for (j = ri(1, 4); j > 0; j--) print code_line()
}
END {
  if (mode == "edit" && rand() < 0.5) {
    printf "\nexport function %s(%s: %s): %s {\n", camel(), camel(), ty(), ty()
    for (j = ri(2, 8); j > 0; j--) print code_line()
    printf "}\n"
  }
}
