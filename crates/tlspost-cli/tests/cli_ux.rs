//! The command line as a person meets it, run as the real binary against the test kit's servers:
//! curl's `-H "Name:"` and `-H "Name;"`, `lint --capture` naming the server it asks, `lint
//! --explain`, exit codes in every `--help`, library errors that name no library items (the CLI
//! adds its own flags as hints), and a note for a redirect that was not followed.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output};

use support::{BIN, text};
use tlspost_testkit::origin::{Env, HOST};
use tlspost_testkit::proc::free_port;
use tlspost_testkit::serve::Serve;

fn tlspost(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run tlspost")
}

/// `tlspost SUB --cacert root.pem --resolve HOST:PORT:127.0.0.1 ARGS…` against the good nginx site.
fn via_nginx(env: &Env, sub: &str, args: &[&str]) -> Output {
    let root = env.root_file().display().to_string();
    let resolve = format!("{HOST}:{}:127.0.0.1", env.port("good"));
    let mut all = vec![sub, "--cacert", &root, "--resolve", &resolve];
    all.extend_from_slice(args);
    tlspost(&all)
}

/// The lines of stderr that start with `prefix`.
fn lines_with<'a>(stderr: &'a str, prefix: &str) -> Vec<&'a str> {
    stderr.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[test]
fn empty_header_removes_the_automatic_one_as_curl_does() {
    let env = Env::start();
    // The Arduino-ESP32 HTTPClient request: its User-Agent, and no Content-Type.
    let url = env.url(env.port("good"), "/echo");
    let out = via_nginx(
        &env,
        "post",
        &[
            "-H",
            "Content-Type:",
            "-H",
            "User-Agent: ESP32HTTPClient",
            "--data-binary",
            r#"{"a":1}"#,
            &url,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), r#"{"a":1}"#);
    let got = env.origin.received();
    let last = got.last().expect("the origin got the request");
    assert_eq!(last.header("content-type"), None, "{}", text(&last.head));
    assert_eq!(last.header("user-agent").as_deref(), Some("ESP32HTTPClient"));
    assert_eq!(last.body, br#"{"a":1}"#);

    // Straight to the origin, to see the exact bytes: every removable automatic header removed,
    // `-A` overridden by `-H "User-Agent:"`, and `Name;` sent empty.
    let origin = format!("http://127.0.0.1:{}/echo", env.origin.port);
    let out = tlspost(&[
        "post",
        "-A",
        "acme/1",
        "-H",
        "User-Agent:",
        "-H",
        "accept-encoding:",
        "-H",
        "Connection:  ",
        "-H",
        "Content-Type:",
        "-H",
        "X-Empty;",
        "--json",
        "{}",
        &origin,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let got = env.origin.received();
    let last = got.last().expect("the origin got the request");
    assert_eq!(
        text(&last.head),
        format!(
            "POST /echo HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 2\r\nX-Empty:\r\n\r\n",
            env.origin.port
        )
    );

    // What the request needs cannot be removed (or, for the framing, given): a usage error that says why.
    for (h, needle) in [
        ("Host:", "RFC 9112 §3.2"),
        ("content-length:", "frame the body"),
        ("Transfer-Encoding: chunked", "frame the body"),
    ] {
        let out = tlspost(&["post", "-H", h, "--json", "{}", &origin]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{h}: {err}");
        assert!(err.contains(needle) && err.contains(&format!("{h:?}")), "{h}: {err}");
    }
    let out = tlspost(&["post", "-H", "NoColon", &origin]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("\"Name:\" to remove"),
        "{}",
        text(&out.stderr)
    );
    // None of the refused requests was sent.
    assert_eq!(env.origin.received().len(), got.len());
}

/// The capture ids `tlspost serve` holds, from its JSON API.
fn capture_ids(serve: &Serve) -> Vec<u64> {
    let mut s = TcpStream::connect(serve.http()).expect("connect to the capture server");
    // The UI and API answer only to the listener's own names (a foreign Host gets 421).
    s.write_all(format!("GET /_tlspost/api/captures HTTP/1.0\r\nHost: {}\r\n\r\n", serve.http()).as_bytes())
        .expect("ask for the captures");
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).expect("read the list");
    let at = answer.windows(4).position(|w| w == b"\r\n\r\n").expect("a head") + 4;
    let list: serde_json::Value = serde_json::from_slice(&answer[at..]).expect("a JSON list");
    list.as_array()
        .expect("an array")
        .iter()
        .filter_map(|c| c["id"].as_u64())
        .collect()
}

#[test]
fn lint_capture_says_which_server_it_asks() {
    let serve = Serve::tlspost(BIN, &[]);
    let http = serve.http().to_string();
    let out = tlspost(&["post", &format!("http://{http}/ingest"), "--json", "{}"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let id = capture_ids(&serve).first().copied().expect("one capture").to_string();

    let out = tlspost(&["lint", "--capture", &id, "--server", &http]);
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!("tlspost lint: capture {id} from tlspost serve at {http}\n")),
        "{err}"
    );
    assert!(text(&out.stdout).contains("bytes checked"), "{}", text(&out.stdout));
    assert!(matches!(out.status.code(), Some(0 | 1)), "{err}");

    // Nothing listens there: the error names the address and the flag that points elsewhere.
    let nowhere = format!("127.0.0.1:{}", free_port());
    let out = tlspost(&["lint", "--capture", &id, "--server", &nowhere]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(last.contains(&nowhere) && last.contains("--server ADDR"), "{err}");

    // Without --server, it says it asked the default.
    let out = tlspost(&["lint", "--capture", &id]);
    assert!(
        text(&out.stderr).starts_with(&format!(
            "tlspost lint: capture {id} from tlspost serve at 127.0.0.1:8080 (the default; --server ADDR for another)"
        )),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn lint_explain_prints_the_documented_entry_without_the_repository() {
    // Run where no docs/lint.md exists: the entry is compiled in.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .current_dir(elsewhere.path())
            .output()
            .expect("run tlspost")
    };
    let out = run(&["lint", "--explain", "tp301"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let entry = text(&out.stdout);
    assert!(
        entry.starts_with("TP301 · JSON body without Content-Type: application/json\nerror. "),
        "{entry}"
    );
    assert!(entry.contains("\nFix: ") && entry.contains("\nExample: "), "{entry}");
    // The same text as the page, emphasis aside, and nothing of the next entry.
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/lint.md"))
        .expect("docs/lint.md");
    let body = entry.split_once('\n').map(|(_, b)| b).unwrap_or_default();
    assert!(doc.replace("**", "").contains(body.trim_end()), "{entry}");
    assert!(!entry.contains("TP302"), "{entry}");

    let out = run(&["lint", "--explain", "TP999"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("TP999") && err.contains("`tlspost lint --explain` lists"),
        "{err}"
    );

    let out = run(&["lint", "--explain"]);
    assert_eq!(out.status.code(), Some(0));
    let listed: Vec<String> = text(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("TP").map(|r| format!("TP{}", &r[..3])))
        .collect();
    let codes: Vec<&str> = tlspost_lint::rules().iter().map(|r| r.code).collect();
    assert_eq!(listed, codes);
}

#[test]
fn every_subcommand_help_lists_its_exit_codes() {
    let cases: &[(&[&str], &[u8])] = &[
        (&["post"], &[0, 2, 4, 5, 6, 7, 8, 9, 10, 22, 23, 63]),
        (&["request"], &[0, 2, 4, 5, 6, 7, 8, 9, 10, 22, 23, 63]),
        (&["certs"], &[0, 1, 2, 23]),
        (&["certs", "check"], &[0, 1, 2, 23]),
        (&["lint"], &[0, 1, 2, 23]),
        (&["doctor"], &[0, 1, 2, 23]),
        (&["serve"], &[1, 2]),
    ];
    for (cmd, codes) in cases {
        let mut args = cmd.to_vec();
        args.push("--help");
        let out = tlspost(&args);
        assert_eq!(out.status.code(), Some(0), "{cmd:?}");
        let help = text(&out.stdout);
        let section = help
            .split_once("Exit status:\n")
            .unwrap_or_else(|| panic!("{cmd:?} --help has no exit codes:\n{help}"))
            .1;
        let listed: Vec<u8> = section
            .lines()
            .filter_map(|l| l.split_whitespace().next()?.parse().ok())
            .collect();
        assert_eq!(&listed, codes, "{cmd:?}:\n{section}");
    }
    // What the help says is what the command does: a lint error finding is 1, an unknown code 2.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tlspost-lint/tests/fixtures/arduino_httpclient.http");
    assert_eq!(
        tlspost(&["lint", &fixture.display().to_string()]).status.code(),
        Some(1)
    );
}

/// Runs `tlspost ARGS` whose stdout's reader has gone (as `| head -1` leaves it) before the command
/// writes: the command reads `stdin` to its end first (`lint -`, `--json @-`), and the read end of
/// its stdout is closed before that input is given.
fn into_closed_pipe(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = support::spawn(args);
    drop(child.stdout.take());
    support::finish(child, stdin)
}

#[test]
fn a_reader_that_closes_stdout_ends_the_command_quietly_with_23() {
    let env = Env::start();
    let root = env.root_file().display().to_string();
    let resolve = format!("{HOST}:{}:127.0.0.1", env.port("good"));
    let url = env.url(env.port("good"), "/echo");
    let remote = ["--cacert", &root, "--resolve", &resolve, &url, "--json", "@-"];
    let runs: &[(&[&str], &[&str])] = &[
        (&["lint", "-"], &[]),
        (&["lint", "-", "--json"], &[]),
        (&["post"], &remote),
        (&["post", "--json-output"], &remote),
        (&["doctor"], &remote),
        (&["doctor", "--json-output"], &remote),
    ];
    for (cmd, rest) in runs {
        let args: Vec<&str> = cmd.iter().chain(rest.iter()).copied().collect();
        let input: &[u8] = if cmd[0] == "lint" {
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}"
        } else {
            br#"{"t":21.5}"#
        };
        let out = into_closed_pipe(&args, input);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(23), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            !stderr.to_lowercase().contains("broken pipe"),
            "{args:?}: quietly: {stderr}"
        );
    }
}

#[test]
fn library_errors_state_facts_and_the_cli_names_its_flags() {
    let env = Env::start();
    let url = env.url(env.port("good"), "/echo");
    // Mozilla's roots do not know the test root: unknown issuer.
    let resolve = format!("{HOST}:{}:127.0.0.1", env.port("good"));
    let out = tlspost(&["post", "--resolve", &resolve, "--json", "{}", &url]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{err}");
    // The error (its continuation lines included) says which root to trust, naming no flag and no
    // command; the hint after it does.
    let (error, hint) = err.split_once("tlspost: hint:").expect("a hint");
    assert!(error.starts_with("tlspost: error:"), "{err}");
    assert!(
        error.contains("the root to trust is the one that issued \"O=tlspost client tests, CN=tlspost Test Root\""),
        "{err}"
    );
    assert!(!error.contains("--") && !error.contains("tlspost certs"), "{err}");
    assert!(
        hint.contains("--cacert ROOT.pem") && hint.contains(&format!("tlspost certs {HOST}")),
        "{err}"
    );

    // A name that does not resolve: the hint gives --resolve for that name.
    let out = tlspost(&["post", "--json", "{}", "https://no-such-host.invalid/x"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        !lines_with(&err, "tlspost: error:").join("").contains("--resolve"),
        "{err}"
    );
    assert!(
        lines_with(&err, "tlspost: hint:")
            .join("")
            .contains("--resolve no-such-host.invalid:PORT:ADDR"),
        "{err}"
    );

    // The retry and redirect policies speak of facts, not of the library's items.
    let out = via_nginx(
        &env,
        "request",
        &[
            "-X",
            "PUT",
            "--retry",
            "2",
            "-v",
            "--json",
            "{}",
            &env.url(env.port("good"), "/midbody"),
        ],
    );
    let retry = text(&out.stderr);
    assert_eq!(out.status.code(), Some(9), "{retry}");
    assert!(retry.contains("gave up after 3 attempt(s)"), "{retry}");
    let out = via_nginx(
        &env,
        "post",
        &["-L", "--json", "{}", &env.url(env.port("good"), "/r302")],
    );
    let redirect = text(&out.stderr);
    assert_eq!(out.status.code(), Some(10), "{redirect}");
    assert!(redirect.contains("from POST to GET"), "{redirect}");
    for e in [&retry, &redirect] {
        assert!(
            !e.contains("Policy") && !e.contains("max_attempts") && !e.contains("max_hops"),
            "{e}"
        );
    }
}

#[test]
fn a_redirect_not_followed_is_noted_with_what_l_would_do() {
    let env = Env::start();
    let u = |p: &str| env.url(env.port("good"), p);
    let echo = u("/echo");

    // 301 on a POST: not followed, and -L would refuse it too.
    let out = via_nginx(&env, "post", &["--json", "{}", &u("/r301")]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let note = lines_with(&err, "tlspost: 301 redirect to /echo not followed").join("");
    assert!(
        note.contains("-L refuses it too") && note.contains("307 or 308"),
        "{err}"
    );

    // 307 on a POST: -L would re-send the POST and its body.
    let out = via_nginx(&env, "post", &["--json", "{}", &u("/r307")]);
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "tlspost: 307 redirect to /echo not followed (use -L to follow it: POST {echo}, with the same body)"
        )),
        "{err}"
    );

    // 302 on a GET: -L follows it as a GET.
    let out = via_nginx(&env, "request", &[&u("/r302")]);
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "tlspost: 302 redirect to /echo not followed (use -L to follow it: GET {echo})"
        )),
        "{err}"
    );

    // With -L there is nothing to note: the redirect was followed.
    let out = via_nginx(&env, "post", &["-L", "--json", r#"{"k":2}"#, &u("/r308")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), r#"{"k":2}"#);
    assert!(!text(&out.stderr).contains("not followed"), "{}", text(&out.stderr));
    // Not a redirect: no note either.
    let out = via_nginx(&env, "post", &["--json", "{}", &echo]);
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));
}

#[test]
fn lint_capture_sends_the_token_a_non_loopback_server_asks_for() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--http", "0.0.0.0:0", "--https", "off", "--data"])
        .arg(data.path());
    let serve = Serve::spawn(cmd, data.path()).expect("tlspost serve on 0.0.0.0");
    let token = serve
        .stdout()
        .lines()
        .find_map(|l| l.strip_prefix("UI: ")?.split("token=").nth(1).map(str::to_string))
        .expect("the banner's UI line carries the token");
    // Reached through loopback, which a listener on every address also serves.
    let http = format!("127.0.0.1:{}", serve.http().port());
    let out = tlspost(&["post", &format!("http://{http}/ingest"), "--json", "{}"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let out = tlspost(&["lint", "--capture", "1", "--server", &http]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("401") && err.contains("--token TOKEN"), "{err}");

    let out = tlspost(&["lint", "--capture", "1", "--server", &http, "--token", "not-it"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is not this server's"), "{err}");

    let out = tlspost(&["lint", "--capture", "1", "--server", &http, "--token", &token]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("bytes checked"), "{}", text(&out.stdout));
}

/// A plain-HTTP server on loopback that answers every connection with a binary body.
fn binary_server() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nab\x00\x1b[2Jz");
        }
    });
    addr
}

#[test]
fn a_binary_body_is_not_written_raw_to_a_terminal_but_unchanged_to_a_pipe() {
    let addr = binary_server();
    let url = format!("http://{addr}/bin");
    // A pipe gets the body exactly, as curl's convention.
    let out = tlspost(&["post", &url, "--json", "{}"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(out.stdout, b"ab\x00\x1b[2Jz");

    // A terminal (script(1) gives the command a pseudo-terminal) does not.
    let in_terminal = |extra: &str| {
        let cmd = format!("{BIN} post {url} --json '{{}}' {extra}");
        Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .output()
            .expect("script(1) from util-linux/bsdutils")
    };
    let out = in_terminal("");
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(23), "{shown}");
    assert!(shown.contains("the body is binary and stdout is a terminal"), "{shown}");
    assert!(shown.contains("-o - writes it to the terminal anyway"), "{shown}");
    assert!(
        !out.stdout.contains(&0x1b),
        "no escape sequence reached the terminal: {shown:?}"
    );

    // `-o -` asks for it there anyway.
    let out = in_terminal("-o -");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        out.stdout.windows(4).any(|w| w == b"\x1b[2J"),
        "{:?}",
        text(&out.stdout)
    );
}

#[test]
fn every_command_that_connects_refuses_a_bad_resolve_the_same_way() {
    // Nothing listens on these URLs: a command that tried to connect would fail otherwise.
    let url = format!("https://{HOST}:{}/", free_port());
    let runs: [&[&str]; 5] = [
        &["post", "--resolve", "no-port", "--json", "{}", &url],
        &["doctor", "--resolve", "no-port", &url],
        &["certs", "--resolve", "no-port", "example.com"],
        &["serve", "--resolve", "no-port", "--upstream", &url],
        &["replay", "1", "--to", &url, "--resolve", "no-port"],
    ];
    for args in runs {
        let out = tlspost(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("--resolve") && err.contains("no-port") && err.contains("HOST:PORT:ADDR"),
            "{args:?}: {err}"
        );
    }
}
