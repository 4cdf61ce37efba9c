//! The `samverkan` binary: everything happens in [`samverkan::cli`].
//!
//! The hub allocates and frees many short-lived strings and JSON values per message (decoding,
//! matching, building outbound events, binding statements); glibc's allocator spent about a
//! quarter of the hub's CPU on them in a profile of `samverkan bench` (docs/benchmarks.md), so
//! the binary uses mimalloc.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    samverkan::cli::main()
}
