//! The server's resident memory, from `/proc/<pid>/status` (Linux; `None` elsewhere).
//!
//! `VmHWM` is the peak since the process started. Writing `5` to `/proc/<pid>/clear_refs`
//! resets it to the current size, which turns it into the peak of one workload; where that
//! write is refused the figure is the peak since start-up, and the report says so.

/// Resets the peak to the current size; `false` when the kernel refused (or is not Linux).
pub fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// Peak resident set size in KiB (`VmHWM`).
pub fn peak_kib(pid: u32) -> Option<u64> {
    status_field(pid, "VmHWM:")
}

/// Current resident set size in KiB (`VmRSS`).
pub fn current_kib(pid: u32) -> Option<u64> {
    status_field(pid, "VmRSS:")
}

fn status_field(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_field(&status, field)
}

fn parse_field(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kib_from_status_lines() {
        let status = "Name:\tkoogate\nVmHWM:\t   51234 kB\nVmRSS:\t   40000 kB\n";
        assert_eq!(parse_field(status, "VmHWM:"), Some(51_234));
        assert_eq!(parse_field(status, "VmRSS:"), Some(40_000));
        assert_eq!(parse_field(status, "VmSwap:"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_a_peak() {
        let pid = std::process::id();
        assert!(peak_kib(pid).is_some_and(|kib| kib > 0));
        assert!(current_kib(pid).is_some());
    }
}
