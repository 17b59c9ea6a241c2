//! The global allocator: a fixed arena in `.bss` (first fit, embedded-alloc), its high-water
//! mark, the single-hart critical section it locks with, and the random bytes ring asks
//! `getrandom` for.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};

use embedded_alloc::LlffHeap;
use rand_core::RngCore as _;
use tlspost_device::rustls_backend::Limits;

use crate::rng::InsecureTestRng;

/// What this device lets a server send before its handshake completes: 4,096 bytes, enough for
/// Let's Encrypt's ECDSA shape (leaf and intermediate, about 2,700 bytes; the run's nginx with a
/// P-384 intermediate sends about 1,400) and half the backend's default. The clients use it.
pub const LIMITS: Limits = Limits {
    server_handshake: 4_096,
};

/// The arena: what the backend's size rule asks for with [`LIMITS`] (`Limits::heap_needed`:
/// rustls' state, the server's handshake, and the larger of that again and two records'
/// plaintext).
pub const ARENA: usize = LIMITS.heap_needed();

static mut MEMORY: [u8; ARENA] = [0; ARENA];

/// The allocator with its high-water marks: since the last [`reset_peak`], and for the run.
pub struct Counted {
    heap: LlffHeap,
    peak: AtomicUsize,
    run_peak: AtomicUsize,
}

#[global_allocator]
static HEAP: Counted = Counted {
    heap: LlffHeap::empty(),
    peak: AtomicUsize::new(0),
    run_peak: AtomicUsize::new(0),
};

/// Gives the allocator its arena; called once, first.
pub fn init() {
    // SAFETY: called once before any allocation; the arena is used by the allocator alone.
    unsafe { HEAP.heap.init(core::ptr::addr_of_mut!(MEMORY) as usize, ARENA) }
}

/// Bytes allocated now.
pub fn used() -> usize {
    HEAP.heap.used()
}

/// The most bytes allocated since the last [`reset_peak`] (or start).
pub fn peak() -> usize {
    HEAP.peak.load(Ordering::Relaxed)
}

/// The most bytes allocated at any time of the run.
pub fn peak_of_run() -> usize {
    HEAP.run_peak.load(Ordering::Relaxed)
}

/// Starts a new high-water mark from what is allocated now.
pub fn reset_peak() {
    HEAP.peak.store(used(), Ordering::Relaxed);
}

// SAFETY: every call is passed on to embedded-alloc's heap; the counter only reads its `used`.
unsafe impl GlobalAlloc for Counted {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout, passed on.
        let p = unsafe { self.heap.alloc(layout) };
        let used = self.heap.used();
        self.peak.fetch_max(used, Ordering::Relaxed);
        self.run_peak.fetch_max(used, Ordering::Relaxed);
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { self.heap.dealloc(ptr, layout) }
    }
}

/// One hart, interrupts never enabled by this firmware: the critical section masks them anyway
/// (mstatus.MIE) and restores what was there.
struct SingleHart;
critical_section::set_impl!(SingleHart);

// SAFETY: on a single hart, clearing mstatus.MIE excludes every other context.
unsafe impl critical_section::Impl for SingleHart {
    unsafe fn acquire() -> bool {
        let was: usize;
        // SAFETY: reads and clears mstatus.MIE (bit 3) atomically.
        unsafe { core::arch::asm!("csrrci {0}, mstatus, 8", out(reg) was) };
        was & 8 != 0
    }

    unsafe fn release(enabled: bool) {
        if enabled {
            // SAFETY: sets mstatus.MIE back as acquire found it.
            unsafe { core::arch::asm!("csrsi mstatus, 8") };
        }
    }
}

static mut RNG: Option<InsecureTestRng> = None;

/// ring's random bytes (key shares, nonces): the same insecure test RNG, seeded from the timer on
/// first use. A device registers its TRNG here.
fn random(dest: &mut [u8]) -> Result<(), getrandom::Error> {
    critical_section::with(|_| {
        // SAFETY: only touched here, inside the critical section.
        let rng = unsafe { &mut *core::ptr::addr_of_mut!(RNG) };
        rng.get_or_insert_with(|| InsecureTestRng::new(rv32_virt::mtime()))
            .fill_bytes(dest);
    });
    Ok(())
}

getrandom::register_custom_getrandom!(random);
