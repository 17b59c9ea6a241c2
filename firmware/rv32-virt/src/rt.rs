//! The bare-metal runtime: reset entry, trap entry, stack painting and measurement.
//!
//! `_start` runs first at 0x8000_0000 (QEMU `virt`, `-bios none`): it parks every hart but hart 0,
//! sets the stack pointer, points `mtvec` at `_trap`, zeroes `.bss`, copies `.data` from its load
//! address when that differs, fills the whole stack region with [`PAINT`], and calls `rust_main`.
//! At the end, [`peak_stack`] finds the lowest word that no longer holds the pattern.

use core::arch::global_asm;

/// The word painted over the stack before Rust code runs; the linker script gives its bounds.
pub const PAINT: u32 = 0x5AA5_C33C;

global_asm!(
    r#"
    .section .text.start, "ax"
    .globl _start
_start:
    csrr    t0, mhartid
    bnez    t0, 9f
    la      sp, _stack_top
    la      t0, _trap
    csrw    mtvec, t0

    la      t0, _sbss
    la      t1, _ebss
1:  bgeu    t0, t1, 2f
    sw      zero, 0(t0)
    addi    t0, t0, 4
    j       1b

2:  la      t0, _sdata
    la      t1, _edata
    la      t2, _sidata
    beq     t0, t2, 4f
3:  bgeu    t0, t1, 4f
    lw      t3, 0(t2)
    sw      t3, 0(t0)
    addi    t0, t0, 4
    addi    t2, t2, 4
    j       3b

4:  la      t0, _stack_bottom
    li      t1, {paint}
5:  bgeu    t0, sp, 6f
    sw      t1, 0(t0)
    addi    t0, t0, 4
    j       5b

6:  call    rust_main
9:  wfi
    j       9b

    .balign 4
    .globl _trap
_trap:
    la      sp, _stack_top
    csrr    a0, mcause
    csrr    a1, mepc
    csrr    a2, mtval
    call    rust_trap
    j       9b
"#,
    paint = const PAINT,
);

unsafe extern "C" {
    static _stack_bottom: u32;
    static _stack_top: u32;
}

/// Bytes of the stack region.
pub fn stack_size() -> usize {
    let (bottom, top) = bounds();
    top - bottom
}

fn bounds() -> (usize, usize) {
    // Only the addresses of the linker-script symbols are taken, never their contents.
    (
        core::ptr::addr_of!(_stack_bottom) as usize,
        core::ptr::addr_of!(_stack_top) as usize,
    )
}

/// The most stack used so far, in bytes: the distance from the top of the stack to the lowest word
/// that no longer holds [`PAINT`]. (A word written with the very same value would be missed, so this
/// can under-count by at most that word.)
pub fn peak_stack() -> usize {
    let (bottom, top) = bounds();
    let mut p = bottom;
    while p < top {
        // SAFETY: `p` is word-aligned and inside the stack region reserved by the linker script;
        // volatile so the scan is not reasoned away.
        let w = unsafe { core::ptr::read_volatile(p as *const u32) };
        if w != PAINT {
            break;
        }
        p += 4;
    }
    top - p
}
