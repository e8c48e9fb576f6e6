// SPDX-License-Identifier: GPL-2.0

//! Random numbers from the kernel's random number generator.
//!
//! C header: [`include/linux/random.h`](srctree/include/linux/random.h).

/// A uniformly random number below `ceil` (get_random_u32_below); any
/// `u32` if `ceil` is 0. For spreading things out (ext2's Orlov allocator
/// draws the group it starts from this way), not for secrets.
pub(crate) fn random_u32_below(ceil: u32) -> u32 {
    // SAFETY: takes no pointer and has no precondition: it may be called
    // from any context, and is defined for every `ceil`, 0 included (it
    // then returns get_random_u32()).
    unsafe { kernel::bindings::__get_random_u32_below(ceil) }
}

/// A random number (`get_random_u32`).
pub(crate) fn random_u32() -> u32 {
    // SAFETY: no preconditions; callable from any context.
    unsafe { kernel::bindings::get_random_u32() }
}
