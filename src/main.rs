//! The `samverkan` binary: everything happens in [`samverkan::cli`].
//!
//! The hub allocates and frees many short-lived strings and JSON values per message (decoding,
//! matching, building outbound events, binding statements); glibc's allocator spent about a
//! quarter of the hub's CPU on them in a profile of `samverkan bench` (docs/benchmarks.md), so
//! the binary uses mimalloc.
//!
//! mimalloc is built with its `no_thp` feature: by default it asks the kernel for transparent
//! huge pages on its arena (`madvise(MADV_HUGEPAGE)`), so every 2 MiB region the hub touched
//! became resident in full; in `samverkan bench` that was about 75 MiB of huge pages and
//! 28–40 MiB more peak RSS for the hub (docs/benchmarks.md, "The hub's memory"). On a machine
//! whose THP setting is `always` rather than `madvise` the kernel uses huge pages without being
//! asked; `MIMALLOC_ALLOW_THP=0` turns them off for the process there.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    samverkan::cli::main()
}
