//! A model of the mount table bubblewrap builds from our arguments, answering "read, write or
//! nothing?" for a path the way the kernel would for the sandboxed process.

use codex_protocol::FileSystemAccess;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
enum Kind {
    Bind { read_only: bool },
    Tmpfs { perms: u32 },
    DataFile { perms: u32 },
    Special,
}

#[derive(Debug, Clone)]
struct Mount {
    dest: PathBuf,
    kind: Kind,
    read_only: bool,
}

#[derive(Debug, Clone)]
struct Dir {
    path: PathBuf,
    perms: u32,
}

/// The mounts and placeholder directories, in the order bwrap makes them.
#[derive(Debug, Default)]
pub struct MountModel {
    mounts: Vec<Mount>,
    dirs: Vec<Dir>,
    /// `--symlink TARGET LINK`: (link, target).
    links: Vec<(PathBuf, PathBuf)>,
}

impl MountModel {
    /// Replays bwrap arguments (without the command).
    pub fn replay(args: &[String]) -> Self {
        let mut model = MountModel::default();
        let mut perms: Option<u32> = None;
        let mut i = 0;
        let arg = |i: usize| args[i].as_str();
        while i < args.len() {
            match arg(i) {
                "--new-session" | "--die-with-parent" | "--unshare-user" | "--unshare-pid"
                | "--unshare-ipc" | "--unshare-net" => i += 1,
                "--cap-drop" => i += 2,
                "--perms" => {
                    perms = Some(u32::from_str_radix(arg(i + 1), 8).expect("octal perms"));
                    i += 2;
                }
                flag @ ("--bind" | "--ro-bind") => {
                    assert_eq!(arg(i + 1), arg(i + 2), "binds map a path onto itself");
                    let read_only = flag == "--ro-bind";
                    model.mounts.push(Mount {
                        dest: PathBuf::from(arg(i + 2)),
                        kind: Kind::Bind { read_only },
                        read_only,
                    });
                    i += 3;
                }
                "--tmpfs" => {
                    let perms = perms.take().unwrap_or(0o755);
                    model.mounts.push(Mount {
                        dest: PathBuf::from(arg(i + 1)),
                        kind: Kind::Tmpfs { perms },
                        read_only: false,
                    });
                    i += 2;
                }
                "--dir" => {
                    let perms = perms.take().unwrap_or(0o755);
                    model.dirs.push(Dir {
                        path: PathBuf::from(arg(i + 1)),
                        perms,
                    });
                    i += 2;
                }
                "--ro-bind-data" => {
                    let perms = perms.take().unwrap_or(0o644);
                    model.mounts.push(Mount {
                        dest: PathBuf::from(arg(i + 2)),
                        kind: Kind::DataFile { perms },
                        read_only: true,
                    });
                    i += 3;
                }
                "--remount-ro" => {
                    let dest = Path::new(arg(i + 1));
                    let mount = model
                        .mounts
                        .iter_mut()
                        .rev()
                        .find(|m| m.dest == dest)
                        .expect("remount of a mount point");
                    mount.read_only = true;
                    i += 2;
                }
                "--symlink" => {
                    model
                        .links
                        .push((PathBuf::from(arg(i + 2)), PathBuf::from(arg(i + 1))));
                    i += 3;
                }
                "--dev" | "--proc" => {
                    model.mounts.push(Mount {
                        dest: PathBuf::from(arg(i + 1)),
                        kind: Kind::Special,
                        read_only: false,
                    });
                    i += 2;
                }
                other => panic!("argument the model does not know: {other}"),
            }
        }
        model
    }

    /// The mount that shows at `path`: the last one made over it.
    fn mount_at(&self, path: &Path) -> &Mount {
        self.mounts
            .iter()
            .rev()
            .find(|m| path.starts_with(&m.dest))
            .expect("/ is always mounted")
    }

    /// Permission bits of `path` if it is a tmpfs root or a placeholder directory inside the
    /// mount that shows there.
    fn dir_perms(&self, path: &Path) -> Option<u32> {
        let mount = self.mount_at(path);
        match mount.kind {
            Kind::Tmpfs { perms } if mount.dest == path => Some(perms),
            Kind::Tmpfs { .. } => self
                .dirs
                .iter()
                .rev()
                .find(|d| d.path == path)
                .map(|d| d.perms),
            _ => None,
        }
    }

    pub fn access(&self, path: &Path) -> FileSystemAccess {
        for (link, target) in &self.links {
            if let Ok(rest) = path.strip_prefix(link) {
                return self.access(&target.join(rest));
            }
        }
        // Every directory on the way must be traversable.
        for ancestor in path.ancestors().skip(1) {
            if let Kind::DataFile { .. } = self.mount_at(ancestor).kind {
                return FileSystemAccess::None;
            }
            if let Some(perms) = self.dir_perms(ancestor)
                && perms & 0o111 == 0
            {
                return FileSystemAccess::None;
            }
        }
        let mount = self.mount_at(path);
        let writable = |read_only: bool| {
            if read_only {
                FileSystemAccess::Read
            } else {
                FileSystemAccess::Write
            }
        };
        match mount.kind {
            Kind::Special => panic!("/dev and /proc are not compared"),
            Kind::Bind { read_only } => writable(read_only || mount.read_only),
            Kind::DataFile { perms } => {
                if mount.dest == path && perms & 0o444 != 0 {
                    FileSystemAccess::Read
                } else {
                    FileSystemAccess::None
                }
            }
            Kind::Tmpfs { .. } => {
                // The nearest directory at or above `path` inside this tmpfs decides.
                let perms = path
                    .ancestors()
                    .take_while(|a| a.starts_with(&mount.dest))
                    .find_map(|a| self.dir_perms(a))
                    .expect("the tmpfs root has perms");
                if perms & 0o444 != 0 {
                    writable(mount.read_only)
                } else {
                    FileSystemAccess::None
                }
            }
        }
    }
}
