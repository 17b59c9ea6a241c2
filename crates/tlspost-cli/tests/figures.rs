//! Every figure README.md and docs/*.md quote from a bench script is the one bench/figures.json
//! holds, printed the documented way (bench/figures.sh describes the file and the convention).
//!
//! A quoted figure is the marker `<!-- fig:KEY -->` directly followed by its value as printed:
//!
//! | unit    | printed as                                        | example        |
//! |---------|---------------------------------------------------|----------------|
//! | `B`     | whole number, `,` between thousands, ` B`         | `227,142 B`    |
//! | `KiB`   | whole number, `,` between thousands, ` KiB`       | `6,268 KiB`    |
//! | `count` | whole number, `,` between thousands              | `8,238`        |
//! | `req/s` | whole number, `,` between thousands, ` req/s`     | `43,947 req/s` |
//! | `ms`    | whole number, `,` between thousands, ` ms`        | `17 ms`        |
//! | `µs`    | one decimal, ` µs`                                | `22.4 µs`      |
//! | `ratio` | two decimals                                      | `0.55`         |
//! | `x`     | one decimal, `×`                                  | `2.4×`         |
//! | `%`     | one decimal, `%`                                  | `18.5%`        |
//!
//! In README.md's `## Figures` table, every cell of the `tlspost` and `peer` columns is `—` or
//! carries at least one marker, and holds no number outside a marked value (numbers in backticks,
//! such as nginx's `return 200`, and inside names, such as P-256, are not figures); the
//! `measured at` column holds the commits of the row's figures in the order they appear, joined by
//! `, `. Pure file checks: nothing is run.

use std::path::{Path, PathBuf};

const MARK_OPEN: &str = "<!-- fig:";
const MARK_CLOSE: &str = " -->";

/// One entry of bench/figures.json.
#[derive(Debug, Clone)]
struct Figure {
    key: String,
    value: f64,
    unit: String,
    commit: String,
}

/// How a value in `unit` is printed: (decimals, suffix).
fn unit_format(unit: &str) -> Option<(usize, &'static str)> {
    Some(match unit {
        "B" => (0, " B"),
        "KiB" => (0, " KiB"),
        "count" => (0, ""),
        "req/s" => (0, " req/s"),
        "ms" => (0, " ms"),
        "µs" => (1, " µs"),
        "ratio" => (2, ""),
        "x" => (1, "×"),
        "%" => (1, "%"),
        _ => return None,
    })
}

/// `value` printed in `unit`, e.g. (227142, "B") -> "227,142 B".
fn printed(value: f64, unit: &str) -> Option<String> {
    let (decimals, suffix) = unit_format(unit)?;
    let fixed = format!("{:.*}", decimals, value.abs());
    let (whole, frac) = fixed
        .split_once('.')
        .map_or((fixed.as_str(), None), |(w, f)| (w, Some(f)));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if value < 0.0 && fixed.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    Some(match frac {
        Some(f) => format!("{sign}{grouped}.{f}{suffix}"),
        None => format!("{sign}{grouped}{suffix}"),
    })
}

/// Parses bench/figures.json; errors name what is wrong with the file itself.
fn parse_figures(json: &str) -> Result<Vec<Figure>, String> {
    let list: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("figures.json: {e}"))?;
    let list = list.as_array().ok_or("figures.json: not a list")?;
    let mut figures: Vec<Figure> = Vec::new();
    for entry in list {
        let field = |name: &str| {
            entry
                .get(name)
                .ok_or_else(|| format!("figures.json: {entry} has no {name}"))
        };
        let text = |name: &str| -> Result<String, String> {
            Ok(field(name)?
                .as_str()
                .ok_or_else(|| format!("figures.json: {name} of {entry} is not a string"))?
                .to_owned())
        };
        for name in ["date", "script"] {
            text(name)?;
        }
        let f = Figure {
            key: text("key")?,
            value: field("value")?
                .as_f64()
                .ok_or_else(|| format!("figures.json: value of {entry} is not a number"))?,
            unit: text("unit")?,
            commit: text("commit")?,
        };
        let Some((decimals, _)) = unit_format(&f.unit) else {
            return Err(format!("figures.json: {}: unknown unit {:?}", f.key, f.unit));
        };
        if decimals == 0 && f.value.fract() != 0.0 {
            return Err(format!(
                "figures.json: {}: {} is not a whole number of {}",
                f.key, f.value, f.unit
            ));
        }
        if figures.iter().any(|g| g.key == f.key) {
            return Err(format!("figures.json: {} twice", f.key));
        }
        figures.push(f);
    }
    Ok(figures)
}

/// Every marker of `text` as (byte offset of the marker, key, byte offset of the value).
fn markers(text: &str) -> Vec<(usize, &str, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find(MARK_OPEN) {
        let start = from + i;
        let key_start = start + MARK_OPEN.len();
        let Some(j) = text[key_start..].find(MARK_CLOSE) else {
            break;
        };
        let key = &text[key_start..key_start + j];
        let value_at = key_start + j + MARK_CLOSE.len();
        out.push((start, key, value_at));
        from = value_at;
    }
    out
}

/// Whether `rest` starts with `value` and the number does not go on after it (so "3" does not
/// match "33" or "3,255").
fn starts_with_value(rest: &str, value: &str) -> bool {
    let Some(after) = rest.strip_prefix(value) else {
        return false;
    };
    let mut chars = after.chars();
    match (chars.next(), chars.next()) {
        (Some(c), _) if c.is_ascii_digit() => false,
        (Some(',' | '.'), Some(d)) if d.is_ascii_digit() => false,
        _ => true,
    }
}

/// The markers of one page checked against the figures: the problems found, one line each.
fn check_page(name: &str, text: &str, figures: &[Figure]) -> Vec<String> {
    let mut problems = Vec::new();
    for (at, key, value_at) in markers(text) {
        let line = text[..at].lines().count().max(1);
        let Some(f) = figures.iter().find(|f| f.key == key) else {
            problems.push(format!("{name}:{line}: fig:{key} is not in bench/figures.json"));
            continue;
        };
        let Some(expected) = printed(f.value, &f.unit) else {
            continue;
        };
        let rest = &text[value_at..];
        if !starts_with_value(rest, &expected) {
            let shown: String = rest.chars().take(expected.chars().count() + 4).collect();
            problems.push(format!(
                "{name}:{line}: fig:{key} reads {shown:?}, bench/figures.json says {expected:?}"
            ));
        }
    }
    problems
}

/// `cell` without its marked values and its backtick spans.
fn unmarked_part(cell: &str, figures: &[Figure]) -> String {
    let mut rest = String::new();
    let mut from = 0;
    for (at, key, value_at) in markers(cell) {
        rest.push_str(&cell[from..at]);
        from = value_at;
        if let Some(v) = figures
            .iter()
            .find(|f| f.key == key)
            .and_then(|f| printed(f.value, &f.unit))
        {
            if starts_with_value(&cell[value_at..], &v) {
                from += v.len();
            }
        }
    }
    rest.push_str(&cell[from..]);
    rest.split('`').step_by(2).collect()
}

/// A number in `text` that is not part of a name (P-256, RV32IMC, SHA256): a digit after a
/// space, an opening bracket or the start.
fn stray_number(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        let prev = if i == 0 { ' ' } else { chars[i - 1] };
        if c.is_ascii_digit() && !(prev.is_alphanumeric() || matches!(prev, '-' | '_' | '.' | ',' | '/')) {
            return Some(chars[i..].iter().take_while(|c| !c.is_whitespace()).collect());
        }
    }
    None
}

fn cells(line: &str) -> Vec<&str> {
    line.trim()
        .trim_start_matches('|')
        .trim_end_matches('|')
        .split('|')
        .map(str::trim)
        .collect()
}

/// README.md's `## Figures` table: every figure cell marked, no stray number, the commit column right.
fn check_readme_table(readme: &str, figures: &[Figure]) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(start) = readme.find("\n## Figures\n") else {
        return vec!["README.md: no `## Figures` section".into()];
    };
    let section = &readme[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 4)];
    let rows: Vec<&str> = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .collect();
    let Some(header) = rows.first() else {
        return vec!["README.md: no table in `## Figures`".into()];
    };
    let header = cells(header);
    let column = |name: &str| header.iter().position(|h| *h == name);
    let (Some(ours), Some(peer), Some(commit_col)) = (column("tlspost"), column("peer"), column("measured at")) else {
        return vec![format!(
            "README.md: the Figures table needs columns tlspost, peer and measured at (has {header:?})"
        )];
    };
    for row in rows.iter().skip(2) {
        let row_cells = cells(row);
        let what = row_cells.first().copied().unwrap_or_default();
        for col in [ours, peer] {
            let cell = row_cells.get(col).copied().unwrap_or_default();
            if cell == "—" {
                continue;
            }
            if markers(cell).is_empty() {
                problems.push(format!(
                    "README.md Figures, {what:?}: the {} cell {cell:?} has no fig: marker",
                    header[col]
                ));
            } else if let Some(n) = stray_number(&unmarked_part(cell, figures)) {
                problems.push(format!(
                    "README.md Figures, {what:?}: {n:?} in the {} cell has no fig: marker",
                    header[col]
                ));
            }
        }
        let mut commits: Vec<&str> = Vec::new();
        for (_, key, _) in markers(row) {
            if let Some(f) = figures.iter().find(|f| f.key == key) {
                if !commits.contains(&f.commit.as_str()) {
                    commits.push(&f.commit);
                }
            }
        }
        let expected = commits.join(", ");
        let got = row_cells.get(commit_col).copied().unwrap_or_default();
        if got != expected {
            problems.push(format!(
                "README.md Figures, {what:?}: measured at {got:?}, bench/figures.json says {expected:?}"
            ));
        }
    }
    problems
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn readme_and_docs_quote_the_measured_figures() {
    let figures = parse_figures(&read(&root().join("bench/figures.json"))).unwrap_or_else(|e| panic!("{e}"));
    let readme = read(&root().join("README.md"));
    let mut problems = check_page("README.md", &readme, &figures);
    problems.extend(check_readme_table(&readme, &figures));
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    for page in docs {
        let name = format!("docs/{}", page.file_name().unwrap_or_default().to_string_lossy());
        problems.extend(check_page(&name, &read(&page), &figures));
    }
    assert!(
        problems.is_empty(),
        "figures quoted in README.md and docs/*.md differ from bench/figures.json (run the bench \
         script named in the file, then `bench/figures.sh sync`):\n{}",
        problems.join("\n")
    );
}

const EXAMPLE_JSON: &str = r#"[
{"key": "client.post.max_rss", "value": 6268, "unit": "KiB", "commit": "abc1234", "date": "2026-11-30", "script": "bench/client-figures.sh"},
{"key": "client.curl.max_rss", "value": 12600, "unit": "KiB", "commit": "abc1234", "date": "2026-11-30", "script": "bench/client-figures.sh"},
{"key": "serve.rps_ratio_median", "value": 0.5, "unit": "ratio", "commit": "def5678", "date": "2026-11-30", "script": "bench/serve-wrk.sh"},
{"key": "proto.instructions_ratio", "value": 2.43, "unit": "x", "commit": "def5678", "date": "2026-11-30", "script": "bench/proto-figures.sh"},
{"key": "client.tlspost.rtt.fresh", "value": 3, "unit": "count", "commit": "def5678", "date": "2026-11-30", "script": "bench/client-figures.sh"}
]"#;

fn example_readme(ours: &str, peer: &str, commits: &str) -> String {
    format!(
        "# x\n\n## Figures\n\n| what | tlspost | peer | target | measured at | script |\n|---|---|---|---|---|---|\n\
         | max RSS | {ours} | {peer} | ≤ curl | {commits} | `bench/client-figures.sh` |\n\n## Next\n"
    )
}

#[test]
fn printed_values_follow_the_units() {
    assert_eq!(printed(227142.0, "B").as_deref(), Some("227,142 B"));
    assert_eq!(printed(512.0, "B").as_deref(), Some("512 B"));
    assert_eq!(printed(1234567.0, "count").as_deref(), Some("1,234,567"));
    assert_eq!(printed(43947.0, "req/s").as_deref(), Some("43,947 req/s"));
    assert_eq!(printed(22.35, "µs").as_deref(), Some("22.4 µs"));
    assert_eq!(printed(0.5, "ratio").as_deref(), Some("0.50"));
    assert_eq!(printed(2.43, "x").as_deref(), Some("2.4×"));
    assert_eq!(printed(18.5, "%").as_deref(), Some("18.5%"));
    assert_eq!(printed(1.0, "furlongs"), None);
}

#[test]
fn the_checker_accepts_figures_as_measured() {
    let figures = parse_figures(EXAMPLE_JSON).unwrap();
    let page = "tlspost post peaks at <!-- fig:client.post.max_rss -->6,268 KiB, curl at \
                <!-- fig:client.curl.max_rss -->12,600 KiB; ratio <!-- fig:serve.rps_ratio_median -->0.50, \
                <!-- fig:proto.instructions_ratio -->2.4×, <!-- fig:client.tlspost.rtt.fresh -->3 / 1 round trips.";
    assert_eq!(check_page("x.md", page, &figures), Vec::<String>::new());
    let readme = example_readme(
        "<!-- fig:client.post.max_rss -->6,268 KiB (P-256, `return 200`)",
        "curl <!-- fig:client.curl.max_rss -->12,600 KiB",
        "abc1234",
    );
    assert_eq!(check_readme_table(&readme, &figures), Vec::<String>::new());
}

#[test]
fn the_checker_fails_on_a_drifted_figure() {
    let figures = parse_figures(EXAMPLE_JSON).unwrap();
    // The page still says what an older run measured.
    let problems = check_page("x.md", "peak <!-- fig:client.post.max_rss -->14,904 KiB", &figures);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("\"6,268 KiB\""), "{problems:?}");
    // Other spellings of the right number are drift too: the unit, the separators, the decimals.
    for page in [
        "<!-- fig:client.post.max_rss -->6268 KiB",
        "<!-- fig:client.post.max_rss -->6,268 KB",
        "<!-- fig:client.post.max_rss --> 6,268 KiB",
        "<!-- fig:serve.rps_ratio_median -->0.5",
        "<!-- fig:client.tlspost.rtt.fresh -->33",
        "<!-- fig:client.tlspost.rtt.fresh -->3,255",
    ] {
        assert_eq!(check_page("x.md", page, &figures).len(), 1, "{page}");
    }
    // A key the file does not hold.
    let problems = check_page("x.md", "<!-- fig:client.post.max_rs -->6,268 KiB", &figures);
    assert!(problems[0].contains("not in bench/figures.json"), "{problems:?}");
}

#[test]
fn the_checker_fails_on_an_unmarked_or_misdated_table_cell() {
    let figures = parse_figures(EXAMPLE_JSON).unwrap();
    // A measurement typed into the table without its key.
    let readme = example_readme(
        "<!-- fig:client.post.max_rss -->6,268 KiB",
        "curl 12,600 KiB",
        "abc1234",
    );
    let problems = check_readme_table(&readme, &figures);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("no fig: marker"), "{problems:?}");
    // A marked figure with an unmarked one beside it.
    let readme = example_readme(
        "<!-- fig:client.post.max_rss -->6,268 KiB; heap 92 KB",
        "<!-- fig:client.curl.max_rss -->12,600 KiB",
        "abc1234",
    );
    let problems = check_readme_table(&readme, &figures);
    assert!(problems.len() == 1 && problems[0].contains("\"92\""), "{problems:?}");
    // The commit column must say where the row's figures were measured.
    let readme = example_readme(
        "<!-- fig:client.post.max_rss -->6,268 KiB",
        "<!-- fig:serve.rps_ratio_median -->0.50",
        "abc1234",
    );
    let problems = check_readme_table(&readme, &figures);
    assert!(
        problems.len() == 1 && problems[0].contains("\"abc1234, def5678\""),
        "{problems:?}"
    );
}

#[test]
fn the_file_is_checked_too() {
    assert!(
        parse_figures(r#"[{"key": "a.b", "value": 1.5, "unit": "B", "commit": "c", "date": "d", "script": "s"}]"#)
            .is_err()
    );
    assert!(
        parse_figures(r#"[{"key": "a.b", "value": 1, "unit": "MB", "commit": "c", "date": "d", "script": "s"}]"#)
            .is_err()
    );
    assert!(parse_figures(r#"[{"key": "a.b", "value": 1, "unit": "B", "commit": "c", "date": "d"}]"#).is_err());
    let twice = r#"[{"key": "a.b", "value": 1, "unit": "B", "commit": "c", "date": "d", "script": "s"},
                    {"key": "a.b", "value": 2, "unit": "B", "commit": "c", "date": "d", "script": "s"}]"#;
    assert!(parse_figures(twice).is_err());
}
