//! A model of the legacy route: Landlock grants plus read-only bind mounts.

use codex_protocol::FileSystemAccess;
use codex_sandbox::linux::{LandlockAccess, LandlockPlan};
use std::path::Path;

pub fn access(plan: &LandlockPlan, path: &Path) -> FileSystemAccess {
    let readable = plan.rules.iter().any(|r| path.starts_with(&r.path));
    if !readable {
        return FileSystemAccess::None;
    }
    // A read-only mount makes its whole subtree read-only, whatever Landlock allows.
    if plan
        .read_only_mounts
        .iter()
        .any(|m| path.starts_with(&m.path))
    {
        return FileSystemAccess::Read;
    }
    let writable = plan
        .rules
        .iter()
        .any(|r| r.access != LandlockAccess::ReadOnly && path.starts_with(&r.path));
    if writable {
        FileSystemAccess::Write
    } else {
        FileSystemAccess::Read
    }
}
