//! SQLite store (WAL). Writes go through one writer thread that commits in groups; a capture is
//! acknowledged only after its transaction committed, so the response follows a durable record
//! (durable against what, [`SyncMode`] says).

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::error::Error;
use crate::record::{Capture, FindingRecord, Timing, rfc3339};

pub(crate) mod query;

/// Where a capture's outcome goes.
type Reply = oneshot::Sender<Result<Arc<Capture>, String>>;

/// A capture to write, where to acknowledge it and through which lane (see [`Store::set_lanes`];
/// [`NO_LANE`]: directly). The capture is already in its `Arc` (the writer holds the only
/// reference until it acknowledges), so nothing is copied on the way back.
type Job = (Arc<Capture>, Reply, usize);

/// Acknowledgements handed to a lane: each reply with its outcome.
pub(crate) type Acks = Vec<(Reply, Result<Arc<Capture>, String>)>;

const NO_LANE: usize = usize::MAX;

std::thread_local! {
    /// The acknowledgement lane of the runtime on this thread.
    static LANE: std::cell::Cell<usize> = const { std::cell::Cell::new(NO_LANE) };
}

/// Handle to the store: clone freely.
#[derive(Clone)]
pub struct Store {
    tx: mpsc::Sender<Job>,
    reader: Arc<Mutex<Connection>>,
    /// Summaries of stored captures, for the live list.
    pub events: broadcast::Sender<Arc<Capture>>,
    lanes: Arc<std::sync::OnceLock<Vec<mpsc::UnboundedSender<Acks>>>>,
}

/// When a commit counts as done, and so when a response may be sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncMode {
    /// SQLite `synchronous=NORMAL` in WAL mode: a commit has written its pages to the WAL file
    /// (the OS holds them), without an fsync. A capture whose response was sent survives the
    /// server process being killed (`kill -9`) or crashing; an OS crash or power loss can lose
    /// the commits of the last moments (the database stays consistent). The WAL is fsynced at
    /// every checkpoint.
    Normal,
    /// SQLite `synchronous=FULL` (the default): the WAL is also fsynced at every commit, so a
    /// capture whose response was sent survives an OS crash or power loss too (where the disk
    /// honours fsync).
    #[default]
    Full,
}

impl SyncMode {
    /// `normal` or `full`.
    pub fn name(self) -> &'static str {
        match self {
            SyncMode::Normal => "normal",
            SyncMode::Full => "full",
        }
    }

    /// Parse `normal` or `full`.
    pub fn parse(s: &str) -> Result<SyncMode, crate::respond::RuleError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "normal" => Ok(SyncMode::Normal),
            "full" => Ok(SyncMode::Full),
            _ => Err(crate::respond::RuleError::UnknownSync(s.to_string())),
        }
    }
}

/// The schema this build reads and writes, stamped in the database as `PRAGMA user_version`.
///
/// - 0: the tables as first released (`captures`, `tls_facts`), without a stamp. A new database
///   starts here too.
/// - 1: the same tables, stamped.
/// - 2: `captures` gains `upstream` (forward mode: the upstream exchange as JSON, without the
///   response bytes) and `response` (the response head and body as received, up to the limit).
/// - 3: `captures` ids are `AUTOINCREMENT`: an id is never handed out again, also after every
///   capture was deleted (a replay's `replay_of` and a bookmarked capture's address keep naming
///   the capture they named, or none). The table is copied with its ids.
///
/// A database of an older version is brought up to this one when it is opened, in one
/// transaction ([`MIGRATIONS`]); one of a newer version is refused and left as it is.
pub const SCHEMA_VERSION: i64 = 3;

/// `MIGRATIONS[v]` takes a database from version `v` to `v + 1` (columns are added with
/// `ALTER TABLE … ADD COLUMN`, tables rebuilt by copying their rows, so rows keep what they hold).
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [
    // 0 → 1: the stamp only.
    "",
    // 1 → 2: the upstream's response (forward mode, replays).
    "ALTER TABLE captures ADD COLUMN upstream TEXT; ALTER TABLE captures ADD COLUMN response BLOB;",
    // 2 → 3: ids never reused. SQLite adds AUTOINCREMENT only to a new table: copy the rows with
    // their ids; the counter starts past the largest id, or past the old counter of a store
    // created with AUTOINCREMENT (higher when its newest rows were deleted).
    "CREATE TABLE captures_v3 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time_ms INTEGER NOT NULL,
        raw BLOB NOT NULL,
        meta TEXT NOT NULL,
        tls_key TEXT,
        upstream TEXT,
        response BLOB
    );
    INSERT INTO captures_v3 (id, time_ms, raw, meta, tls_key, upstream, response)
        SELECT id, time_ms, raw, meta, tls_key, upstream, response FROM captures;
    DELETE FROM sqlite_sequence WHERE name = 'captures_v3';
    INSERT INTO sqlite_sequence (name, seq)
        SELECT 'captures_v3', max(n) FROM (
            SELECT max(id) AS n FROM captures_v3
            UNION ALL SELECT seq FROM sqlite_sequence WHERE name = 'captures'
        ) HAVING max(n) IS NOT NULL;
    DROP TABLE captures;
    ALTER TABLE captures_v3 RENAME TO captures;",
];

/// Version 0's tables (made when missing, then migrated: ids are AUTOINCREMENT from version 3).
const TABLES_V0: &str = "CREATE TABLE IF NOT EXISTS captures (
        id INTEGER PRIMARY KEY,
        time_ms INTEGER NOT NULL,
        raw BLOB NOT NULL,
        meta TEXT NOT NULL,
        tls_key TEXT
    );
    CREATE TABLE IF NOT EXISTS tls_facts (
        key TEXT PRIMARY KEY,
        json TEXT NOT NULL
    ) WITHOUT ROWID;";

/// The columns [`row_to_capture`] reads, in its order, for a `SELECT … FROM captures c LEFT JOIN
/// tls_facts t ON t.key = c.tls_key`.
pub(crate) const COLUMNS: &str = "c.id, c.raw, c.meta, t.json, c.time_ms, c.upstream, c.response";

fn db_error<'a>(path: &'a Path, what: &'static str) -> impl Fn(rusqlite::Error) -> Error + 'a {
    move |e| Error::Store {
        what,
        path: path.display().to_string(),
        detail: e.to_string(),
    }
}

/// A database of a schema this build does not know (a newer one) is refused before anything in
/// it changes.
fn check_version(c: &Connection, path: &Path) -> Result<i64, Error> {
    let version: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db_error(path, "read the schema version of the SQLite database"))?;
    if (0..=SCHEMA_VERSION).contains(&version) {
        return Ok(version);
    }
    Err(Error::Io {
        what: "open the store",
        path: path.display().to_string(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "its schema is version {version}, and this capture server knows versions up to \
                 {SCHEMA_VERSION} (a newer one wrote it); it is left as it is: open it with that \
                 newer version, or use another data directory"
            ),
        ),
    })
}

fn open(path: &Path, sync: SyncMode) -> Result<Connection, Error> {
    let db = db_error(path, "open the SQLite database");
    let c = Connection::open(path).map_err(&db)?;
    c.busy_timeout(std::time::Duration::from_secs(10)).map_err(&db)?;
    check_version(&c, path)?;
    c.pragma_update(None, "journal_mode", "WAL").map_err(&db)?;
    let synchronous = match sync {
        SyncMode::Normal => "NORMAL",
        SyncMode::Full => "FULL",
    };
    c.pragma_update(None, "synchronous", synchronous).map_err(&db)?;
    Ok(c)
}

/// Bring the database to [`SCHEMA_VERSION`]: version 0's tables (made when missing), then each
/// migration from the database's version on, and the stamp, in one transaction.
fn migrate(c: &mut Connection, path: &Path) -> Result<(), Error> {
    let db = db_error(path, "bring the SQLite database to this tlspost's schema");
    let tx = c
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(&db)?;
    // Read again inside the transaction: another process may have migrated it meanwhile.
    let from = check_version(&tx, path)?;
    if from == SCHEMA_VERSION {
        return Ok(());
    }
    tx.execute_batch(TABLES_V0).map_err(&db)?;
    for sql in MIGRATIONS.iter().skip(usize::try_from(from).unwrap_or(0)) {
        tx.execute_batch(sql).map_err(&db)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(&db)?;
    tx.commit().map_err(&db)
}

impl Store {
    /// Open (or create) `dir/captures.sqlite3` and start the writer thread; keep at most `keep`
    /// captures; commits as [`SyncMode::Normal`].
    pub fn open(dir: &Path, keep: Option<u64>) -> Result<Store, Error> {
        Store::open_with(dir, keep, SyncMode::default())
    }

    /// [`Store::open`] with the commit durability chosen.
    pub fn open_with(dir: &Path, keep: Option<u64>, sync: SyncMode) -> Result<Store, Error> {
        let path = dir.join("captures.sqlite3");
        let mut writer = open(&path, sync)?;
        migrate(&mut writer, &path)?;
        let reader = open(&path, sync)?;
        let checkpointer = open(&path, sync)?;
        // The writer checkpoints only what the background checkpointer left (see `Checkpoints`).
        writer
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(|e| Error::Store {
                what: "turn off automatic checkpoints on the writer",
                path: path.display().to_string(),
                detail: e.to_string(),
            })?;
        let (tx, mut rx) = mpsc::channel::<Job>(4096);
        let (events, _) = broadcast::channel(1024);
        let ev = events.clone();
        let (poke, poked) = std::sync::mpsc::sync_channel::<()>(1);
        let copied = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map(drop)
                .map_err(|e| Error::Io {
                    what: "start the store threads",
                    path: path.display().to_string(),
                    source: e,
                })
        };
        let lanes = Arc::new(std::sync::OnceLock::new());
        let lanes_w = lanes.clone();
        let mut checkpoints = Checkpoints {
            poke,
            copied: copied.clone(),
            rows: 0,
        };
        spawn(
            "tlspost-store",
            Box::new(move || writer_loop(&mut writer, &mut rx, keep, &ev, &lanes_w, &mut checkpoints)),
        )?;
        spawn(
            "tlspost-ckpt",
            Box::new(move || checkpoint_loop(&checkpointer, &poked, &copied)),
        )?;
        Ok(Store {
            tx,
            reader: Arc::new(Mutex::new(reader)),
            events,
            lanes,
        })
    }

    /// Acknowledge through lanes: lane `i` carries the acknowledgements of captures put from
    /// threads marked with [`Store::mark_lane`]`(i)`, a batch's at once, to a task on that thread's
    /// runtime ([`deliver`]) which hands them out. Waking a task from the writer thread costs a
    /// syscall per task (the runtime's driver is woken each time); through a lane it costs one per
    /// batch and runtime. Set once; later calls are ignored.
    pub(crate) fn set_lanes(&self, lanes: Vec<mpsc::UnboundedSender<Acks>>) {
        let _ = self.lanes.set(lanes);
    }

    /// Mark the current thread's puts for lane `i`.
    pub(crate) fn mark_lane(i: usize) {
        LANE.with(|l| l.set(i));
    }

    /// Store a capture; resolves once committed, to the capture with its id set. A capture that
    /// already has an id (from an earlier `put`) replaces that row's outcome: its status, error
    /// and upstream exchange (forward mode commits the request first, the response when it ends).
    pub async fn put(&self, capture: Capture) -> Result<Arc<Capture>, String> {
        let (done, wait) = oneshot::channel();
        let lane = LANE.with(std::cell::Cell::get);
        // The queue is bounded: when the disk falls behind, connections wait here.
        self.tx
            .send((Arc::new(capture), done, lane))
            .await
            .map_err(|_| "the store thread stopped".to_string())?;
        wait.await.map_err(|_| "the store thread stopped".to_string())?
    }

    /// Captures newest first: at most `limit`, with ids below `before` when given.
    pub fn list(&self, limit: u32, before: Option<i64>) -> Result<Vec<Capture>, String> {
        let mut out = Vec::new();
        self.newest_below(before.unwrap_or(i64::MAX), limit, |capture| {
            out.push(capture);
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    /// Hands `visit` the captures with ids below `below`, newest first, at most `limit` of
    /// them, until it breaks; the first row that fails to read ends the walk with its error.
    pub(crate) fn newest_below(
        &self,
        below: i64,
        limit: u32,
        mut visit: impl FnMut(Capture) -> ControlFlow<()>,
    ) -> Result<(), String> {
        let c = self.reader.lock().map_err(|_| "store lock poisoned".to_string())?;
        let mut st = c
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM captures c LEFT JOIN tls_facts t ON t.key = c.tls_key \
                     WHERE c.id < ?1 ORDER BY c.id DESC LIMIT ?2"
            ))
            .map_err(read_error)?;
        let rows = st
            .query_map(params![below, limit], row_to_capture)
            .map_err(read_error)?;
        for row in rows {
            if visit(row.map_err(read_error)??).is_break() {
                break;
            }
        }
        Ok(())
    }

    /// One capture by id.
    pub fn get(&self, id: i64) -> Result<Option<Capture>, String> {
        let c = self.reader.lock().map_err(|_| "store lock poisoned".to_string())?;
        let mut st = c
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM captures c LEFT JOIN tls_facts t ON t.key = c.tls_key WHERE c.id = ?1"
            ))
            .map_err(read_error)?;
        st.query_row(params![id], row_to_capture)
            .optional()
            .map_err(read_error)?
            .transpose()
    }

    /// How many captures are stored.
    pub fn count(&self) -> Result<i64, String> {
        let c = self.reader.lock().map_err(|_| "store lock poisoned".to_string())?;
        c.query_row("SELECT count(*) FROM captures", [], |r| r.get(0))
            .map_err(read_error)
    }
}

/// What a row's `meta` column holds: everything about a capture except what other columns hold
/// (id, time, raw bytes, TLS facts) and what the raw bytes say again (method, target, version and
/// header fields: parsed anew from the stored head when read). Smaller rows, fewer pages written
/// per commit. Rows written before this layout carry those fields; they are read as they are.
#[derive(serde::Serialize, serde::Deserialize)]
struct Meta<'a> {
    #[serde(borrow)]
    peer: Cow<'a, str>,
    #[serde(borrow)]
    scheme: Cow<'a, str>,
    complete: bool,
    #[serde(borrow)]
    error: Option<Cow<'a, str>>,
    head_len: usize,
    body_len: u64,
    timing: Cow<'a, Timing>,
    reads: usize,
    conn: u64,
    seq: u32,
    #[serde(borrow)]
    sni: Option<Cow<'a, str>>,
    findings: Cow<'a, [FindingRecord]>,
    status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replay_of: Option<i64>,
    // Only in rows of the earlier layout (never written now).
    #[serde(default, skip_serializing)]
    method: Option<String>,
    #[serde(default, skip_serializing)]
    target: Option<String>,
    #[serde(default, skip_serializing)]
    version: Option<String>,
    #[serde(default, skip_serializing)]
    headers: Option<Vec<(String, String)>>,
}

impl<'a> Meta<'a> {
    /// What [`write_meta`] writes, as `serde_json` would write it.
    #[cfg(test)]
    fn of(c: &'a Capture) -> Meta<'a> {
        Meta {
            peer: Cow::Borrowed(&c.peer),
            scheme: Cow::Borrowed(&c.scheme),
            complete: c.complete,
            error: c.error.as_deref().map(Cow::Borrowed),
            head_len: c.head_len,
            body_len: c.body_len,
            timing: Cow::Borrowed(&c.timing),
            reads: c.reads,
            conn: c.conn,
            seq: c.seq,
            sni: c.sni.as_deref().map(Cow::Borrowed),
            findings: Cow::Borrowed(&c.findings),
            status: c.status,
            replay_of: c.replay_of,
            method: None,
            target: None,
            version: None,
            headers: None,
        }
    }
}

/// A row's `meta` column: [`Meta`] as JSON, written by hand (once per request; the test
/// `meta_by_hand_reads_as_serde_writes_it` holds it to `serde_json`'s output).
fn write_meta(out: &mut Vec<u8>, c: &Capture) {
    use crate::json;
    out.extend_from_slice(b"{\"peer\":");
    json::str(out, &c.peer);
    out.extend_from_slice(b",\"scheme\":");
    json::str(out, &c.scheme);
    out.extend_from_slice(b",\"complete\":");
    json::bool(out, c.complete);
    out.extend_from_slice(b",\"error\":");
    json::opt_str(out, c.error.as_deref());
    out.extend_from_slice(b",\"head_len\":");
    json::uint(out, c.head_len as u64);
    out.extend_from_slice(b",\"body_len\":");
    json::uint(out, c.body_len);
    out.extend_from_slice(b",\"timing\":{\"first_byte_us\":");
    json::uint(out, c.timing.first_byte_us);
    out.extend_from_slice(b",\"head_us\":");
    json::opt_uint(out, c.timing.head_us);
    out.extend_from_slice(b",\"body_us\":");
    json::opt_uint(out, c.timing.body_us);
    out.extend_from_slice(b"},\"reads\":");
    json::uint(out, c.reads as u64);
    out.extend_from_slice(b",\"conn\":");
    json::uint(out, c.conn);
    out.extend_from_slice(b",\"seq\":");
    json::uint(out, u64::from(c.seq));
    out.extend_from_slice(b",\"sni\":");
    json::opt_str(out, c.sni.as_deref());
    out.extend_from_slice(b",\"findings\":[");
    for (i, f) in c.findings.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"{\"code\":" } else { b",{\"code\":" });
        json::str(out, &f.code);
        out.extend_from_slice(b",\"severity\":");
        json::str(out, &f.severity);
        out.extend_from_slice(b",\"title\":");
        json::str(out, &f.title);
        out.extend_from_slice(b",\"message\":");
        json::str(out, &f.message);
        out.extend_from_slice(b",\"fix\":");
        json::str(out, &f.fix);
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"status\":");
    json::uint(out, u64::from(c.status));
    if let Some(id) = c.replay_of {
        out.extend_from_slice(b",\"replay_of\":");
        json::int(out, id);
    }
    out.push(b'}');
}

/// What the `upstream` column holds: the exchange without its bytes, and where the head ends in
/// the `response` column (head, then body).
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredUpstream {
    head_len: usize,
    #[serde(flatten)]
    up: crate::record::Upstream,
}

/// An exchange as its two columns: JSON without the bytes, and the bytes.
#[cfg(test)]
fn write_upstream(u: &crate::record::Upstream) -> Result<(String, Vec<u8>), String> {
    let (mut json, mut bytes) = (Vec::new(), Vec::new());
    write_upstream_json(&mut json, u);
    write_response(&mut bytes, u);
    Ok((String::from_utf8(json).map_err(|e| e.to_string())?, bytes))
}

/// The `response` column: the head as received, then what is kept of the body.
fn write_response(out: &mut Vec<u8>, u: &crate::record::Upstream) {
    out.clear();
    out.reserve(u.head.len() + u.body.len());
    out.extend_from_slice(&u.head);
    out.extend_from_slice(&u.body);
}

/// A value of a JSON object written by hand ([`object`]).
enum Val<'a> {
    Str(&'a str),
    OptStr(Option<&'a str>),
    Uint(u64),
    OptUint(Option<u64>),
    Bool(bool),
    /// Written by the closure.
    With(&'a dyn Fn(&mut Vec<u8>)),
}

/// `{"name":value,…}` as `serde_json` writes it (`None` as `null`).
fn object(out: &mut Vec<u8>, fields: &[(&str, Val<'_>)]) {
    use crate::json;
    for (i, (name, v)) in fields.iter().enumerate() {
        out.push(if i == 0 { b'{' } else { b',' });
        json::str(out, name);
        out.push(b':');
        match v {
            Val::Str(s) => json::str(out, s),
            Val::OptStr(s) => json::opt_str(out, *s),
            Val::Uint(n) => json::uint(out, *n),
            Val::OptUint(n) => json::opt_uint(out, *n),
            Val::Bool(b) => json::bool(out, *b),
            Val::With(f) => f(out),
        }
    }
    out.push(b'}');
}

/// `Some` as written by `f`, `None` as `null`.
fn opt<T>(out: &mut Vec<u8>, v: Option<&T>, f: impl Fn(&mut Vec<u8>, &T)) {
    match v {
        Some(v) => f(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

/// `[…]` of the items, each written by `f`.
fn array<T>(out: &mut Vec<u8>, items: &[T], f: impl Fn(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        f(out, item);
    }
    out.push(b']');
}

/// The `upstream` column: [`StoredUpstream`] as JSON, written by hand (twice per forwarded
/// request; the test `upstream_by_hand_reads_as_serde_writes_it` holds it to `serde_json`'s
/// output). The head and body are in the `response` column, so their fields are empty here.
fn write_upstream_json(out: &mut Vec<u8>, u: &crate::record::Upstream) {
    use Val::{Bool, OptStr, OptUint, Str, Uint, With};
    out.clear();
    let rewritten = |out: &mut Vec<u8>| {
        array(out, &u.rewritten, |out, r| {
            let fields = [
                ("toward", Str(&r.toward)),
                ("name", Str(&r.name)),
                ("from", OptStr(r.from.as_deref())),
                ("to", OptStr(r.to.as_deref())),
                ("why", Str(&r.why)),
            ];
            object(out, &fields);
        });
    };
    let t = &u.timing;
    let timing = |out: &mut Vec<u8>| {
        let fields = [
            ("connect_us", OptUint(t.connect_us)),
            ("tls_us", OptUint(t.tls_us)),
            ("send_us", OptUint(t.send_us)),
            ("first_byte_us", OptUint(t.first_byte_us)),
            ("body_us", OptUint(t.body_us)),
            ("total_us", OptUint(t.total_us)),
        ];
        object(out, &fields);
    };
    let tls = |out: &mut Vec<u8>| opt(out, u.tls.as_ref(), write_upstream_tls);
    let answered_by = |out: &mut Vec<u8>| {
        opt(out, u.answered_by.as_ref(), |out, a| {
            let fields = [
                ("who", Str(&a.who)),
                ("vendor", OptStr(a.vendor.as_deref())),
                ("code", OptUint(a.code.map(u64::from))),
                ("ray", OptStr(a.ray.as_deref())),
                ("text", Str(&a.text)),
                ("hint", Str(&a.hint)),
            ];
            object(out, &fields);
        });
    };
    let error = |out: &mut Vec<u8>| {
        opt(out, u.error.as_ref(), |out, e| {
            object(out, &[("cause", Str(&e.cause)), ("message", Str(&e.message))]);
        });
    };
    let fields = [
        ("head_len", Uint(u.head.len() as u64)),
        ("url", Str(&u.url)),
        ("addr", OptStr(u.addr.as_deref())),
        ("reused", Bool(u.reused)),
        ("rewritten", With(&rewritten)),
        ("status", Uint(u64::from(u.status))),
        ("head", Str("")),
        ("body", Str("")),
        ("body_len", Uint(u.body_len)),
        ("complete", Bool(u.complete)),
        ("timing", With(&timing)),
        ("tls", With(&tls)),
        ("answered_by", With(&answered_by)),
        ("error", With(&error)),
    ];
    object(out, &fields);
}

fn write_upstream_tls(out: &mut Vec<u8>, t: &crate::record::UpstreamTls) {
    use Val::{Bool, OptStr, Str, With};
    let chain = |out: &mut Vec<u8>| array(out, &t.chain, |out, c| crate::json::str(out, c));
    let fields = [
        ("version", Str(&t.version)),
        ("cipher", Str(&t.cipher)),
        ("group", OptStr(t.group.as_deref())),
        ("alpn", OptStr(t.alpn.as_deref())),
        ("sni", OptStr(t.sni.as_deref())),
        ("resumed", Bool(t.resumed)),
        ("chain", With(&chain)),
    ];
    object(out, &fields);
}

/// The `upstream` and `response` columns of a capture, from `scratch` (both null without an exchange).
fn upstream_columns<'a>(
    capture: &Capture,
    scratch: &'a mut Scratch,
) -> (Option<rusqlite::types::ToSqlOutput<'a>>, Option<&'a [u8]>) {
    use rusqlite::types::{ToSqlOutput, ValueRef};
    let Some(u) = &capture.upstream else {
        return (None, None);
    };
    write_upstream_json(&mut scratch.upstream, u);
    write_response(&mut scratch.response, u);
    // Text from bytes: written from `&str`s and ASCII.
    let json = ToSqlOutput::Borrowed(ValueRef::Text(&scratch.upstream));
    (Some(json), Some(&scratch.response))
}

fn read_upstream(json: &str, mut bytes: Vec<u8>) -> Result<crate::record::Upstream, serde_json::Error> {
    let s: StoredUpstream = serde_json::from_str(json)?;
    let mut up = s.up;
    let at = s.head_len.min(bytes.len());
    up.body = bytes.split_off(at);
    up.head = bytes;
    Ok(up)
}

/// A capture stored before: its outcome (status, error, what the upstream answered) replaces the row's.
fn update_outcome(c: &Connection, capture: &Capture, scratch: &mut Scratch) -> Result<(), String> {
    with_columns(capture, scratch, |meta, upstream, response| {
        c.prepare_cached("UPDATE captures SET meta = ?1, upstream = ?2, response = ?3 WHERE id = ?4")
            .and_then(|mut st| st.execute(params![meta, upstream, response, capture.id]))
            .map_err(|e| format!("update: {e}"))
            .map(drop)
    })
}

/// Hands `f` a capture's `meta`, `upstream` and `response` column values, written into `scratch`
/// (the bytes go in their own column; the rest as JSON).
fn with_columns<R>(
    capture: &Capture,
    scratch: &mut Scratch,
    f: impl FnOnce(rusqlite::types::ToSqlOutput<'_>, Option<rusqlite::types::ToSqlOutput<'_>>, Option<&[u8]>) -> R,
) -> R {
    let mut json = std::mem::take(&mut scratch.json);
    json.clear();
    write_meta(&mut json, capture);
    // Text from bytes: `write_meta` writes UTF-8 (it copies `&str`s and ASCII), no need to
    // check it again.
    let meta = rusqlite::types::ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(&json));
    let (upstream, response) = upstream_columns(capture, scratch);
    let out = f(meta, upstream, response);
    scratch.json = json;
    out
}

/// A failed read, in words: SQLite's message, and for a damaged database file what to do.
fn read_error(e: rusqlite::Error) -> String {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => format!(
            "the database file captures.sqlite3 in the data directory is damaged (SQLite: {e}); stop \
             the server, move captures.sqlite3 aside (`sqlite3 captures.sqlite3 .recover > \
             recovered.sql` gets back what can still be read) and start it again to begin a new one"
        ),
        Some(ErrorCode::DiskFull) => format!("the disk is full (SQLite: {e}): free some space"),
        _ => format!("SQLite: {e}"),
    }
}

fn row_to_capture(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Capture, String>> {
    let id: i64 = r.get(0)?;
    let raw: Vec<u8> = r.get(1)?;
    let meta: String = r.get(2)?;
    let tls: Option<String> = r.get(3)?;
    let time_ms: i64 = r.get(4)?;
    let upstream: Option<String> = r.get(5)?;
    let response: Option<Vec<u8>> = r.get(6)?;
    let unreadable = |e: serde_json::Error| format!("capture {id}: stored record unreadable: {e}");
    let m = match serde_json::from_str::<Meta<'_>>(&meta) {
        Ok(m) => m,
        Err(e) => return Ok(Err(unreadable(e))),
    };
    let mut c = Capture {
        id,
        time: rfc3339(time_ms),
        time_ms,
        peer: m.peer.into_owned(),
        scheme: m.scheme.into_owned(),
        raw,
        complete: m.complete,
        error: m.error.map(Cow::into_owned),
        method: m.method,
        target: m.target,
        version: m.version,
        headers: m.headers.unwrap_or_default(),
        head_len: m.head_len,
        body_len: m.body_len,
        timing: m.timing.into_owned(),
        reads: m.reads,
        conn: m.conn,
        seq: m.seq,
        tls: None,
        sni: m.sni.map(Cow::into_owned),
        findings: m.findings.into_owned(),
        status: m.status,
        upstream: None,
        replay_of: m.replay_of,
    };
    if let Some(json) = upstream {
        match read_upstream(&json, response.unwrap_or_default()) {
            Ok(u) => c.upstream = Some(u),
            Err(e) => return Ok(Err(unreadable(e))),
        }
    }
    // A head was parsed when the capture was made (head_len is set only then): parse it again.
    if c.method.is_none() && c.head_len > 0 {
        match c.raw.get(..c.head_len).map(crate::framing::parse_head) {
            Some(Ok(head)) => {
                c.version = Some(crate::framing::http_version(head.minor));
                c.method = Some(head.method);
                c.target = Some(head.target);
                c.headers = head.headers;
            }
            Some(Err(e)) => return Ok(Err(format!("capture {id}: stored head no longer parses: {e}"))),
            None => {
                return Ok(Err(format!(
                    "capture {id}: stored head is longer than the stored bytes"
                )));
            }
        }
    }
    if let Some(json) = tls {
        match serde_json::from_str::<crate::record::TlsFacts>(&json) {
            Ok(t) => c.tls = Some(Arc::new(t)),
            Err(e) => return Ok(Err(unreadable(e))),
        }
    }
    Ok(Ok(c))
}

/// Checkpoints (copying the WAL into the database file, with an fsync of each) in two steps, so
/// commits do not wait behind the long part. Every [`CHECKPOINT_ROWS`] rows the writer pokes the
/// checkpointer thread, which copies the WAL as it is (PASSIVE: commits go on meanwhile). When it
/// is done, the writer, between two batches, checkpoints the few frames committed since: that
/// completes the checkpoint, so the next commit starts the WAL from its beginning again and the
/// WAL stays short (see [`CHECKPOINT_ROWS`]).
struct Checkpoints {
    poke: std::sync::mpsc::SyncSender<()>,
    /// Set by the checkpointer when it copied what the WAL held.
    copied: Arc<std::sync::atomic::AtomicBool>,
    /// Rows committed since the last poke.
    rows: u64,
}

/// Rows between checkpoints. Under load a commit covers about ten rows and writes three or four
/// pages to the WAL, so the WAL grows to about 15 MB before it starts over. Fewer checkpoints
/// than SQLite's default (1000 pages, 4 MB) cost less: each syncs the database file, and the
/// commits' WAL syncs queue behind that on the disk (`bench/serve-wrk.sh`: 3-4 % more requests
/// per second than with 3000 rows; 40000 rows gained nothing more).
const CHECKPOINT_ROWS: u64 = 10_000;

impl Checkpoints {
    /// After a batch of `rows` was committed and acknowledged.
    fn after_batch(&mut self, c: &Connection, rows: usize) {
        use std::sync::atomic::Ordering;
        if self.copied.swap(false, Ordering::AcqRel) {
            // Failing (busy: a reader holds old frames) leaves the WAL to the next round.
            let _ = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        }
        self.rows += rows as u64;
        if self.rows >= CHECKPOINT_ROWS {
            self.rows = 0;
            // Full: the checkpointer is already asked and takes these rows along.
            let _ = self.poke.try_send(());
        }
    }
}

/// The checkpointer thread: one PASSIVE checkpoint per poke; ends with the writer.
fn checkpoint_loop(c: &Connection, poked: &std::sync::mpsc::Receiver<()>, copied: &std::sync::atomic::AtomicBool) {
    while poked.recv().is_ok() {
        if c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).is_ok() {
            copied.store(true, std::sync::atomic::Ordering::Release);
        }
    }
}

fn writer_loop(
    c: &mut Connection,
    rx: &mut mpsc::Receiver<Job>,
    keep: Option<u64>,
    events: &broadcast::Sender<Arc<Capture>>,
    lanes: &std::sync::OnceLock<Vec<mpsc::UnboundedSender<Acks>>>,
    checkpoints: &mut Checkpoints,
) {
    let mut per_lane: Vec<Acks> = Vec::new();
    // Reused across batches: the jobs, each row's JSON, the TLS facts keys known to be stored.
    let mut batch: Vec<Job> = Vec::with_capacity(512);
    let mut scratch = Scratch {
        json: Vec::with_capacity(1024),
        upstream: Vec::with_capacity(1024),
        response: Vec::new(),
        facts: HashSet::new(),
    };
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let result = write_batch(c, &mut batch, keep, &mut scratch);
        if result.is_err() {
            // Rolled back: facts first stored in this batch are gone again.
            scratch.facts.clear();
        }
        let rows = batch.len();
        let lanes = lanes.get().map_or(&[][..], Vec::as_slice);
        per_lane.resize_with(lanes.len(), Vec::new);
        for (capture, done, lane) in batch.drain(..) {
            let outcome = match &result {
                Ok(()) => {
                    // Only keep captures around for the live list when someone is watching.
                    if events.receiver_count() > 0 {
                        let _ = events.send(capture.clone());
                    }
                    Ok(capture)
                }
                Err(e) => Err(e.clone()),
            };
            match per_lane.get_mut(lane) {
                Some(acks) => acks.push((done, outcome)),
                None => {
                    let _ = done.send(outcome);
                }
            }
        }
        for (acks, lane) in per_lane.iter_mut().zip(lanes) {
            if !acks.is_empty() {
                // A lane whose runtime stopped drops the replies: those puts fail.
                let _ = lane.send(std::mem::take(acks));
            }
        }
        checkpoints.after_batch(c, rows);
    }
}

/// A lane's task: hand out the acknowledgements the writer sends, on this runtime's thread.
pub(crate) async fn deliver(mut acks: mpsc::UnboundedReceiver<Acks>) {
    while let Some(batch) = acks.recv().await {
        for (reply, outcome) in batch {
            let _ = reply.send(outcome);
        }
    }
}

/// The writer's reusable state.
struct Scratch {
    /// One row's JSON.
    json: Vec<u8>,
    /// One row's upstream exchange: its JSON and its response bytes.
    upstream: Vec<u8>,
    response: Vec<u8>,
    /// Keys of TLS facts already in the table (rows there are never deleted): a connection's
    /// requests after its first, and every connection with a ClientHello seen before, skip the
    /// insert. Bounded: cleared when it grows past [`FACTS_KNOWN`].
    facts: HashSet<String>,
}

const FACTS_KNOWN: usize = 4096;

/// One transaction for the batch. `BEGIN` and `COMMIT` are cached statements like the inserts
/// (a transaction made through `Connection::transaction` parses both anew each time).
fn write_batch(c: &mut Connection, batch: &mut [Job], keep: Option<u64>, scratch: &mut Scratch) -> Result<(), String> {
    let exec = |c: &Connection, sql: &str| c.prepare_cached(sql).and_then(|mut st| st.execute([])).map(drop);
    exec(c, "BEGIN").map_err(|e| format!("begin: {e}"))?;
    let written =
        insert_rows(c, batch, keep, scratch).and_then(|()| exec(c, "COMMIT").map_err(|e| format!("commit: {e}")));
    if written.is_err() && !c.is_autocommit() {
        // Still in the transaction (an insert failed, or the commit did and left it open).
        let _ = exec(c, "ROLLBACK");
    }
    written
}

fn insert_rows(c: &Connection, batch: &mut [Job], keep: Option<u64>, scratch: &mut Scratch) -> Result<(), String> {
    let mut st = c
        .prepare_cached(
            "INSERT INTO captures (time_ms, raw, meta, tls_key, upstream, response) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(|e| e.to_string())?;
    let mut facts = c
        .prepare_cached("INSERT OR IGNORE INTO tls_facts (key, json) VALUES (?1, ?2)")
        .map_err(|e| e.to_string())?;
    for (capture, _, _) in batch.iter_mut() {
        let capture = Arc::get_mut(capture).ok_or("a queued capture is shared before it is stored")?;
        if capture.id > 0 {
            update_outcome(c, capture, scratch)?;
            continue;
        }
        // TLS facts are the same for every request on a connection (and often across
        // connections): stored once, by content.
        let tls = capture.tls.take();
        let tls_key = match tls.as_deref() {
            Some(t) => {
                let (key, json) = t.keyed_json().map_err(|e| e.to_string())?;
                if !scratch.facts.contains(key) {
                    facts
                        .execute(params![key, json])
                        .map_err(|e| format!("insert TLS facts: {e}"))?;
                    if scratch.facts.len() >= FACTS_KNOWN {
                        scratch.facts.clear();
                    }
                    scratch.facts.insert(key.to_string());
                }
                Some(key)
            }
            None => None,
        };
        with_columns(capture, scratch, |meta, upstream, response| {
            st.execute(params![capture.time_ms, capture.raw, meta, tls_key, upstream, response])
                .map_err(|e| format!("insert: {e}"))
        })?;
        capture.tls = tls;
        capture.id = c.last_insert_rowid();
    }
    if let Some(keep) = keep {
        let keep = i64::try_from(keep.max(1)).unwrap_or(i64::MAX);
        c.prepare_cached("DELETE FROM captures WHERE id <= (SELECT max(id) FROM captures) - ?1")
            .and_then(|mut st| st.execute(params![keep]))
            .map_err(|e| format!("delete the oldest captures beyond the ones to keep: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Capture {
        let raw = b"POST /t?x=1 HTTP/1.1\r\nHost: a.example\r\nContent-Length: 2\r\n\r\nhi".to_vec();
        Capture {
            time: rfc3339(1_700_000_000_123),
            time_ms: 1_700_000_000_123,
            peer: "127.0.0.1:5000".into(),
            scheme: "http".into(),
            head_len: raw.len() - 2,
            raw,
            complete: true,
            method: Some("POST".into()),
            target: Some("/t?x=1".into()),
            version: Some("HTTP/1.1".into()),
            headers: vec![
                ("Host".into(), "a.example".into()),
                ("Content-Length".into(), "2".into()),
            ],
            body_len: 2,
            status: 200,
            findings: vec![FindingRecord {
                code: "TP999".into(),
                severity: "info".into(),
                title: "t".into(),
                message: "m \"quoted\"".into(),
                fix: "f".into(),
            }],
            ..Capture::default()
        }
    }

    #[test]
    fn meta_by_hand_reads_as_serde_writes_it() {
        let mut c = sample();
        let check = |c: &Capture| {
            let mut by_hand = Vec::new();
            write_meta(&mut by_hand, c);
            let by_hand: serde_json::Value = serde_json::from_slice(&by_hand).unwrap();
            assert_eq!(by_hand, serde_json::to_value(Meta::of(c)).unwrap());
        };
        check(&c);
        c.error = Some("bad \u{1}\"x\"\n".into());
        c.sni = Some("api.example".into());
        c.timing = Timing {
            first_byte_us: u64::MAX,
            head_us: Some(3),
            body_us: None,
        };
        c.findings.push(c.findings[0].clone());
        check(&c);
        c.replay_of = Some(-3);
        check(&c);
        check(&Capture::default());
    }

    #[test]
    fn upstream_by_hand_reads_as_serde_writes_it() {
        use crate::record::{AnsweredBy, Rewrite, Upstream, UpstreamError, UpstreamTiming, UpstreamTls};
        let check = |u: &Upstream| {
            let mut by_hand = Vec::new();
            write_upstream_json(&mut by_hand, u);
            let up = Upstream {
                head: Vec::new(),
                body: Vec::new(),
                ..u.clone()
            };
            let serde = serde_json::to_string(&StoredUpstream {
                head_len: u.head.len(),
                up,
            })
            .unwrap();
            assert_eq!(String::from_utf8(by_hand.clone()).unwrap(), serde);
            let mut bytes = Vec::new();
            write_response(&mut bytes, u);
            let back = read_upstream(std::str::from_utf8(&by_hand).unwrap(), bytes).unwrap();
            assert_eq!(&back, u);
        };
        check(&Upstream::default());
        let rewrite = |to: Option<&str>| Rewrite {
            toward: "upstream".into(),
            name: "Host".into(),
            from: Some("dev\u{1}ice \"x\"".into()),
            to: to.map(Into::into),
            why: "names the upstream".into(),
        };
        check(&Upstream {
            url: "https://api.example:443".into(),
            addr: Some("[::1]:443".into()),
            reused: true,
            rewritten: vec![rewrite(Some("api.example")), rewrite(None)],
            status: 403,
            head: b"HTTP/1.1 403 Forbidden\r\n\r\n".to_vec(),
            body: b"error code: 1010".to_vec(),
            body_len: u64::MAX,
            complete: true,
            timing: UpstreamTiming {
                connect_us: Some(1),
                tls_us: None,
                send_us: Some(0),
                first_byte_us: Some(u64::MAX),
                body_us: None,
                total_us: Some(9),
            },
            tls: Some(UpstreamTls {
                version: "TLSv1.3".into(),
                cipher: "TLS13_AES_128_GCM_SHA256".into(),
                group: None,
                alpn: Some("http/1.1".into()),
                sni: Some("api.example".into()),
                resumed: false,
                chain: vec!["CN=api.example".into(), "CN=CA \\ \"1\"".into()],
            }),
            answered_by: Some(AnsweredBy {
                who: "edge".into(),
                vendor: Some("cloudflare".into()),
                code: Some(1010),
                ray: None,
                text: "the Cloudflare edge answered 403\n".into(),
                hint: String::new(),
            }),
            error: Some(UpstreamError {
                cause: "closed".into(),
                message: "cut\tshort".into(),
            }),
        });
        check(&Upstream {
            tls: Some(UpstreamTls::default()),
            answered_by: Some(AnsweredBy::default()),
            ..Upstream::default()
        });
    }

    fn same(a: &Capture, b: &Capture) {
        assert_eq!(
            serde_json::to_value(a).unwrap(),
            serde_json::to_value(b).unwrap(),
            "a capture reads back as it was stored"
        );
    }

    #[tokio::test]
    async fn rows_read_back_whole_with_the_head_parsed_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), None).unwrap();
        let stored = store.put(sample()).await.unwrap();
        let meta: String = store
            .reader
            .lock()
            .unwrap()
            .query_row("SELECT meta FROM captures WHERE id = ?1", [stored.id], |r| r.get(0))
            .unwrap();
        assert!(
            !meta.contains("a.example") && !meta.contains("\"time\""),
            "the row keeps no copy of the head or the time text: {meta}"
        );
        let back = store.get(stored.id).unwrap().unwrap();
        same(&back, &stored);
    }

    #[tokio::test]
    async fn rows_of_the_earlier_layout_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), None).unwrap();
        let mut old = sample();
        // The earlier layout: the whole capture as JSON, the head's fields included, raw empty.
        old.headers.push(("X-Only-In-Meta".into(), "1".into()));
        let raw = std::mem::take(&mut old.raw);
        let meta = serde_json::to_string(&old).unwrap();
        let id: i64 = {
            let c = store.reader.lock().unwrap();
            c.execute(
                "INSERT INTO captures (time_ms, raw, meta) VALUES (?1, ?2, ?3)",
                params![old.time_ms, raw, meta],
            )
            .unwrap();
            c.last_insert_rowid()
        };
        old.raw = raw;
        old.id = id;
        let back = store.get(id).unwrap().unwrap();
        same(&back, &old);
    }

    /// TLS facts as the releases before the facts held the parsed ClientHello wrote them (field
    /// order included): the JA4 spec's worked example, with GREASE, TLS 1.1 and 1.0 offered.
    const TLS_FACTS_BEFORE: &str = concat!(
        r#"{"sni":"example.com","alpn":"http/1.1","alpn_offered":["h2","http/1.1"],"version":"TLSv1.3","#,
        r#""cipher":"TLS13_AES_128_GCM_SHA256","resumed":false,"#,
        r#""offered_versions":["0x1a1a","TLSv1.3","TLSv1.2","TLSv1.1","TLSv1.0"],"#,
        r#""cipher_suites":["0x1a1a","0x1301","0x1302","0x1303","0xc02b","0xc02f","0xc02c","0xc030","0xcca9","#,
        r#""0xcca8","0xc013","0xc014","0x009c","0x009d","0x002f","0x0035"],"#,
        r#""extensions":["0x0a0a","0x0000","0x0017","0xff01","0x000a","0x000b","0x0023","0x0010","0x0005","#,
        r#""0x000d","0x0012","0x0033","0x002d","0x002b","0x001b","0x0015","0x4469","0x2a2a"],"#,
        r#""groups":["0x3a3a","0x001d","0x0017","0x0018"],"#,
        r#""signature_algorithms":["0x0403","0x0804","0x0401","0x0503","0x0805","0x0501","0x0806","0x0601"],"#,
        r#""ja4":"t13d1516h2_8daaf6152771_e5627efa2ab1","#,
        r#""ja4_r":"t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_"#,
        r#"0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_"#,
        r#"0403,0804,0401,0503,0805,0501,0806,0601","hello_records":2}"#
    );

    #[tokio::test]
    async fn tls_facts_stored_before_read_back_typed_and_unchanged() {
        use tlspost::probe::Version;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), None).unwrap();
        let mut old = sample();
        old.scheme = "https".into();
        let meta = serde_json::to_string(&Meta::of(&old)).unwrap();
        let id: i64 = {
            let c = store.reader.lock().unwrap();
            c.execute("INSERT INTO tls_facts (key, json) VALUES ('k', ?1)", [TLS_FACTS_BEFORE])
                .unwrap();
            c.execute(
                "INSERT INTO captures (time_ms, raw, meta, tls_key) VALUES (?1, ?2, ?3, 'k')",
                params![old.time_ms, old.raw, meta],
            )
            .unwrap();
            c.last_insert_rowid()
        };
        let back = store.get(id).unwrap().unwrap();
        let t = back.tls.as_deref().unwrap();
        let h = &t.hello;
        assert_eq!(h.sni.as_deref(), Some("example.com"));
        assert_eq!(h.alpn, ["h2", "http/1.1"]);
        assert_eq!(
            h.versions,
            [
                Version::Other(0x1a1a),
                Version::Tls13,
                Version::Tls12,
                Version::Tls11,
                Version::Tls10
            ]
        );
        assert_eq!(h.cipher_suites.get(..3), Some(&[0x1a1a, 0x1301, 0x1302][..]));
        assert_eq!(h.extensions.last(), Some(&0x2a2a));
        assert_eq!(h.groups, [0x3a3a, 0x001d, 0x0017, 0x0018]);
        assert_eq!(h.signature_algorithms.first(), Some(&0x0403));
        assert_eq!(h.records, 2);
        assert!(!t.resumed && t.version.as_deref() == Some("TLSv1.3") && t.alpn.as_deref() == Some("http/1.1"));
        assert_eq!(
            (h.ja4(), h.ja4_r()),
            (t.ja4.clone(), t.ja4_r.clone()),
            "the typed hello makes the stored JA4"
        );
        // Served as it was stored: every field and value the same (the order may differ).
        let before: serde_json::Value = serde_json::from_str(TLS_FACTS_BEFORE).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap()["tls"], before);
        // And a capture with these facts stored now reads back the same.
        let stored = store.put(back).await.unwrap();
        same(&store.get(stored.id).unwrap().unwrap(), &stored);
    }

    #[test]
    fn tls_facts_with_a_bad_code_point_are_unreadable_not_guessed() {
        use crate::record::TlsFacts;
        for (field, bad) in [
            ("\"0x1301\"", "\"1301\""),
            ("\"TLSv1.2\"", "\"TLSv1.9\""),
            ("\"0x0403\"", "\"0x10000\""),
        ] {
            let json = TLS_FACTS_BEFORE.replacen(field, bad, 1);
            assert!(serde_json::from_str::<TlsFacts>(&json).is_err(), "{bad}");
        }
    }

    /// The value of `PRAGMA name` on a connection.
    fn pragma<T: rusqlite::types::FromSql>(c: &Connection, name: &str) -> T {
        c.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0)).unwrap()
    }

    fn user_version(path: &Path) -> i64 {
        pragma(&Connection::open(path).unwrap(), "user_version")
    }

    #[tokio::test]
    async fn a_new_store_is_stamped_with_the_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), None).unwrap();
        let stored = store.put(sample()).await.unwrap();
        drop(store);
        assert_eq!(user_version(&dir.path().join("captures.sqlite3")), SCHEMA_VERSION);
        // Opened again: nothing to migrate, the rows are there.
        let store = Store::open(dir.path(), None).unwrap();
        same(&store.get(stored.id).unwrap().unwrap(), &stored);
    }

    #[test]
    fn a_store_of_version_0_is_migrated_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("captures.sqlite3");
        let mut old = sample();
        // Version 0 as the first release made it: the tables, WAL, no stamp.
        old.id = insert_meta_row(&store_of_version(&path, 0, false), &old);
        assert_eq!(user_version(&path), 0);
        let store = Store::open(dir.path(), None).unwrap();
        assert_eq!(user_version(&path), SCHEMA_VERSION);
        same(&store.get(old.id).unwrap().unwrap(), &old);
        assert_eq!(store.count().unwrap(), 1);
    }

    #[tokio::test]
    async fn a_store_of_version_1_gains_the_response_columns_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("captures.sqlite3");
        let mut old = sample();
        old.id = insert_meta_row(&store_of_version(&path, 1, false), &old);
        let store = Store::open(dir.path(), None).unwrap();
        assert_eq!(user_version(&path), SCHEMA_VERSION);
        same(&store.get(old.id).unwrap().unwrap(), &old);
        // The new columns take a forwarded request's exchange, committed first without a
        // response, then with it.
        let mut fwd = sample();
        fwd.upstream = Some(crate::record::Upstream {
            url: "https://api.example:443".into(),
            ..Default::default()
        });
        fwd.replay_of = Some(old.id);
        let stored = store.put(fwd).await.unwrap();
        same(&store.get(stored.id).unwrap().unwrap(), &stored);
        let mut done = Capture::clone(&stored);
        let up = done.upstream.as_mut().unwrap();
        up.status = 201;
        up.head = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n".to_vec();
        up.body = b"ok".to_vec();
        up.body_len = 2;
        up.complete = true;
        done.status = 201;
        let updated = store.put(done).await.unwrap();
        assert_eq!(updated.id, stored.id, "the same row");
        same(&store.get(stored.id).unwrap().unwrap(), &updated);
        assert_eq!(store.count().unwrap(), 2);
    }

    /// A store of `version` (below 3: ids without AUTOINCREMENT unless `autoincrement`), as
    /// `open` of that release left it, in WAL mode; version 0 carries no stamp.
    fn store_of_version(path: &Path, version: usize, autoincrement: bool) -> Connection {
        let c = Connection::open(path).unwrap();
        c.pragma_update(None, "journal_mode", "WAL").unwrap();
        let tables = if autoincrement {
            TABLES_V0.replace("id INTEGER PRIMARY KEY,", "id INTEGER PRIMARY KEY AUTOINCREMENT,")
        } else {
            TABLES_V0.to_string()
        };
        c.execute_batch(&tables).unwrap();
        for sql in &MIGRATIONS[..version] {
            c.execute_batch(sql).unwrap();
        }
        if version > 0 {
            c.pragma_update(None, "user_version", version).unwrap();
        }
        c
    }

    /// Inserts `capture` as a row of the first columns (time, raw bytes, meta); its new id.
    fn insert_meta_row(c: &Connection, capture: &Capture) -> i64 {
        let mut meta = Vec::new();
        write_meta(&mut meta, capture);
        c.execute(
            "INSERT INTO captures (time_ms, raw, meta) VALUES (?1, ?2, ?3)",
            params![capture.time_ms, capture.raw, String::from_utf8(meta).unwrap()],
        )
        .unwrap();
        c.last_insert_rowid()
    }

    #[tokio::test]
    async fn from_version_3_ids_are_never_handed_out_again() {
        // A new store: everything deleted, the next capture still gets a new id.
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), None).unwrap();
        let a = store.put(sample()).await.unwrap().id;
        let b = store.put(sample()).await.unwrap().id;
        assert_eq!(store.clear(None).unwrap(), 2);
        let c = store.put(sample()).await.unwrap().id;
        assert!(c > b && b > a, "{a} {b} {c}");
        assert!(store.delete(c).unwrap());
        assert_eq!(store.put(sample()).await.unwrap().id, c + 1, "the newest deleted alone");
        drop(store);

        // A version 2 store keeps its rows and ids, and counts on from its largest id.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("captures.sqlite3");
        let mut old = sample();
        {
            let c = store_of_version(&path, 2, false);
            let mut meta = Vec::new();
            write_meta(&mut meta, &old);
            let (up_json, up_bytes) = write_upstream(&crate::record::Upstream {
                status: 201,
                head: b"HTTP/1.1 201 Created\r\n\r\n".to_vec(),
                body: b"ok".to_vec(),
                body_len: 2,
                complete: true,
                ..Default::default()
            })
            .unwrap();
            for id in [3, 7] {
                c.execute(
                    "INSERT INTO captures (id, time_ms, raw, meta, upstream, response) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        id,
                        old.time_ms,
                        old.raw,
                        String::from_utf8(meta.clone()).unwrap(),
                        up_json,
                        up_bytes
                    ],
                )
                .unwrap();
            }
            old.id = 7;
        }
        let store = Store::open(dir.path(), None).unwrap();
        assert_eq!(user_version(&path), SCHEMA_VERSION);
        let back = store.get(7).unwrap().unwrap();
        assert_eq!((back.id, &back.raw), (7, &old.raw));
        let up = back.upstream.expect("the response columns are copied");
        assert_eq!(
            (up.status, &up.head[..], &up.body[..]),
            (201, &b"HTTP/1.1 201 Created\r\n\r\n"[..], &b"ok"[..])
        );
        assert!(store.get(3).unwrap().is_some());
        assert_eq!(store.clear(None).unwrap(), 2);
        assert_eq!(store.put(sample()).await.unwrap().id, 8);
        drop(store);

        // A store created with AUTOINCREMENT keeps its counter, past its largest id.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("captures.sqlite3");
        {
            let c = store_of_version(&path, 2, true);
            for _ in 0..12 {
                insert_meta_row(&c, &old);
            }
            c.execute("DELETE FROM captures WHERE id > 4", []).unwrap();
        }
        let store = Store::open(dir.path(), None).unwrap();
        assert_eq!(store.count().unwrap(), 4);
        assert_eq!(store.put(sample()).await.unwrap().id, 13);
    }

    #[test]
    fn a_store_of_a_newer_version_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("captures.sqlite3");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch("CREATE TABLE captures (id INTEGER PRIMARY KEY, future BLOB); PRAGMA user_version = 7;")
                .unwrap();
        }
        let e = Store::open(dir.path(), None)
            .err()
            .expect("a newer store is refused")
            .to_string();
        assert!(
            e.contains(&format!(
                "its schema is version 7, and this capture server knows versions up to {SCHEMA_VERSION}"
            )),
            "{e}"
        );
        assert!(
            e.contains("captures.sqlite3") && e.contains("a newer one wrote it"),
            "{e}"
        );
        // Untouched: still version 7, still in its own journal mode.
        assert_eq!(user_version(&path), 7);
        let journal: String = pragma(&Connection::open(&path).unwrap(), "journal_mode");
        assert_eq!(journal, "delete");
    }

    #[test]
    fn sync_modes_parse_and_take_effect() {
        assert_eq!(SyncMode::parse("normal").unwrap(), SyncMode::Normal);
        assert_eq!(SyncMode::parse(" FULL ").unwrap(), SyncMode::Full);
        assert_eq!(SyncMode::default(), SyncMode::Full);
        let e = SyncMode::parse("off").unwrap_err().to_string();
        assert!(
            e.contains("the sync mode `off` is unknown") && e.contains("power loss"),
            "{e}"
        );
        for (mode, level) in [(SyncMode::Normal, 1), (SyncMode::Full, 2)] {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open_with(dir.path(), None, mode).unwrap();
            let c = store.reader.lock().unwrap();
            assert_eq!(pragma::<i64>(&c, "synchronous"), level, "{mode:?}");
            assert_eq!(pragma::<String>(&c, "journal_mode"), "wal");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checkpoints_move_the_wal_into_the_database_and_keep_it_short() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), None).unwrap();
        let rounds = 4 * CHECKPOINT_ROWS as usize;
        let mut tasks = Vec::new();
        for t in 0..16 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..rounds / 16 {
                    store.put(sample()).await.unwrap();
                }
                t
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let len = |name: &str| std::fs::metadata(dir.path().join(name)).map_or(0, |m| m.len());
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while len("captures.sqlite3") < 1 << 20 && std::time::Instant::now() < until {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // Each row is about 300 bytes: without checkpoints the database file would stay empty
        // and the WAL would hold every commit's pages (about 65 MB here; with them about 17 MB).
        assert!(
            len("captures.sqlite3") >= 1 << 20,
            "the checkpointer copied rows into the database"
        );
        assert!(
            len("captures.sqlite3-wal") < 32 << 20,
            "the WAL restarts instead of growing: {} bytes",
            len("captures.sqlite3-wal")
        );
        assert_eq!(store.count().unwrap(), (rounds / 16 * 16) as i64);
    }

    #[tokio::test]
    async fn keep_zero_still_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Some(0)).unwrap();
        let a = store.put(sample()).await.unwrap();
        let b = store.put(sample()).await.unwrap();
        assert!(b.id > a.id);
        assert_eq!(store.count().unwrap(), 1);
        assert!(store.get(b.id).unwrap().is_some(), "the newest capture stays");
    }
}
