//! `koogate demo` as a newcomer runs it: the process starts the gateway and the simulator,
//! plays the lifecycle, prints the timeline and exits 0, well within a minute.

#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn the_demo_plays_a_whole_lifecycle_and_exits_0() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_koogate"))
        .arg("demo")
        .env_remove("KOOGATE_LOG")
        .env_remove("KOOGATE_ACCESS_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read on threads, so a full pipe can never stall the demo.
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text).unwrap();
            text
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    // Bounded: a hung demo fails the test instead of hanging it.
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("koogate demo still running after {LIMIT:?}");
        }
        std::thread::park_timeout(Duration::from_millis(100));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    for activity in [
        "newInstance",
        "queryInstance",
        "refreshInstance",
        "updateInstanceStatus",
        "changeInstanceCheck",
        "upgradeInstance",
        "releaseInstance",
        "orderNotify",
    ] {
        assert!(stdout.contains(activity), "{activity} missing:\n{stdout}");
    }
    for what in [
        "order query",
        "instance.provision",
        "instance.renewed",
        "instance.frozen",
        "instance.unfrozen",
        "instance.upgraded",
        "instance.released",
        "order.notified",
        "What to try next",
        "koogate serve",
        "koogate conform",
        "koogate sim",
    ] {
        assert!(stdout.contains(what), "{what} missing:\n{stdout}");
    }
    assert!(!stdout.contains('✘'), "{stdout}");
}
