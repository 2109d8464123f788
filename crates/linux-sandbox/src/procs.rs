//! Processes by session, read from /proc: what a command left running in its session when it
//! used job control (each job in a process group of its own) is found here to be killed.

/// The processes whose session id is `session`.
pub fn session_members(session: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| session_of(*pid) == Some(session))
        .collect()
}

/// The session id of `pid` (field 6 of /proc/PID/stat, counted after the command name, which
/// may itself hold spaces and parentheses).
fn session_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_in_its_own_session() {
        let me = std::process::id() as i32;
        let session = session_of(me).unwrap();
        assert!(session_members(session).contains(&me));
        assert!(session_members(-5).is_empty());
    }
}
