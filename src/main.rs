//! The `samverkan` binary: everything happens in [`samverkan::cli`].

fn main() -> std::process::ExitCode {
    samverkan::cli::main()
}
