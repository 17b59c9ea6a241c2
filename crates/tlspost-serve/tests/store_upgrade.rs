//! A data directory made by the first release (schema version 0: no `PRAGMA user_version` stamp)
//! opens in this one: the store is migrated, the captures read back as that release served them,
//! the CA and server certificate are reused, and from then on no id is handed out twice (also
//! after the list is cleared). A store from a newer tlspost is refused, untouched.
//! The fixture and how it was made: `tests/fixtures/README.md`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::curl;
use tlspost_serve::store::SCHEMA_VERSION;
use tlspost_testkit::proc::StartError;
use tlspost_testkit::serve::Serve;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data-v0")
}

/// A copy of the fixture's data directory, to run on.
fn copy_of_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    dir
}

fn start(dir: &Path) -> Result<Serve, StartError> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tlspost-serve"));
    cmd.args(["--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--data"])
        .arg(dir);
    Serve::spawn(cmd, dir)
}

fn user_version(db: &Path) -> i64 {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

/// `now` holds every field `then` had, with the same value (fields added since, such as a TLS
/// fact the first release did not record, may be there too).
fn same_where_it_had(now: &serde_json::Value, then: &serde_json::Value, at: &str) {
    match then.as_object() {
        Some(fields) => {
            for (field, value) in fields {
                same_where_it_had(&now[field], value, &format!("{at}: `{field}`"));
            }
        }
        None => assert_eq!(now, then, "{at}"),
    }
}

fn get(url: &str) -> String {
    let (out, err, code) = curl(&[url]);
    assert_eq!(code, 0, "{url}: {err}");
    out
}

#[test]
fn a_data_directory_of_the_first_release_reads_back_after_the_upgrade() {
    let dir = copy_of_fixture();
    let db = dir.path().join("captures.sqlite3");
    assert_eq!(user_version(&db), 0, "the fixture is of version 0");
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    let (ca, ca_key, leaf) = (read("ca.pem"), read("ca.key"), read("server.pem"));

    let mut server = start(dir.path()).unwrap_or_else(|e| panic!("the server did not start on the fixture: {e}"));
    assert_eq!(
        user_version(&db),
        SCHEMA_VERSION,
        "the store is stamped with this build's schema version"
    );

    // Every capture reads back as the first release served it: each field it had, the same.
    let http = server.http();
    let now: serde_json::Value =
        serde_json::from_str(&get(&format!("http://{http}/_tlspost/api/captures?limit=100"))).unwrap();
    let then: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data-v0.api.json"))
            .unwrap(),
    )
    .unwrap();
    let (now, then) = (now.as_array().unwrap(), then.as_array().unwrap());
    assert_eq!(then.len(), 7);
    assert_eq!(now.len(), then.len(), "the same captures");
    for (n, t) in now.iter().zip(then) {
        let id = &t["id"];
        same_where_it_had(n, t, &format!("capture {id}"));
        let one: serde_json::Value =
            serde_json::from_str(&get(&format!("http://{http}/_tlspost/api/captures/{id}"))).unwrap();
        assert_eq!(&one["raw"], &t["raw"], "capture {id} by itself");
    }
    assert!(
        then.iter()
            .any(|c| c["scheme"] == "https" && c["tls"]["sni"] == "localhost"),
        "the fixture has HTTPS captures with their TLS facts"
    );

    // The CA and the server certificate are the fixture's, reused: a client holding the old
    // ca.pem still connects, and its request is the next capture.
    assert_eq!(get(&format!("http://{http}/_tlspost/ca.pem")).as_bytes(), &ca[..]);
    let ca_path = fixture().join("ca.pem");
    let (out, err, code) = curl(&[
        "--cacert",
        ca_path.to_str().unwrap(),
        &format!("https://localhost:{}/after-upgrade", server.https_port()),
    ]);
    assert_eq!(code, 0, "a client trusting the old CA connects: {err}");
    assert!(out.contains("\"id\": 8"), "{out}");

    // Cleared through the API (the page's CSRF token), the next capture still gets a new id: a
    // bookmarked /captures/8 or a replay's link to it never names another capture.
    let page = get(&format!("http://{http}/_tlspost/"));
    let token = page.split("data-csrf=\"").nth(1).unwrap().split('"').next().unwrap();
    let (out, err, code) = curl(&[
        "-X",
        "POST",
        "-H",
        &format!("X-Tlspost-Csrf: {token}"),
        &format!("http://{http}/_tlspost/api/captures/clear"),
    ]);
    assert_eq!((code, out.trim()), (0, "{\"deleted\":8}"), "{err}");
    let out = get(&format!("http://{http}/after-clear"));
    assert!(out.contains("\"id\": 9"), "{out}");
    server.stop();
    assert_eq!((read("ca.pem"), read("ca.key"), read("server.pem")), (ca, ca_key, leaf));
}

#[test]
fn a_store_from_a_newer_tlspost_is_refused_naming_both_versions() {
    let dir = copy_of_fixture();
    let db = dir.path().join("captures.sqlite3");
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", 9)
        .unwrap();
    let before = std::fs::read(&db).unwrap();
    let output = match start(dir.path()) {
        Err(StartError::Exited { status, output }) => {
            assert!(!status.success());
            output
        }
        Err(e) => panic!("not refused at start: {e}"),
        Ok(_) => panic!("a store of schema version 9 was opened"),
    };
    assert!(
        output.contains(&format!(
            "its schema is version 9, and this capture server knows versions up to {SCHEMA_VERSION}"
        )),
        "{output}"
    );
    assert!(output.contains("captures.sqlite3"), "{output}");
    assert_eq!(std::fs::read(&db).unwrap(), before, "the newer store is left as it is");
    assert_eq!(user_version(&db), 9);
}
