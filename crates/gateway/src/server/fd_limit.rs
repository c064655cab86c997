//! The open-file limit bounds how many connections koogate can hold: past it `accept` fails
//! ("Too many open files") for everyone, KooGallery included. So the process raises its soft
//! limit to the hard one at start (as Go's runtime does), and the connection cap is kept below
//! whatever limit remains, with room for the database, the log and outgoing calls.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Descriptors kept free for everything that is not an incoming connection: database
/// connections, the SQLite WAL and shm files, outgoing HTTPS calls, listeners, the log.
const HEADROOM: u64 = 128;

/// Raises the soft open-file limit to the hard limit; returns the soft limit now in force
/// (`None` when unlimited or unknown).
pub fn raise_fd_limit() -> Option<u64> {
    let limit = getrlimit(Resource::Nofile);
    if let (Some(current), Some(maximum)) = (limit.current, limit.maximum)
        && current < maximum
    {
        let raised = Rlimit {
            current: Some(maximum),
            maximum: Some(maximum),
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => {
                tracing::debug!(from = current, to = maximum, "raised the open-file limit");
                return Some(maximum);
            }
            Err(err) => tracing::debug!(error = %err, "cannot raise the open-file limit"),
        }
    }
    limit.current
}

/// The connection cap to use: `configured`, lowered (with a warning) when the open-file limit
/// would be reached first.
pub fn connection_budget(configured: usize) -> usize {
    let Some(soft) = getrlimit(Resource::Nofile).current else {
        return configured;
    };
    let available = usize::try_from(soft.saturating_sub(HEADROOM).max(16)).unwrap_or(usize::MAX);
    if configured > available {
        tracing::warn!(
            max_connections = configured,
            open_file_limit = soft,
            using = available,
            "max_connections is above what the open-file limit allows; raise `ulimit -n` to use it"
        );
        available
    } else {
        configured
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_never_exceeds_the_open_file_limit() {
        let soft = getrlimit(Resource::Nofile).current;
        let budget = connection_budget(usize::MAX);
        match soft {
            Some(soft) => assert!(u64::try_from(budget).unwrap() < soft.max(HEADROOM + 16)),
            None => assert_eq!(budget, usize::MAX),
        }
        assert_eq!(connection_budget(3), 3);
    }
}
