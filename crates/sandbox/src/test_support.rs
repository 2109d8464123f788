//! Helpers shared by this crate's unit tests.

use codex_protocol::{
    FileSystemAccess, FileSystemPath, FileSystemSandboxEntry, KnownSpecialPath,
    MissingPathBehavior, SpecialPath,
};
use std::path::PathBuf;

/// A policy entry: `:root`, `:cwd` (the working directory) or an absolute or relative path.
pub(crate) fn entry(path: &str, access: FileSystemAccess) -> FileSystemSandboxEntry {
    let path = match path {
        ":root" => FileSystemPath::Special {
            value: SpecialPath::Known(KnownSpecialPath::Root),
        },
        ":cwd" => FileSystemPath::Special {
            value: SpecialPath::Known(KnownSpecialPath::CurrentWorkingDirectory { subpath: None }),
        },
        p => FileSystemPath::Path {
            path: PathBuf::from(p),
        },
    };
    FileSystemSandboxEntry {
        path,
        access,
        missing_path_behavior: MissingPathBehavior::Enforce,
    }
}
