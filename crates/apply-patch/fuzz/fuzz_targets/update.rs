//! Fuzzes locating and applying Update chunks: the input is `FILE \0 CHUNKS`; whatever it is,
//! applying must give new text or an error, never a panic.
#![no_main]

use codex_apply_patch::{Hunk, apply_update, parse_patch};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (file, chunks) = text.split_once('\0').unwrap_or(("", text));
    let patch = format!("*** Begin Patch\n*** Update File: f\n{chunks}\n*** End Patch");
    if let Ok(parsed) = parse_patch(&patch) {
        for hunk in &parsed.hunks {
            if let Hunk::Update { chunks, .. } = hunk {
                let _ = apply_update(Path::new("f"), file, chunks);
            }
        }
    }
});
