//! Peak heap of one `tlspost` POST, counted by a global allocator, and the driver's own allocations
//! over an in-memory transport (must be zero).
//!
//! Usage: client-heap URL CACERT HOST:PORT:ADDR JSON

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use tlspost::driver::{Buffers, Hooks, exchange};
use tlspost::proto::{Body, Budgets, Deadlines, Millis, Request};
use tlspost::{Client, RequestSpec, Trust};

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static COUNT: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(l.size(), Relaxed) + l.size();
        PEAK.fetch_max(now, Relaxed);
        COUNT.fetch_add(1, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        CURRENT.fetch_sub(l.size(), Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if new > l.size() {
            let now = CURRENT.fetch_add(new - l.size(), Relaxed) + new - l.size();
            PEAK.fetch_max(now, Relaxed);
        } else {
            CURRENT.fetch_sub(l.size() - new, Relaxed);
        }
        COUNT.fetch_add(1, Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

fn reset() -> usize {
    let base = CURRENT.load(Relaxed);
    PEAK.store(base, Relaxed);
    COUNT.store(0, Relaxed);
    base
}

struct Canned(&'static [u8]);
impl embedded_io::ErrorType for Canned {
    type Error = core::convert::Infallible;
}
impl embedded_io::Read for Canned {
    fn read(&mut self, b: &mut [u8]) -> Result<usize, Self::Error> {
        let k = b.len().min(self.0.len()).min(100);
        b[..k].copy_from_slice(&self.0[..k]);
        self.0 = &self.0[k..];
        Ok(k)
    }
}
impl embedded_io::Write for Canned {
    fn write(&mut self, b: &[u8]) -> Result<usize, Self::Error> {
        Ok(b.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
struct Dev(u64, usize);
impl Hooks for Dev {
    fn now(&mut self) -> Millis {
        self.0 += 1;
        Millis(self.0)
    }
    fn body(&mut self, d: &[u8]) -> bool {
        self.1 += d.len();
        true
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, cacert, resolve, json] = &args[..] else {
        eprintln!("usage: client-heap URL CACERT HOST:PORT:ADDR JSON");
        std::process::exit(2);
    };

    // 1. The driver alone: a chunked response fed 100 bytes at a time, caller buffers on the stack.
    let req = Request::post("api.example.com", "/v1/readings", Body::Json(br#"{"t":21.5}"#));
    let mut io = Canned(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n",
    );
    let (mut rx, mut tx) = ([0u8; 2048], [0u8; 512]);
    let mut dev = Dev(0, 0);
    let mut d = Deadlines::new(Budgets::default(), Millis(0));
    reset();
    let out = exchange(&mut io, &req, &mut d, Buffers { rx: &mut rx, tx: &mut tx }, &mut dev).expect("driver");
    let driver_allocs = COUNT.load(Relaxed);
    assert_eq!((out.status, dev.1), (200, 7));
    println!("driver_allocations {driver_allocs}");
    assert_eq!(driver_allocs, 0, "the driver must not allocate");

    // 2. The host client: build (trust anchors parsed) and one POST on a fresh connection.
    let mut parts = resolve.splitn(3, ':');
    let (host, port, addr) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    let port: u16 = port.parse().unwrap();
    let url: tlspost::url::HttpUrl = url.parse().expect("URL");
    let base = reset();
    let mut client = Client::builder()
        .trust(Trust::pinned_files(&[cacert]).expect("cacert"))
        .resolve(host, port, format!("{addr}:{port}").parse().unwrap())
        .build()
        .expect("client");
    let resp = client.send(&RequestSpec::json(url.clone(), json.as_bytes().to_vec())).expect("POST");
    assert_eq!(resp.status, 200);
    let peak = PEAK.load(Relaxed) - base;
    println!("client_peak_heap_bytes {peak}");
    println!("client_allocations {}", COUNT.load(Relaxed));

    // 3. A second POST on the kept-alive connection.
    let base = reset();
    let resp = client.send(&RequestSpec::json(url.clone(), json.as_bytes().to_vec())).expect("POST 2");
    assert!(resp.reused_connection);
    println!("kept_alive_post_peak_heap_bytes {}", PEAK.load(Relaxed) - base);

    // 4. With Mozilla's roots instead of one pinned root (the default trust).
    let base = reset();
    let c = Client::builder().build().expect("client");
    println!("mozilla_roots_client_heap_bytes {}", CURRENT.load(Relaxed) - base);
    drop(c);
}
