//! A process's CPU time, storage writes and memory from Linux `/proc/<pid>/…`: the bench reads
//! its own (`self`, the load generator and the observer) and the worker's (a child process),
//! so each figure belongs to one process. Every reader returns `None` off Linux or when the
//! process is gone.

/// Which process: `self` or a pid.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Proc {
    /// This process.
    This,
    /// Another process, by id.
    Pid(u32),
}

impl Proc {
    fn path(self, file: &str) -> String {
        match self {
            Self::This => format!("/proc/self/{file}"),
            Self::Pid(pid) => format!("/proc/{pid}/{file}"),
        }
    }
}

/// CPU time and storage writes of a process so far.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ProcessCounters {
    cpu_ms: Option<f64>,
    write_bytes: Option<u64>,
}

/// Linux reports CPU time in `/proc` in ticks of 1/100 s (`USER_HZ`, fixed by its ABI, which
/// is what `sysconf(_SC_CLK_TCK)` returns there).
pub(super) const USER_HZ: f64 = 100.0;

impl ProcessCounters {
    /// The counters of `proc` now.
    pub(crate) fn of(proc: Proc) -> Self {
        Self {
            cpu_ms: cpu_ticks(proc).map(|ticks| ticks as f64 * 1000.0 / USER_HZ),
            write_bytes: io(proc, "write_bytes"),
        }
    }

    /// `(cpu ms, write bytes)` per need between `self` and `later`, over `needs` needs.
    pub(crate) fn per_need(self, later: Self, needs: usize) -> (Option<f64>, Option<f64>) {
        if needs == 0 {
            return (None, None);
        }
        let n = needs as f64;
        let cpu = self.cpu_ms.zip(later.cpu_ms).map(|(a, b)| (b - a) / n);
        let bytes = self
            .write_bytes
            .zip(later.write_bytes)
            .map(|(a, b)| b.saturating_sub(a) as f64 / n);
        (cpu, bytes)
    }
}

/// utime + stime of the whole process (fields 14 and 15 of `stat`, after the parenthesised
/// command name, which may hold spaces).
fn cpu_ticks(proc: Proc) -> Option<u64> {
    let stat = std::fs::read_to_string(proc.path("stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// A field of `io` (readable for our own children and ourselves).
fn io(proc: Proc, field: &str) -> Option<u64> {
    let io = std::fs::read_to_string(proc.path("io")).ok()?;
    io.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().parse().ok()
    })
}

/// A `kB` field of `status` (`VmRSS`, `VmHWM`), in KiB.
pub(crate) fn status_kib(proc: Proc, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(proc.path("status")).ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_and_writes_are_read_from_proc() {
        if cfg!(target_os = "linux") {
            let before = ProcessCounters::of(Proc::This);
            let mut x = 0u64;
            // Burn enough CPU for at least a few ticks.
            for i in 0..200_000_000u64 {
                x = std::hint::black_box(x.wrapping_add(i));
            }
            let dir = tempfile::TempDir::new().expect("temp dir");
            let file = dir.path().join("w");
            std::fs::write(&file, vec![7u8; 1 << 20]).expect("write");
            std::fs::File::open(&file)
                .expect("open")
                .sync_all()
                .expect("sync");
            let (cpu, bytes) = before.per_need(ProcessCounters::of(Proc::This), 1);
            assert!(cpu.expect("cpu") > 0.0);
            assert!(
                bytes.expect("write_bytes") >= f64::from(1 << 20),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn memory_is_read_from_proc_by_pid_too() {
        if cfg!(target_os = "linux") {
            let own = Proc::Pid(std::process::id());
            let rss = status_kib(own, "VmRSS").expect("VmRSS");
            let peak = status_kib(Proc::This, "VmHWM").expect("VmHWM");
            assert!(rss > 0 && peak >= rss, "{rss} {peak}");
            assert!(ProcessCounters::of(own).cpu_ms.is_some(), "stat of a pid");
            assert_eq!(status_kib(Proc::Pid(u32::MAX), "VmRSS"), None);
        }
    }
}
