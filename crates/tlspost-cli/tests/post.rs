//! `tlspost post` / `tlspost request` against real nginx in front of a recording origin: output,
//! the trace, `--json-output`, and one exit code per failure class.

mod support;

use std::process::Output;

use support::text;
use tlspost_testkit::origin::{Env, HOST};
use tlspost_testkit::proc::refused_addr;

fn tlspost(args: &[&str], stdin: Option<&[u8]>) -> Output {
    support::finish(support::spawn(args), stdin.unwrap_or_default())
}

/// `--cacert root.pem --resolve HOST:PORT:127.0.0.1` for every nginx port.
fn trust_args(env: &Env) -> Vec<String> {
    let mut v = vec!["--cacert".to_string(), env.root_file().display().to_string()];
    for site in ["good", "expired", "wrong", "leafonly"] {
        v.push("--resolve".into());
        v.push(format!("{HOST}:{}:127.0.0.1", env.port(site)));
    }
    v
}

fn run(env: &Env, extra: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut args: Vec<String> = Vec::new();
    let mut it = extra.iter();
    // The subcommand first, then the trust arguments, then the rest.
    if let Some(sub) = it.next() {
        args.push(sub.to_string());
    }
    args.extend(trust_args(env));
    args.extend(it.map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    tlspost(&refs, stdin)
}

/// [`run`], which must exit 0: its stdout and stderr.
fn answered(env: &Env, extra: &[&str], stdin: Option<&[u8]>) -> (Vec<u8>, String) {
    let out = run(env, extra, stdin);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    (out.stdout, err)
}

const JSON: &str = r#"{"grant_type":"client_credentials","client_secret":"hunter2-secret"}"#;

#[test]
fn post_json_prints_body_and_verbose_shows_heads_with_secrets_masked() {
    let env = Env::start();
    let url = env.url(env.port("good"), "/echo");
    let auth = "Authorization: Bearer tok-123";
    let (stdout, err) = answered(&env, &["post", &url, "--json", JSON, "-v", "-H", auth], None);
    assert_eq!(text(&stdout), JSON);
    for shown in [
        "> POST /echo HTTP/1.1",
        "> Content-Type: application/json",
        // The scheme word stays; the credential is masked byte for byte.
        "> Authorization: Bearer *******",
        "< HTTP/1.1 200 OK",
        "TLS TLSv1.3",
        "answered by the origin",
        "timings: dns",
    ] {
        assert!(err.contains(shown), "{shown:?} in:\n{err}");
    }
    assert!(!err.contains("tok-123") && !err.contains("hunter2"), "{err}");
    let got = env.origin.received();
    assert_eq!(got[0].body, JSON.as_bytes());
    assert_eq!(got[0].header("authorization").as_deref(), Some("Bearer tok-123"));

    // --trace shows every byte; --show-secrets unmasks.
    let out = run(&env, &["post", &url, "--json", JSON, "--trace", "--show-secrets"], None);
    let err = text(&out.stderr);
    for shown in ["=> Send data", "<= Recv data", "hunter2-secret"] {
        assert!(err.contains(shown), "{shown:?} in:\n{err}");
    }
}

#[test]
fn json_from_stdin_and_json_output_document() {
    let env = Env::start();
    let url = env.url(env.port("good"), "/echo");
    let args = ["post", &url, "--json", "@-", "--json-output"];
    let (stdout, _) = answered(&env, &args, Some(JSON.as_bytes()));
    let doc: serde_json::Value = serde_json::from_slice(&stdout).expect("one JSON document");
    assert_eq!(doc["status"], 200);
    assert_eq!(doc["body"], JSON);
    assert_eq!(doc["attempts"], 1);
    assert_eq!(doc["tls"]["version"], "TLSv1.3");
    assert_eq!(doc["tls"]["sni"], HOST);
    assert_eq!(doc["tls"]["resumed"], false);
    assert_eq!(doc["answered_by"]["by"], "origin");
    assert!(doc["timings_ms"]["total"].as_f64().expect("total") > 0.0);
    assert_eq!(doc["tls"]["chain"].as_array().expect("chain").len(), 2);
    assert_eq!(env.origin.received()[0].body, JSON.as_bytes());

    // A file, a PUT through `request -X`, -i and -o.
    let dir = tempfile::tempdir().expect("dir");
    let body = dir.path().join("body.json");
    std::fs::write(&body, JSON).expect("write");
    let outfile = dir.path().join("out.bin");
    let at = format!("@{}", body.display());
    let o = outfile.display().to_string();
    answered(
        &env,
        &["request", "-X", "PUT", &url, "--json", &at, "-i", "-o", &o],
        None,
    );
    let written = std::fs::read(&outfile).expect("output file");
    assert!(written.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(written.ends_with(JSON.as_bytes()));
    assert!(
        env.origin.received()[1].head.starts_with(b"PUT /echo HTTP/1.0")
            || env.origin.received()[1].head.starts_with(b"PUT /echo HTTP/1.1")
    );
}

#[test]
fn exit_codes_per_failure_class() {
    let env = Env::start();
    let (good, expired, leaf_only) = (env.port("good"), env.port("expired"), env.port("leafonly"));
    let code = |extra: &[&str]| {
        let out = run(&env, extra, None);
        (out.status.code(), text(&out.stderr))
    };
    let (c, err) = code(&["post", &env.url(expired, "/echo"), "--json", "{}"]);
    assert_eq!(c, Some(6), "expired: {err}");
    assert!(err.contains("expired at 2021-01-01 00:00:00 UTC"), "{err}");
    let (c, err) = code(&["post", &env.url(leaf_only, "/echo"), "--json", "{}"]);
    assert_eq!(c, Some(6), "leaf only: {err}");
    let (c, err) = code(&["post", &format!("https://127.0.0.1:{good}/echo"), "--json", "{}"]);
    assert_eq!(c, Some(7), "no SNI: {err}");
    assert!(err.contains("unrecognized_name"), "{err}");
    let (c, err) = code(&["post", &env.url(good, "/slow?ms=3000"), "--json", "{}", "-m", "0.5"]);
    assert_eq!(c, Some(8), "timeout: {err}");
    assert!(err.contains("timed out"), "{err}");
    let (c, err) = code(&["post", &env.url(good, "/midbody"), "--json", "{}", "--retry", "2"]);
    assert_eq!(c, Some(9), "truncated: {err}");
    assert!(err.contains("10"), "{err}");
    let (c, err) = code(&["post", &env.url(good, "/r301"), "--json", "{}", "-L"]);
    assert_eq!(c, Some(10), "301: {err}");
    assert!(err.contains("307 or 308"), "{err}");
    let (c, err) = code(&["post", &env.url(good, "/nothing"), "--json", "{}", "--fail"]);
    assert_eq!(c, Some(22), "--fail: {err}");
    let (c, err) = code(&["post", "https://no-such-host.invalid/", "--json", "{}"]);
    assert_eq!(c, Some(4), "dns: {err}");
    // Held for the test: nothing listens there, and nothing can start to.
    let refused = refused_addr();
    let closed = refused.port();
    let (c, err) = code(&[
        "post",
        &format!("https://{HOST}:{closed}/"),
        "--resolve",
        &format!("{HOST}:{closed}:{}", refused.ip()),
        "--json",
        "{}",
    ]);
    assert_eq!(c, Some(5), "refused: {err}");
    let (c, err) = code(&["post", "ftp://x/", "--json", "{}"]);
    assert_eq!(c, Some(2), "bad URL: {err}");
    assert_eq!(env.origin.count("/midbody"), 1, "the POST was not re-sent");
}

#[test]
fn insecure_warns_loudly_and_edge_answers_are_explained() {
    let env = Env::start();
    let wrong = env.url(env.port("wrong"), "/echo");
    let (_, err) = answered(&env, &["post", &wrong, "--json", "{}", "--insecure"], None);
    assert!(err.contains("WARNING: --insecure"), "{err}");

    let edge = env.url(env.port("good"), "/edge1010");
    let (_, err) = answered(&env, &["post", &edge, "--json", "{}"], None);
    assert!(err.contains("edge made this 403 (error 1010)"), "{err}");
    assert!(err.contains("origin never saw the request"), "{err}");
    assert!(err.to_ascii_lowercase().contains("user-agent"), "{err}");
}
