//! Standard output for commands whose output is piped (`tools | head -1`):
//! a reader that stops early closes the pipe, and the command then stops
//! quietly instead of panicking the way `println!` does.

use std::io::Write;

/// Write to stdout; on a closed pipe, exit at once with success (the
/// reader has all it wanted). Other write errors are reported and exit 2.
pub fn write(args: std::fmt::Arguments, newline: bool) {
    let mut out = std::io::stdout().lock();
    let written = out.write_fmt(args).and_then(|_| {
        if newline {
            out.write_all(b"\n")
        } else {
            Ok(())
        }
    });
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("portcullis: cannot write to standard output: {e}");
        std::process::exit(2);
    }
}

/// `println!` for CLI output.
macro_rules! outln {
    () => { $crate::cli::out::write(format_args!(""), true) };
    ($($t:tt)*) => { $crate::cli::out::write(format_args!($($t)*), true) };
}

/// `print!` for CLI output.
macro_rules! out {
    ($($t:tt)*) => { $crate::cli::out::write(format_args!($($t)*), false) };
}
