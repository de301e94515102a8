//! A reader that goes away (`minutes list | head -1`, a closed pager) ends minutes quietly, as
//! it ends ripgrep or cat, instead of a panic with exit status 101.
//!
//! Rust ignores SIGPIPE, so a write to a pipe without a reader fails with EPIPE and `println!`
//! panics ("failed printing to stdout"). SIGPIPE stays ignored: restoring its default would also
//! kill minutes, without a word, when a server closes a socket mid-request (`writev` on a socket
//! raises it too). Instead a failed print whose reader is really gone exits with status 0.

use std::io::ErrorKind;

/// Whether nobody reads file descriptor `fd` any more (a pipe or socket whose other end is
/// closed). A terminal, a file, or an open pipe answer false.
#[cfg(unix)]
fn reader_gone(fd: std::os::fd::RawFd) -> bool {
    let mut poll = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd, a zero timeout; the descriptor is only asked, never used.
    let ready = unsafe { libc::poll(&mut poll, 1, 0) };
    ready == 1 && poll.revents & (libc::POLLERR | libc::POLLHUP) != 0
}

#[cfg(not(unix))]
fn reader_gone(_fd: i32) -> bool {
    false
}

fn stdout_or_stderr_gone() -> bool {
    reader_gone(1) || reader_gone(2)
}

/// Makes a `println!`/`eprintln!` that fails because its reader left end the process quietly;
/// every other panic is reported as before.
pub fn exit_quietly_when_reader_leaves() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to std") && stdout_or_stderr_gone() {
            std::process::exit(0);
        }
        report(info);
    }));
}

/// Whether `error` is a write to stdout or stderr after its reader left (a broken pipe from a
/// socket or a child process is a real error and is reported).
pub fn is_closed_output(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == ErrorKind::BrokenPipe)
    }) && stdout_or_stderr_gone()
}
