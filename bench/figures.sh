#!/usr/bin/env bash
# bench/figures.json: every figure the bench scripts measure, machine-readable, one entry per key.
#
# Sourced by every bench script (from the repository's top), which calls, for each figure it
# measures, beside what it prints and records in bench/RESULTS.md:
#
#   figure KEY VALUE UNIT        e.g. figure client.post.max_rss 6268 KiB
#
# and the entry for KEY is replaced (or added): {"key", "value", "unit", "commit", "date", "script"}.
# value is a number; commit is the short hash of HEAD when the script started, with "-dirty" when
# crates/, bench/ (but bench/figures.json and bench/RESULTS.md), firmware/, Cargo.toml or
# Cargo.lock differed from it (the builds measured come from the working tree); date is the UTC
# date; script is the bench script that measured it. FIGURES_FILE=PATH writes elsewhere.
#
# Quoting a figure in README.md or docs/*.md: the marker `<!-- fig:KEY -->` directly before the
# value as printed, and nothing between them:
#
#   <!-- fig:client.post.max_rss -->6,268 KiB
#
# The value is printed by its unit (the only units a figure may have):
#
#   unit    printed as                                   example
#   B       whole number, "," between thousands, " B"    227,142 B
#   KiB     whole number, "," between thousands, " KiB" 6,268 KiB
#   count   whole number, "," between thousands          8,238
#   req/s   whole number, "," between thousands, " req/s"  43,947 req/s
#   ms      whole number, "," between thousands, " ms"   17 ms
#   µs      one decimal, " µs"                           22.4 µs
#   ratio   two decimals                                 0.55
#   x       one decimal, "×"                             2.4×
#   %       one decimal, "%"                             18.5%
#
# In README.md's "## Figures" table every cell of the tlspost and peer columns carries at least one
# marker (or is "—"), and the "measured at" column holds the commits of that row's figures, in the
# order they appear, joined by ", ". crates/tlspost-cli/tests/figures.rs checks all of this.
#
# Run directly:
#   bench/figures.sh show              every figure as printed, with its commit, date and script
#   bench/figures.sh sync [FILE...]    rewrite every marked value (and the README table's "measured
#                                      at" cells) from the file; default README.md docs/*.md
#
# Needs python3 (its json module).

FIGURES_FILE=${FIGURES_FILE:-bench/figures.json}
FIGURES_SCRIPT=${FIGURES_SCRIPT:-bench/$(basename "$0")}
FIGURES_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain -- crates bench firmware Cargo.toml Cargo.lock \
  ':(exclude)bench/figures.json' ':(exclude)bench/RESULTS.md' 2>/dev/null)" ]; then
  FIGURES_COMMIT="$FIGURES_COMMIT-dirty"
fi

# figure KEY VALUE UNIT: record one measured figure (see above); exits the script on a bad one.
figure() {
  [ $# -eq 3 ] || { echo "figure: usage: figure KEY VALUE UNIT (got: $*)" >&2; exit 2; }
  python3 - "$FIGURES_FILE" "$1" "$2" "$3" "$FIGURES_COMMIT" "$(date -u +%Y-%m-%d)" "$FIGURES_SCRIPT" <<'PY' || exit 2
import json, os, re, sys
path, key, value, unit, commit, date, script = sys.argv[1:]
DECIMALS = {"B": 0, "KiB": 0, "count": 0, "req/s": 0, "ms": 0, "µs": 1, "ratio": 2, "x": 1, "%": 1}
if not re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)+", key):
    sys.exit(f"figure: bad key {key!r} (dotted lower-case words)")
if unit not in DECIMALS:
    sys.exit(f"figure {key}: unknown unit {unit!r} (one of {' '.join(DECIMALS)})")
try:
    number = float(value)
except ValueError:
    sys.exit(f"figure {key}: value {value!r} is not a number")
d = DECIMALS[unit]
number = int(round(number)) if d == 0 else round(number, d)
figures = json.load(open(path, encoding="utf-8")) if os.path.exists(path) else []
figures = [f for f in figures if f["key"] != key]
figures.append({"key": key, "value": number, "unit": unit, "commit": commit, "date": date, "script": script})
figures.sort(key=lambda f: f["key"])
tmp = path + ".tmp"
with open(tmp, "w", encoding="utf-8") as out:
    out.write("[\n" + ",\n".join(json.dumps(f, ensure_ascii=False) for f in figures) + "\n]\n")
os.replace(tmp, path)
PY
  echo "figure $1 = $2 $3" >&2
}

# Run directly: show / sync.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  cd "$(dirname "$0")/.."
  cmd=${1:-show}
  shift || true
  [ "$cmd" = show ] || [ "$cmd" = sync ] || { echo "usage: bench/figures.sh show | sync [FILE...]" >&2; exit 2; }
  [ "$cmd" = sync ] && [ $# -eq 0 ] && set -- README.md docs/*.md
  exec python3 - "$FIGURES_FILE" "$cmd" "$@" <<'PY'
import json, re, sys
path, cmd, files = sys.argv[1], sys.argv[2], sys.argv[3:]
UNITS = {"B": (0, " B"), "KiB": (0, " KiB"), "count": (0, ""), "req/s": (0, " req/s"), "ms": (0, " ms"),
         "µs": (1, " µs"), "ratio": (2, ""), "x": (1, "×"), "%": (1, "%")}
figures = {f["key"]: f for f in json.load(open(path, encoding="utf-8"))}

def printed(f):
    d, suffix = UNITS[f["unit"]]
    return f"{f['value']:,.{d}f}{suffix}"

if cmd == "show":
    for k, f in figures.items():
        print(f"{k}\t{printed(f)}\t{f['commit']}\t{f['date']}\t{f['script']}")
    sys.exit(0)

MARK = re.compile(r"<!-- fig:([a-z0-9_.]+) -->")
missing = []
def fill(m):
    key = m.group(1)
    if key not in figures:
        missing.append(key)
        return m.group(0)
    return f"<!-- fig:{key} -->{printed(figures[key])}"

for name in files:
    text = open(name, encoding="utf-8").read()
    # A marker, then the value as printed in any unit (a number and a known suffix, if any).
    suffixes = "|".join(re.escape(s) for _, s in sorted(UNITS.values(), key=lambda u: -len(u[1])) if s)
    value = rf"-?[0-9]+(?:,[0-9]{{3}})*(?:\.[0-9]+)?(?:{suffixes})?"
    new = re.sub(rf"<!-- fig:([a-z0-9_.]+) -->(?:{value})?", fill, text)
    if name.endswith("README.md"):
        # The "measured at" column of the Figures table: the commits of the row's figures.
        lines, head, col = new.split("\n"), None, None
        in_figures = False
        for i, line in enumerate(lines):
            if line.startswith("## "):
                in_figures = line.strip() == "## Figures"
                col = None
            if not in_figures or not line.startswith("|"):
                continue
            cells = line.strip().strip("|").split("|")
            if col is None:
                names = [c.strip() for c in cells]
                col = names.index("measured at") if "measured at" in names else -1
                continue
            if col < 0 or set(line) <= set("|-: "):
                continue
            commits = []
            for k in MARK.findall(line):
                c = figures.get(k, {}).get("commit")
                if c and c not in commits:
                    commits.append(c)
            cells[col] = " " + ", ".join(commits) + " "
            lines[i] = "|" + "|".join(cells) + "|"
        new = "\n".join(lines)
    if new != text:
        open(name, "w", encoding="utf-8").write(new)
        print(f"updated {name}")
if missing:
    sys.exit("not in " + path + ": " + ", ".join(sorted(set(missing))))
PY
fi
