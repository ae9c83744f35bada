//! Allocator settings for the process.
//!
//! burn-flex gives every op's result a fresh buffer, many of them hundreds of kilobytes. With
//! glibc's defaults such buffers are mapped and unmapped, or the heap is trimmed back to the OS
//! as they are freed, so the next op faults in and zeroes the same pages again: page faults
//! took about 8 % of training's time in a `perf record`. Keeping freed memory in the process
//! removes that; it changes no result (measured in docs/performance.md, *Training epoch*).

/// Raises glibc's mmap and trim thresholds and its heap growth step (what the environment
/// variables `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_` and `MALLOC_TOP_PAD_` would set).
/// Call before other threads start.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn keep_freed_memory() {
    const MIB: libc::c_int = 1 << 20;
    // SAFETY: mallopt only sets allocator parameters; it is called before any other thread runs.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * MIB);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1024 * MIB);
        libc::mallopt(libc::M_TOP_PAD, 256 * MIB);
    }
}

/// Other platforms' allocators are left as they are.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn keep_freed_memory() {}
