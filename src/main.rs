//! `portcullis`: parse the command line, set up logging, dispatch.

use std::process::ExitCode;

use clap::Parser;
use portcullis::cli::{run, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // stdout belongs to MCP in stdio mode: logs always go to stderr or to
    // the file named by PORTCULLIS_LOG_FILE.
    let _guard = portcullis::logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("portcullis: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("portcullis: {message}");
            ExitCode::from(2)
        }
    }
}
