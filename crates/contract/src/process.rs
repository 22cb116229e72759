//! Settings of the process a run lives in, made by the `rafiki-contract`
//! binary (and the suite bench, to measure what the binary does).

/// Keeps the process off transparent huge pages, whatever the machine's
/// setting (mimalloc asks for them on its arenas).
///
/// A run is short-lived and its heap a few tens of megabytes, so huge
/// pages buy it nothing, while each first touch of one zeroes 2 MiB, and
/// on a virtual machine whose host has to back the page first that can
/// take milliseconds. Measured on a 2-core VM: in three runs of the
/// default suite, zeroing huge pages was 42%, 19% and 3% of the runner's
/// CPU; without them, 1–2% (7.5% once in four). Two sets of 30 runs
/// alternating with and without: the median CPU per request 44.1 → 41.3
/// and 43.4 → 43.1 µs, the worst run 65.7 → 56.3 and 89.8 → 59.4 µs. The
/// best runs are a little slower without (twice the page faults), the
/// bad ones much less bad.
///
/// Best called first thing in `main`: pages touched before it may
/// already be huge. Harmless where the kernel has no such setting.
pub fn without_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes an integer flag and no pointers;
    // it changes only whether later page faults may map huge pages.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn the_process_is_kept_off_huge_pages() {
        super::without_huge_pages();
        // SAFETY: PR_GET_THP_DISABLE takes no pointers; it returns the flag.
        let disabled = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
        assert_eq!(disabled, 1);
    }
}
