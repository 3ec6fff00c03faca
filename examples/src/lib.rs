//! The examples' library: the session types they run with (so that `cargo xtask schema` exports
//! exactly those: JSON Schema and TypeScript in `schema/`), and, with the default `apps` feature,
//! the example apps themselves, which the example programs serve and the integration tests drive.

#[cfg(feature = "apps")]
pub mod issuer_app;
pub mod opaque;
#[cfg(feature = "apps")]
pub mod opaque_app;
pub mod quickstart;
#[cfg(feature = "apps")]
pub mod quickstart_app;
#[cfg(feature = "apps")]
pub mod quickstart_flows;

/// How an example program ends: `Ok` is success; an error is printed as [`error_message`] says
/// and the program exits with a failure code.
pub fn exit_with(program: &str, result: Result<(), Box<dyn std::error::Error>>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}", error_message(program, &*error));
            std::process::ExitCode::FAILURE
        }
    }
}

/// An error as a person reads it: a sentence with its causes (`quickstart: base URL `notaurl`
/// must be ...`), never its `Debug` form.
pub fn error_message(program: &str, error: &dyn std::error::Error) -> String {
    let mut message = format!("{program}: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
