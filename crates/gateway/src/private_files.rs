//! Files only koogate's user may read: the data directory (0700), the SQLite database and its
//! WAL and shm files (0600; they hold buyers' mobile numbers, e-mail addresses and names), and
//! the generated secrets. SQLite creates the WAL and shm files with the database file's own
//! permissions, so creating the database 0600 covers all three; files left looser by an earlier
//! version are tightened at start.

use std::path::Path;

/// Creates `dir` (and missing parents) 0700, or tightens an existing one to 0700.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        if !dir.exists() {
            return std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir);
        }
    }
    std::fs::create_dir_all(dir)?;
    tighten(dir, 0o700)
}

/// Creates `file` empty and 0600 if it does not exist; tightens it (and SQLite's `-wal`/`-shm`
/// beside it) to 0600 if it does.
pub fn private_database_file(file: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        if !file.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(file)?;
        }
    }
    tighten(file, 0o600)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut companion = file.as_os_str().to_owned();
        companion.push(suffix);
        let companion = Path::new(&companion);
        if companion.exists() {
            tighten(companion, 0o600)?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn tighten(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if current & !mode != 0 {
        tracing::warn!(path = %path.display(), from = format!("{current:o}"), to = format!("{mode:o}"), "tightening permissions: buyer data and secrets must not be readable by other users");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn tighten(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)] // a test helper: a failed unwrap is a failed test
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_and_existing_files_end_up_private() {
        let root = std::env::temp_dir().join(format!("koogate-private-{}", uuid::Uuid::new_v4()));
        let dir = root.join("data");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let db = dir.join("koogate.db");
        private_database_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);

        // Left 0644/0755 by an earlier version: tightened.
        let wal = dir.join("koogate.db-wal");
        std::fs::write(&wal, b"").unwrap();
        for path in [&db, &wal] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&dir).unwrap();
        private_database_file(&db).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&wal), 0o600);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
