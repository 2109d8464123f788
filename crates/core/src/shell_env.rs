//! The environment a command gets, from `[shell_environment_policy]`, in this order:
//! start from `inherit` (all, core or none); unless `ignore_default_excludes`, drop variables
//! whose names contain `KEY`, `SECRET` or `TOKEN` (any case); drop names matching `exclude`;
//! add `set`; when `include_only` is not empty, keep only names matching one of its patterns.
//! Patterns are case-insensitive globs with `*` and `?`.

use crate::config::{Inherit, ShellEnvironmentPolicy};
use std::collections::BTreeMap;

/// What `inherit = "core"` keeps.
pub const CORE_VARS: &[&str] = &[
    "HOME", "LOGNAME", "PATH", "SHELL", "USER", "USERNAME", "TMPDIR", "TEMP", "TMP", "LANG",
    "LC_ALL", "LC_CTYPE", "TERM", "TZ",
];

const DEFAULT_EXCLUDES: &[&str] = &["*KEY*", "*SECRET*", "*TOKEN*"];

/// Set when the sandbox has no network, so tools can tell.
pub const NETWORK_DISABLED_VAR: &str = "CODEX_SANDBOX_NETWORK_DISABLED";

/// The environment for a command, from `vars` (normally `std::env::vars()`).
pub fn command_env(
    policy: &ShellEnvironmentPolicy,
    vars: impl IntoIterator<Item = (String, String)>,
    network_disabled: bool,
) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = match policy.inherit {
        Inherit::All => vars.into_iter().collect(),
        Inherit::Core => vars
            .into_iter()
            .filter(|(name, _)| CORE_VARS.contains(&name.as_str()))
            .collect(),
        Inherit::None => BTreeMap::new(),
    };
    if !policy.ignore_default_excludes {
        env.retain(|name, _| !DEFAULT_EXCLUDES.iter().any(|p| matches(p, name)));
    }
    env.retain(|name, _| !policy.exclude.iter().any(|p| matches(p, name)));
    for (name, value) in &policy.set {
        env.insert(name.clone(), value.clone());
    }
    if !policy.include_only.is_empty() {
        env.retain(|name, _| policy.include_only.iter().any(|p| matches(p, name)));
    }
    if network_disabled {
        env.insert(NETWORK_DISABLED_VAR.into(), "1".into());
    }
    env
}

/// A case-insensitive glob with `*` (any run) and `?` (one character).
fn matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.to_ascii_uppercase().chars().collect();
    let name: Vec<char> = name.to_ascii_uppercase().chars().collect();
    // Iterative matching with backtracking to the last `*`.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, n));
            p += 1;
        } else if let Some((sp, sn)) = star {
            p = sp + 1;
            n = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vec<(String, String)> {
        [
            ("PATH", "/bin"),
            ("HOME", "/home/me"),
            ("OPENAI_API_KEY", "sk"),
            ("GITHUB_TOKEN", "gh"),
            ("aws_secret_access_key", "s"),
            ("AWS_REGION", "eu"),
            ("EDITOR", "vi"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn names(env: &BTreeMap<String, String>) -> Vec<&str> {
        env.keys().map(String::as_str).collect()
    }

    #[test]
    fn secrets_are_withheld_by_default() {
        let env = command_env(&ShellEnvironmentPolicy::default(), vars(), false);
        assert_eq!(names(&env), vec!["AWS_REGION", "EDITOR", "HOME", "PATH"]);
        let keep = ShellEnvironmentPolicy {
            ignore_default_excludes: true,
            ..Default::default()
        };
        assert_eq!(command_env(&keep, vars(), false).len(), 7);
    }

    #[test]
    fn the_steps_in_order() {
        let policy = ShellEnvironmentPolicy {
            inherit: Inherit::Core,
            exclude: vec!["h?me".into()],
            set: [
                ("CI".to_string(), "1".to_string()),
                ("MY_TOKEN".to_string(), "set wins".to_string()),
            ]
            .into_iter()
            .collect(),
            ..Default::default()
        };
        let env = command_env(&policy, vars(), true);
        assert_eq!(
            names(&env),
            vec!["CI", NETWORK_DISABLED_VAR, "MY_TOKEN", "PATH"]
        );
        let only = ShellEnvironmentPolicy {
            include_only: vec!["p*".into(), "*region".into()],
            ..Default::default()
        };
        assert_eq!(
            names(&command_env(&only, vars(), false)),
            vec!["AWS_REGION", "PATH"]
        );
        let none = ShellEnvironmentPolicy {
            inherit: Inherit::None,
            ..Default::default()
        };
        assert!(command_env(&none, vars(), false).is_empty());
    }

    #[test]
    fn globs() {
        for (pattern, name, expected) in [
            ("*", "", true),
            ("*KEY*", "OPENAI_API_KEY", true),
            ("*KEY*", "KEYS", true),
            ("*KEY*", "MONKEY_BUSINESS", true),
            ("A?C", "abc", true),
            ("A?C", "ac", false),
            ("A*B*C", "AxxBxxC", true),
            ("A*B*C", "AxxCxxB", false),
            ("PATH", "PATHS", false),
        ] {
            assert_eq!(matches(pattern, name), expected, "{pattern} vs {name}");
        }
    }
}
