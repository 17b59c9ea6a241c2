//! `tlspost-harness`: runs firmware/rv32-harness under QEMU with its jobs relayed to real servers.
//!
//! ```text
//! tlspost-harness run ELF JOB...   each JOB: target=HOST:PORT,host=NAME,root=FILE.der[,root=…][,path=/p][,now=SECS]
//! tlspost-harness agree ELF        doctor's tlspost verdicts against the firmware, on five servers
//! ```
//!
//! Exit status: 0 when every job ran (run) or every row agrees as built (agree); 1 otherwise; 2
//! for wrong arguments.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tlspost_harness::agree;
use tlspost_harness::job::{Job, outcomes};
use tlspost_harness::relay;

const LIMIT: Duration = Duration::from_secs(110);
const USAGE: &str = "usage: tlspost-harness run ELF JOB... | tlspost-harness agree ELF\n  \
                     JOB: target=HOST:PORT,host=NAME,root=FILE.der[,root=FILE.der][,path=/p][,now=SECS]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["agree", elf] => agree_cmd(Path::new(elf)),
        ["run", elf, ref jobs @ ..] if !jobs.is_empty() => run_cmd(Path::new(elf), jobs),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn agree_cmd(elf: &Path) -> ExitCode {
    let (rows, run) = match agree::check(elf, LIMIT) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("tlspost-harness: {e}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", agree::table(&rows));
    if rows.iter().all(agree::Row::holds) && run.status == Some(0) {
        println!(
            "doctor's tlspost verdicts and the firmware agree on {} servers (one firmware run)",
            rows.len()
        );
        return ExitCode::SUCCESS;
    }
    eprintln!("tlspost-harness: doctor and the firmware disagree, or not on what the servers were built to show");
    eprintln!("QEMU status: {:?}; relay notes: {:?}", run.status, run.notes);
    eprintln!("--- firmware console ---\n{}", run.console);
    ExitCode::FAILURE
}

fn run_cmd(elf: &Path, specs: &[&str]) -> ExitCode {
    let mut jobs = Vec::new();
    for (spec, id) in specs.iter().zip(1u8..) {
        match parse_job(spec, id) {
            Ok(j) => jobs.push(j),
            Err(e) => {
                eprintln!("tlspost-harness: job {id} ({spec}): {e}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let run = match relay::run(elf, &jobs, LIMIT) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tlspost-harness: {e}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", run.console);
    for o in outcomes(&run.console) {
        if let Some(w) = run.wire.get(&o.id) {
            println!(
                "wire {}: {} records, largest {} B, {} B in all",
                o.id, w.records, w.largest, w.bytes
            );
        }
    }
    for n in &run.notes {
        eprintln!("relay: {n}");
    }
    if run.status == Some(0) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn parse_job(spec: &str, id: u8) -> Result<Job, String> {
    let mut job = Job {
        id,
        host: String::new(),
        target: String::new(),
        now_unix: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        roots: Vec::new(),
        path: String::new(),
    };
    for field in spec.split(',') {
        let (key, value) = field.split_once('=').ok_or(format!("'{field}' is not KEY=VALUE"))?;
        match key {
            "target" => job.target = value.to_owned(),
            "host" => job.host = value.to_owned(),
            "path" => job.path = value.to_owned(),
            "now" => job.now_unix = value.parse().map_err(|_| format!("now={value} is not seconds"))?,
            "root" => job
                .roots
                .push(std::fs::read(value).map_err(|e| format!("root {value}: {e}"))?),
            _ => return Err(format!("unknown key '{key}'")),
        }
    }
    if job.target.is_empty() || job.host.is_empty() || job.roots.is_empty() {
        return Err("target, host and at least one root are needed".into());
    }
    Ok(job)
}
