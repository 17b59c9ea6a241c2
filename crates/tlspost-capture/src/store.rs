//! SQLite store (WAL). Writes go through one writer thread that commits in groups; a capture is
//! acknowledged only after its transaction committed, so the response follows a durable record.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::Error;
use crate::record::Capture;

/// A capture to write and where to acknowledge it. The capture is already in its `Arc` (the
/// writer holds the only reference until it acknowledges), so nothing is copied on the way back.
type Job = (Arc<Capture>, oneshot::Sender<Result<Arc<Capture>, String>>);

/// Handle to the store: clone freely.
#[derive(Clone)]
pub struct Store {
    tx: mpsc::Sender<Job>,
    reader: Arc<Mutex<Connection>>,
    /// Summaries of stored captures, for the live list.
    pub events: broadcast::Sender<Arc<Capture>>,
}

fn open(path: &Path) -> Result<Connection, Error> {
    let db = |e: rusqlite::Error| Error::Store {
        what: "open the SQLite database",
        path: path.display().to_string(),
        detail: e.to_string(),
    };
    let c = Connection::open(path).map_err(db)?;
    c.busy_timeout(std::time::Duration::from_secs(10)).map_err(db)?;
    c.pragma_update(None, "journal_mode", "WAL").map_err(db)?;
    c.pragma_update(None, "synchronous", "FULL").map_err(db)?;
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS captures (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time_ms INTEGER NOT NULL,
            raw BLOB NOT NULL,
            meta TEXT NOT NULL,
            tls_key TEXT
        );
        CREATE TABLE IF NOT EXISTS tls_facts (
            key TEXT PRIMARY KEY,
            json TEXT NOT NULL
        ) WITHOUT ROWID;",
    )
    .map_err(db)?;
    Ok(c)
}

impl Store {
    /// Open (or create) `dir/captures.sqlite3` and start the writer thread; keep at most `keep` captures.
    pub fn open(dir: &Path, keep: Option<u64>) -> Result<Store, Error> {
        let path = dir.join("captures.sqlite3");
        let mut writer = open(&path)?;
        let reader = open(&path)?;
        let (tx, mut rx) = mpsc::channel::<Job>(4096);
        let (events, _) = broadcast::channel(1024);
        let ev = events.clone();
        std::thread::Builder::new()
            .name("tlspost-store".into())
            .spawn(move || writer_loop(&mut writer, &mut rx, keep, &ev))
            .map_err(|e| Error::Io {
                what: "start the store thread",
                path: path.display().to_string(),
                source: e,
            })?;
        Ok(Store {
            tx,
            reader: Arc::new(Mutex::new(reader)),
            events,
        })
    }

    /// Store a capture; resolves once committed, to the capture with its id set.
    pub async fn put(&self, capture: Capture) -> Result<Arc<Capture>, String> {
        let (done, wait) = oneshot::channel();
        // The queue is bounded: when the disk falls behind, connections wait here.
        self.tx
            .send((Arc::new(capture), done))
            .await
            .map_err(|_| "the store thread stopped".to_string())?;
        wait.await.map_err(|_| "the store thread stopped".to_string())?
    }

    /// Captures newest first: at most `limit`, with ids below `before` when given.
    pub fn list(&self, limit: u32, before: Option<i64>) -> Result<Vec<Capture>, String> {
        let c = self.reader.lock().map_err(|_| "store lock poisoned".to_string())?;
        let mut st = c
            .prepare_cached(
                "SELECT c.id, c.raw, c.meta, t.json FROM captures c LEFT JOIN tls_facts t ON t.key = c.tls_key \
                 WHERE c.id < ?1 ORDER BY c.id DESC LIMIT ?2",
            )
            .map_err(|e| e.to_string())?;
        let rows = st
            .query_map(params![before.unwrap_or(i64::MAX), limit], row_to_capture)
            .map_err(|e| e.to_string())?;
        rows.map(|r| r.map_err(|e| e.to_string()).and_then(|x| x)).collect()
    }

    /// One capture by id.
    pub fn get(&self, id: i64) -> Result<Option<Capture>, String> {
        let c = self.reader.lock().map_err(|_| "store lock poisoned".to_string())?;
        let mut st = c
            .prepare_cached(
                "SELECT c.id, c.raw, c.meta, t.json FROM captures c LEFT JOIN tls_facts t ON t.key = c.tls_key \
                 WHERE c.id = ?1",
            )
            .map_err(|e| e.to_string())?;
        st.query_row(params![id], row_to_capture)
            .optional()
            .map_err(|e| e.to_string())?
            .transpose()
    }

    /// How many captures are stored.
    pub fn count(&self) -> Result<i64, String> {
        let c = self.reader.lock().map_err(|_| "store lock poisoned".to_string())?;
        c.query_row("SELECT count(*) FROM captures", [], |r| r.get(0))
            .map_err(|e| e.to_string())
    }
}

fn row_to_capture(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Capture, String>> {
    let id: i64 = r.get(0)?;
    let raw: Vec<u8> = r.get(1)?;
    let meta: String = r.get(2)?;
    let tls: Option<String> = r.get(3)?;
    let unreadable = |e: serde_json::Error| format!("capture {id}: stored record unreadable: {e}");
    let mut c = match serde_json::from_str::<Capture>(&meta) {
        Ok(c) => c,
        Err(e) => return Ok(Err(unreadable(e))),
    };
    c.id = id;
    c.raw = raw;
    if let Some(json) = tls {
        match serde_json::from_str::<crate::record::TlsFacts>(&json) {
            Ok(t) => c.tls = Some(Arc::new(t)),
            Err(e) => return Ok(Err(unreadable(e))),
        }
    }
    Ok(Ok(c))
}

fn writer_loop(
    c: &mut Connection,
    rx: &mut mpsc::Receiver<Job>,
    keep: Option<u64>,
    events: &broadcast::Sender<Arc<Capture>>,
) {
    // Reused across batches: the jobs and each row's JSON.
    let mut batch: Vec<Job> = Vec::with_capacity(512);
    let mut json = Vec::with_capacity(1024);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let result = write_batch(c, &mut batch, keep, &mut json);
        for (capture, done) in batch.drain(..) {
            match &result {
                Ok(()) => {
                    // Only keep captures around for the live list when someone is watching.
                    if events.receiver_count() > 0 {
                        let _ = events.send(capture.clone());
                    }
                    let _ = done.send(Ok(capture));
                }
                Err(e) => {
                    let _ = done.send(Err(e.clone()));
                }
            }
        }
    }
}

fn write_batch(c: &mut Connection, batch: &mut [Job], keep: Option<u64>, json: &mut Vec<u8>) -> Result<(), String> {
    let tx = c.transaction().map_err(|e| format!("begin: {e}"))?;
    {
        let mut st = tx
            .prepare_cached("INSERT INTO captures (time_ms, raw, meta, tls_key) VALUES (?1, ?2, ?3, ?4)")
            .map_err(|e| e.to_string())?;
        let mut facts = tx
            .prepare_cached("INSERT OR IGNORE INTO tls_facts (key, json) VALUES (?1, ?2)")
            .map_err(|e| e.to_string())?;
        for (capture, _) in batch.iter_mut() {
            let capture = Arc::get_mut(capture).ok_or("a queued capture is shared before it is stored")?;
            // TLS facts are the same for every request on a connection (and often across
            // connections): stored once, by content.
            let tls = capture.tls.take();
            let tls_key = match tls.as_deref() {
                Some(t) => {
                    let (key, json) = t.keyed_json().map_err(|e| e.to_string())?;
                    facts
                        .execute(params![key, json])
                        .map_err(|e| format!("insert TLS facts: {e}"))?;
                    Some(key)
                }
                None => None,
            };
            // The bytes go in their own column; the rest as JSON.
            let raw = std::mem::take(&mut capture.raw);
            json.clear();
            let meta = serde_json::to_writer(&mut *json, &*capture);
            capture.raw = raw;
            meta.map_err(|e| e.to_string())?;
            let meta = std::str::from_utf8(json).map_err(|e| e.to_string())?;
            st.execute(params![capture.time_ms, capture.raw, meta, tls_key])
                .map_err(|e| format!("insert: {e}"))?;
            capture.tls = tls;
            capture.id = tx.last_insert_rowid();
        }
    }
    if let Some(keep) = keep {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        tx.execute(
            "DELETE FROM captures WHERE id <= (SELECT max(id) FROM captures) - ?1",
            params![keep],
        )
        .map_err(|e| format!("trim to --keep: {e}"))?;
    }
    tx.commit().map_err(|e| format!("commit: {e}"))
}
