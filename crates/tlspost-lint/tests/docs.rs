//! `docs/lint.md` documents exactly the codes in `rules()`, with the same title and severity.

use std::collections::BTreeMap;
use std::path::Path;

use tlspost_lint::rules;

#[test]
fn docs_and_catalogue_agree() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/lint.md");
    let text = std::fs::read_to_string(&path).expect("docs/lint.md must exist");
    let lines: Vec<&str> = text.lines().collect();
    // code -> (title, severity line)
    let mut documented: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.strip_prefix("### TP") else {
            continue;
        };
        let (num, title) = rest.split_once(" · ").expect("heading is `### TPnnn · title`");
        let severity = lines.get(i + 1).copied().unwrap_or_default();
        let prev = documented.insert(format!("TP{num}"), (title.to_string(), severity.to_string()));
        assert!(prev.is_none(), "TP{num} documented twice");
    }
    // Every code mentioned anywhere in the doc must exist.
    for word in text.split(|c: char| !c.is_ascii_alphanumeric()) {
        if word.len() == 5 && word.starts_with("TP") && word[2..].bytes().all(|b| b.is_ascii_digit()) {
            assert!(
                rules().iter().any(|r| r.code == word),
                "docs/lint.md mentions {word}, which rules() does not have"
            );
        }
    }
    for r in rules() {
        let (title, severity) = documented
            .remove(r.code)
            .unwrap_or_else(|| panic!("{} ({}) is not documented in docs/lint.md", r.code, r.title));
        assert_eq!(title, r.title, "{}: title differs", r.code);
        assert!(
            severity.starts_with(&format!("**{}**.", r.severity)),
            "{}: doc says `{severity}`, catalogue says {}",
            r.code,
            r.severity
        );
    }
    assert!(
        documented.is_empty(),
        "documented but not in rules(): {:?}",
        documented.keys()
    );
}

#[test]
fn codes_are_unique_and_well_formed() {
    let mut seen = std::collections::BTreeSet::new();
    for r in rules() {
        assert!(seen.insert(r.code), "{} twice", r.code);
        assert!(r.code.len() == 5 && r.code.starts_with("TP"), "{}", r.code);
        assert!(!r.title.is_empty() && !r.fix_summary.is_empty());
    }
    assert!(rules().len() >= 40);
}
