//! A deliberately weak random number generator for the QEMU test only.
//!
//! QEMU's `virt` machine can provide a virtio-rng device, but driving it needs a virtio-mmio
//! virtqueue driver this test firmware does not have yet. Instead the timer seeds a SplitMix64
//! stream, and the program says so loudly at start. `DeviceProvider` takes any
//! `rand_core::CryptoRngCore`, so a real device plugs its TRNG in the same place.

/// SplitMix64 over a timer seed. NOT SECURE.
pub struct InsecureTestRng(u64);

impl InsecureTestRng {
    /// Seeds from `seed` (the CLINT timer).
    pub fn new(seed: u64) -> Self {
        InsecureTestRng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
}

impl rand_core::RngCore for InsecureTestRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

// Marked cryptographic only so embedded-tls accepts it; see the module docs and the start banner.
impl rand_core::CryptoRng for InsecureTestRng {}
