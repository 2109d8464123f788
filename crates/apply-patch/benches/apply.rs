//! Criterion benchmarks of the engine on large files: parse + locate + compute every change
//! (no disk writes), for patches whose chunks match exactly and ones that need the
//! whitespace-forgiving level. Sizes double to show growth is linear in the file size.
//!
//! `cargo bench -p codex-apply-patch`. Whole-process timings against the reference CLI:
//! `scripts/bench-apply-patch`.

use codex_apply_patch::{compute_plan, parse_patch};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;

/// Lines of a synthetic source file: mostly unique, with the repetition real code has.
fn source_line(i: usize) -> String {
    match i % 10 {
        0 => format!("fn function_{i}(arg: usize) -> usize {{"),
        1 => format!("    let value_{i} = arg * {i};"),
        2 | 7 => "".to_string(),
        3 => "    if value > 10 {".to_string(),
        4 => format!("        return value_{} + 1;", i - 3),
        5 => "    }".to_string(),
        6 => format!("    value_{}", i - 5),
        8 => "}".to_string(),
        _ => format!("// comment {i}"),
    }
}

/// A file of `lines` lines and a patch with one chunk every 100 lines. `fuzzy` adds trailing
/// spaces to the patch's context lines so each chunk is found only by the second level.
fn workload(lines: usize, fuzzy: bool) -> (String, String) {
    let file: String = (0..lines).map(|i| source_line(i) + "\n").collect();
    let mut patch = String::from("*** Begin Patch\n*** Update File: big.rs\n");
    let pad = if fuzzy { "  " } else { "" };
    for chunk in 0..lines / 100 {
        let target = chunk * 100 + 41; // `let value_N = arg * N;`
        patch.push_str("@@\n");
        for i in target - 3..target {
            patch.push_str(&format!(" {}{pad}\n", source_line(i)));
        }
        patch.push_str(&format!(
            "-{}\n+{}\n",
            source_line(target),
            source_line(target).replace('*', "+")
        ));
        for i in target + 1..target + 4 {
            patch.push_str(&format!(" {}{pad}\n", source_line(i)));
        }
    }
    patch.push_str("*** End Patch\n");
    (file, patch)
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("compute_plan");
    group.sample_size(20);
    for fuzzy in [false, true] {
        for lines in [12_500, 25_000, 50_000, 100_000] {
            let (file, patch) = workload(lines, fuzzy);
            std::fs::write(dir.path().join("big.rs"), &file).unwrap();
            let name = if fuzzy { "whitespace_fuzzy" } else { "exact" };
            group.throughput(Throughput::Elements(lines as u64));
            group.bench_with_input(BenchmarkId::new(name, lines), &patch, |b, patch| {
                b.iter(|| {
                    let parsed = parse_patch(black_box(patch)).unwrap();
                    black_box(compute_plan(&parsed, Path::new(dir.path())).unwrap())
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
