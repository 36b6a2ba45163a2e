//! The `commons-nostr` binary: see [`commons_nostr::cli`].

fn main() -> std::process::ExitCode {
    commons_nostr::cli::main()
}
