//! `tlspost-harness`: runs firmware/rv32-harness under QEMU with its jobs relayed to real servers.
//!
//! ```text
//! tlspost-harness run ELF JOB...   each JOB: target=HOST:PORT,host=NAME,root=FILE.der[,root=…][,path=/p][,now=SECS]
//!                                  [,fragment=4096[,read_buffer=BYTES]] (max_fragment_length; default buffer +256)
//! tlspost-harness agree ELF        doctor's tlspost verdicts against the firmware, on five servers
//! tlspost-harness fragment ELF     the 4 KB-fragment run: nginx honours it, serve does not
//! ```
//!
//! Exit status: 0 when every job ran (run) or every row agrees as built (agree); 1 otherwise; 2
//! for wrong arguments.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tlspost_harness::job::{Fragment, Job, outcomes};
use tlspost_harness::relay;
use tlspost_harness::{agree, fragment};

const LIMIT: Duration = Duration::from_secs(110);
const USAGE: &str = "usage: tlspost-harness run ELF JOB... | tlspost-harness agree ELF | tlspost-harness fragment ELF\n  \
                     JOB: target=HOST:PORT,host=NAME,root=FILE.der[,root=FILE.der][,path=/p][,now=SECS]\
                     [,fragment=4096[,read_buffer=BYTES]]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["agree", elf] => agree_cmd(Path::new(elf)),
        ["fragment", elf] => fragment_cmd(Path::new(elf)),
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
        Err(e) => return failed(&e),
    };
    print!("{}", agree::table(&rows));
    let summary = format!(
        "doctor's tlspost verdicts and the firmware agree on {} servers (one firmware run)",
        rows.len()
    );
    verdict(
        rows.iter().all(agree::Row::holds),
        &run,
        &summary,
        "doctor and the firmware disagree, or not on what the servers were built to show",
    )
}

fn fragment_cmd(elf: &Path) -> ExitCode {
    let (rows, run) = match fragment::check(elf, LIMIT) {
        Ok(x) => x,
        Err(e) => return failed(&e),
    };
    print!("{}", fragment::table(&rows));
    for line in run.console.lines().filter(|l| l.contains("stack")) {
        println!("{line}");
    }
    verdict(
        rows.iter().all(|r| r.holds),
        &run,
        "the 4 KB fragment: nginx honoured it, its split certificates and serve's large record are told apart \
         (one firmware run)",
        "the fragment run is not as the servers were built to show",
    )
}

fn failed(e: &relay::RunError) -> ExitCode {
    eprintln!("tlspost-harness: {e}");
    ExitCode::FAILURE
}

/// Success when every row held and QEMU exited with 0; otherwise what went wrong and the console.
fn verdict(held: bool, run: &relay::Run, summary: &str, failure: &str) -> ExitCode {
    if held && run.status == Some(0) {
        println!("{summary}");
        return ExitCode::SUCCESS;
    }
    eprintln!("tlspost-harness: {failure}");
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
        Err(e) => return failed(&e),
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
        fragment: None,
    };
    let mut read_buffer = None;
    for field in spec.split(',') {
        let (key, value) = field.split_once('=').ok_or(format!("'{field}' is not KEY=VALUE"))?;
        match key {
            "target" => job.target = value.to_owned(),
            "host" => job.host = value.to_owned(),
            "path" => job.path = value.to_owned(),
            "now" => job.now_unix = value.parse().map_err(|_| format!("now={value} is not seconds"))?,
            "fragment" => {
                let bytes = value.parse().map_err(|_| format!("fragment={value} is not bytes"))?;
                job.fragment = Some(Fragment::of(bytes));
            }
            "read_buffer" => {
                read_buffer = Some(value.parse().map_err(|_| format!("read_buffer={value} is not bytes"))?);
            }
            "root" => job
                .roots
                .push(std::fs::read(value).map_err(|e| format!("root {value}: {e}"))?),
            _ => return Err(format!("unknown key '{key}'")),
        }
    }
    if job.target.is_empty() || job.host.is_empty() || job.roots.is_empty() {
        return Err("target, host and at least one root are needed".into());
    }
    match (&mut job.fragment, read_buffer) {
        (Some(f), Some(n)) => f.read_buffer = n,
        (None, Some(_)) => return Err("read_buffer= goes with fragment=".into()),
        _ => {}
    }
    Ok(job)
}
