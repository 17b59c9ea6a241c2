//! The house rule "no module imports another that imports it back", checked over every crate's
//! `src/`: each module's `use crate::…` / `use super::…` trees and inline `crate::a::b` paths give its
//! edges to sibling and cousin modules (a child using its parent's items is Rust's idiom and is not an
//! edge); any cycle among them fails the test, named module by module.
//!
//! It reads the sources as text (comments and string literals removed, `#[cfg(test)]` modules cut),
//! which is enough for the way this workspace writes paths.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Source text without comments, string/char literals and `#[cfg(test)] mod … { … }` blocks.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if b[i] == b'"' || (b[i] == b'r' && matches!(b.get(i + 1), Some(b'"' | b'#'))) {
            i = skip_string(b, i);
            out.push_str("\"\"");
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            i += 3;
        } else if b[i] == b'\'' && b.get(i + 1) == Some(&b'\\') {
            i += 2;
            while i < b.len() && b[i] != b'\'' {
                i += 1;
            }
            i += 1;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    cut_test_modules(&out)
}

/// Index just past the string literal starting at `i` (plain, byte or raw).
fn skip_string(b: &[u8], mut i: usize) -> usize {
    if b[i] == b'r' {
        i += 1;
        let mut hashes = 0;
        while b.get(i) == Some(&b'#') {
            hashes += 1;
            i += 1;
        }
        i += 1; // the opening quote
        while i < b.len() {
            if b[i] == b'"' && b[i + 1..].iter().take(hashes).filter(|&&c| c == b'#').count() == hashes {
                return i + 1 + hashes;
            }
            i += 1;
        }
        return i;
    }
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// Removes `#[cfg(test)]` followed by a `mod name { … }` block (the unit tests).
fn cut_test_modules(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        let trimmed = after.trim_start();
        if trimmed.starts_with("mod ") {
            if let Some(open) = trimmed.find('{') {
                let body = &trimmed[open..];
                let mut depth = 0usize;
                let mut end = body.len();
                for (k, c) in body.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                rest = &body[end..];
                continue;
            }
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Expands a use tree such as `crate::{a::B, c::{d, e}}` into its paths.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        return vec![tree];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (k, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(&format!("{prefix}{p}")))
        .collect()
}

/// Every `crate::…` / `super::…` path in the code, `use` trees expanded.
fn paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before_ok = at == 0 || !rest.as_bytes()[at - 1].is_ascii_alphanumeric() && rest.as_bytes()[at - 1] != b'_';
        let tail = &rest[at + 4..];
        let end = tail.find(';').unwrap_or(tail.len());
        if before_ok && (tail.starts_with("crate::") || tail.starts_with("super::")) {
            found.extend(expand(&tail[..end]));
        }
        rest = &tail[end.min(tail.len())..];
    }
    for key in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(key) {
            let start = from + at;
            let prev = code[..start].chars().last();
            if !matches!(prev, Some(c) if c.is_alphanumeric() || c == '_' || c == ':') {
                let len = code[start..]
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .unwrap_or(code.len() - start);
                found.push(code[start..start + len].to_string());
            }
            from = start + key.len();
        }
    }
    found
}

fn module_name(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("lib" | "main" | "mod")) {
        parts.pop();
    }
    if parts.first().map(String::as_str) == Some("bin") {
        parts.clear(); // a binary is its own crate root
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read_dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The crate's module edges: module -> modules it imports (not its ancestors or descendants).
fn edges(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.retain(|f| !f.strip_prefix(src).is_ok_and(|r| r.starts_with("bin")));
    let modules: BTreeMap<Vec<String>, PathBuf> = files.iter().map(|f| (module_name(src, f), f.clone())).collect();
    let mut graph = BTreeMap::new();
    for (m, file) in &modules {
        let code = code_only(&fs::read_to_string(file).expect("read"));
        let mut to = BTreeSet::new();
        for path in paths(&code) {
            let mut segs: Vec<String> = Vec::new();
            let mut base = m.clone();
            let mut first = true;
            for seg in path.split("::").filter(|s| !s.is_empty()) {
                match seg {
                    "crate" if first => base.clear(),
                    "super" => {
                        base.pop();
                    }
                    "self" if first => {}
                    _ => segs.push(seg.to_string()),
                }
                first = false;
            }
            let full: Vec<String> = base.iter().cloned().chain(segs).collect();
            let target = (1..=full.len())
                .rev()
                .map(|n| full[..n].to_vec())
                .find(|c| modules.contains_key(c));
            if let Some(t) = target {
                let related = t.starts_with(m) || m.starts_with(&t);
                if !related {
                    to.insert(t.join("::"));
                }
            }
        }
        graph.insert(if m.is_empty() { "(root)".into() } else { m.join("::") }, to);
    }
    graph
}

/// Cycles as lists of modules (each found once, from its smallest member).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for start in graph.keys() {
        // Depth-first search for paths back to `start` through modules greater than it.
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        while let Some((node, path)) = stack.pop() {
            for next in graph.get(&node).into_iter().flatten() {
                if next == start {
                    found.push(path.clone());
                } else if next > start && !path.contains(next) && path.len() < 8 {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
    found
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut report = Vec::new();
    let mut names: Vec<PathBuf> = fs::read_dir(&crates)
        .expect("crates/")
        .flatten()
        .map(|e| e.path())
        .collect();
    names.sort();
    for dir in names {
        let src = dir.join("src");
        if !src.is_dir() {
            continue;
        }
        let graph = edges(&src);
        assert!(!graph.is_empty(), "{} has modules", src.display());
        for cycle in cycles(&graph) {
            let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
            report.push(format!("{name}: {} -> {}", cycle.join(" -> "), cycle[0]));
        }
    }
    assert!(report.is_empty(), "module cycles:\n{}", report.join("\n"));
}

#[test]
fn the_scanner_sees_use_trees_inline_paths_and_super() {
    let code = code_only(
        "use crate::{a::B, c::{d, e::F}};\nuse super::g;\nfn x() { crate::h::i(); let s = \"crate::no\"; }\n\
         // crate::comment\n#[cfg(test)]\nmod tests { use crate::t; }\n",
    );
    let p = paths(&code);
    for want in [
        "crate::a::B",
        "crate::c::d",
        "crate::c::e::F",
        "super::g",
        "crate::h::i",
    ] {
        assert!(p.iter().any(|x| x == want), "{want} in {p:?}");
    }
    assert!(
        !p.iter()
            .any(|x| x.contains("no") || x.contains("comment") || x == "crate::t"),
        "{p:?}"
    );
    let mut g = BTreeMap::new();
    g.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    g.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    g.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(
        cycles(&g),
        vec![vec!["a".to_string(), "b".to_string(), "c".to_string()]]
    );
}
