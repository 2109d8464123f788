//! Fuzzes the patch parser and the shell-command recogniser: any input must give a value or
//! an error, never a panic.
#![no_main]

use codex_apply_patch::invocation::maybe_parse_apply_patch;
use codex_apply_patch::parse_patch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_patch(text);
    let _ = maybe_parse_apply_patch(&["bash".to_string(), "-lc".to_string(), text.to_string()]);
});
