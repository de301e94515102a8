//! CPU load for benchmarks: busy-looping child processes, as another program on the machine
//! (the call itself, a browser) would be. Each spinner is `minutes bench spin`, which stops
//! when its stdin closes, so a benchmark killed with SIGKILL still leaves no spinner behind.

use std::io::Read;
use std::process::{Child, ChildStdin, Command, Stdio};

/// Spinners that run until this is dropped.
pub struct CpuLoad(Vec<(Child, Option<ChildStdin>)>);

impl CpuLoad {
    /// Starts `processes` spinners (none for 0).
    pub fn start(processes: usize) -> std::io::Result<Self> {
        let exe = std::env::current_exe()?;
        let mut load = CpuLoad(Vec::with_capacity(processes));
        for _ in 0..processes {
            let mut child = Command::new(&exe)
                .args(["bench", "spin"])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()?;
            let stdin = child.stdin.take();
            load.0.push((child, stdin));
        }
        Ok(load)
    }
}

impl Drop for CpuLoad {
    fn drop(&mut self) {
        for (child, stdin) in &mut self.0 {
            drop(stdin.take());
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The spinner's body: one core kept busy until stdin reaches its end (the benchmark closed
/// it, or died).
pub fn spin() -> ! {
    std::thread::spawn(|| {
        let mut sink = [0u8; 64];
        while matches!(std::io::stdin().read(&mut sink), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
    let mut x: u64 = 1;
    loop {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}
