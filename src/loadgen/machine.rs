//! Where the whole machine's CPU went while a run's needs were measured: all of it
//! (`/proc/stat`), and the part of the broker's and the database's processes when they run on
//! this machine (`/proc/<pid>/stat` of every process named `beam.smp` or `postgres`).
//!
//! **Why.** On a machine whose cores the broker, the database and the worker share, the
//! ratio of the hub to the pass-through is about the ratio of the machine's CPU per need in
//! the two runs; the worker's own CPU is only part of it. These figures say which part grew,
//! so a change can be aimed at the hub, the database or the broker. They are approximate:
//! another process's CPU counts too, and a database backend that ends during the run takes
//! its CPU time with it. Every reader returns `None` off Linux; the broker and the database
//! are `None` when no such process runs here.

use super::procfs::USER_HZ;

/// Process name (`comm`) of RabbitMQ's Erlang VM.
const BROKER: &str = "beam.smp";
/// Process name of PostgreSQL's server and backends.
const DATABASE: &str = "postgres";

/// CPU time so far, in ticks of 1/100 s.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MachineCounters {
    busy: Option<u64>,
    broker: Option<u64>,
    database: Option<u64>,
}

/// The machine's CPU per need over a run, milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct MachineFigures {
    /// All CPUs' busy time (user, nice, system, irq, softirq, steal), ÷ needs.
    pub cpu_ms_per_need: Option<f64>,
    /// The processes named `beam.smp` (RabbitMQ; every node on this machine), ÷ needs.
    pub broker_cpu_ms_per_need: Option<f64>,
    /// The processes named `postgres` (server and backends), ÷ needs.
    pub database_cpu_ms_per_need: Option<f64>,
}

impl MachineCounters {
    /// The counters now.
    pub(crate) fn now() -> Self {
        let (broker, database) = by_name();
        Self {
            busy: std::fs::read_to_string("/proc/stat")
                .ok()
                .as_deref()
                .and_then(busy_ticks),
            broker,
            database,
        }
    }

    /// CPU per need between `self` and `later`, over `needs` needs.
    pub(crate) fn per_need(self, later: Self, needs: usize) -> MachineFigures {
        if needs == 0 {
            return MachineFigures::default();
        }
        let per_need = |a: Option<u64>, b: Option<u64>| {
            a.zip(b)
                .map(|(a, b)| b.saturating_sub(a) as f64 * 1000.0 / USER_HZ / needs as f64)
        };
        MachineFigures {
            cpu_ms_per_need: per_need(self.busy, later.busy),
            broker_cpu_ms_per_need: per_need(self.broker, later.broker),
            database_cpu_ms_per_need: per_need(self.database, later.database),
        }
    }
}

/// The busy ticks of all CPUs, from the `cpu` line of `/proc/stat`: user, nice, system, idle,
/// iowait, irq, softirq, steal, … (guest time is already in user).
fn busy_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let field = |i: usize| fields.get(i).copied().unwrap_or(0);
    Some(field(0) + field(1) + field(2) + field(5) + field(6) + field(7))
}

/// utime + stime summed over the processes named [`BROKER`] and [`DATABASE`]; `None` for a
/// name no process has.
fn by_name() -> (Option<u64>, Option<u64>) {
    let (mut broker, mut database) = (None, None);
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return (None, None);
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some((comm, ticks)) = comm_and_ticks(&stat) else {
            continue;
        };
        let total = match comm {
            BROKER => &mut broker,
            DATABASE => &mut database,
            _ => continue,
        };
        *total = Some(total.unwrap_or(0) + ticks);
    }
    (broker, database)
}

/// A process's name and utime + stime from its `stat` line: `pid (comm) state … utime stime …`,
/// where `comm` may hold spaces and parentheses (so it ends at the last `)`).
fn comm_and_ticks(stat: &str) -> Option<(&str, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?;
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    // The fields after the name start at field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_its_name_and_cpu_ticks_even_with_odd_names() {
        let line = "4242 (postgres) S 1 2 3 4 5 6 7 8 9 10 150 25 0 0 20 0 1 0 100 0 0";
        assert_eq!(comm_and_ticks(line), Some(("postgres", 175)));
        let odd = "7 (a (b) c) R 1 2 3 4 5 6 7 8 9 10 3 4 0 0";
        assert_eq!(comm_and_ticks(odd), Some(("a (b) c", 7)));
        assert_eq!(comm_and_ticks("7 (short) R 1 2"), None);
    }

    #[test]
    fn busy_time_leaves_out_idle_and_iowait() {
        let stat = "cpu  100 5 50 1000 40 3 2 1 0 0\ncpu0 50 2 25 500 20 1 1 0 0 0\n";
        assert_eq!(busy_ticks(stat), Some(100 + 5 + 50 + 3 + 2 + 1));
        assert_eq!(busy_ticks("intr 1 2 3\n"), None);
    }

    #[test]
    fn the_machine_s_busy_time_grows_while_this_process_burns_cpu() {
        if cfg!(target_os = "linux") {
            let before = MachineCounters::now();
            let mut x = 0u64;
            for i in 0..200_000_000u64 {
                x = std::hint::black_box(x.wrapping_add(i));
            }
            let figures = before.per_need(MachineCounters::now(), 1);
            assert!(
                figures.cpu_ms_per_need.is_some_and(|ms| ms > 0.0),
                "{figures:?}"
            );
        }
    }
}
