//! Finding a chunk's lines in a file: a ladder of ever more forgiving comparisons, each tried
//! over the whole search range before the next, so an exact match later in the file beats a
//! fuzzy one earlier.
//!
//! Levels: exact; trailing whitespace ignored; surrounding whitespace ignored; surrounding
//! whitespace ignored and typographic punctuation read as ASCII. Inner whitespace and case are
//! never forgiven.
//!
//! Cost: a level first scans a short window after the cursor directly; past it, the level's
//! lines are interned once into integer ids with a position list per distinct line, and a search
//! only visits the positions of the pattern's rarest line. A patch with many chunks over a large
//! file therefore stays linear in the file size, even when every chunk needs a fuzzy level.

use rustc_hash::FxHashMap;
use std::borrow::Cow;

/// How forgiving a comparison is, from strict to lenient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Exact,
    TrimEnd,
    Trim,
    Punctuation,
}

const LEVELS: [Level; 4] = [
    Level::Exact,
    Level::TrimEnd,
    Level::Trim,
    Level::Punctuation,
];

/// Start positions scanned directly before a level falls back to its index.
const DIRECT_WINDOW: usize = 256;

/// The form of `line` that `level` compares.
pub(crate) fn normalize(level: Level, line: &str) -> Cow<'_, str> {
    match level {
        Level::Exact => Cow::Borrowed(line),
        Level::TrimEnd => Cow::Borrowed(line.trim_end()),
        Level::Trim => Cow::Borrowed(line.trim()),
        Level::Punctuation => {
            let trimmed = line.trim();
            if trimmed.chars().all(|c| ascii_equivalent(c) == c) {
                Cow::Borrowed(trimmed)
            } else {
                Cow::Owned(trimmed.chars().map(ascii_equivalent).collect())
            }
        }
    }
}

/// Typographic dashes, quotes and spaces that models emit in place of ASCII.
fn ascii_equivalent(c: char) -> char {
    match c {
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}'
        | '\u{2212}' => '-',
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' => '\'',
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' => '"',
        '\u{00A0}' | '\u{2002}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => ' ',
        other => other,
    }
}

/// One level's view of the file: each line as an id, and where each id occurs (positions of
/// id `k` are `positions[offsets[k]..offsets[k + 1]]`, ascending).
struct LevelIndex<'a> {
    ids_by_key: FxHashMap<Cow<'a, str>, u32>,
    line_ids: Vec<u32>,
    offsets: Vec<u32>,
    positions: Vec<u32>,
}

impl<'a> LevelIndex<'a> {
    fn build(level: Level, lines: &[&'a str]) -> Self {
        let mut ids_by_key: FxHashMap<Cow<'a, str>, u32> =
            FxHashMap::with_capacity_and_hasher(lines.len(), Default::default());
        let mut line_ids = Vec::with_capacity(lines.len());
        for line in lines {
            let next = ids_by_key.len() as u32;
            line_ids.push(*ids_by_key.entry(normalize(level, line)).or_insert(next));
        }
        let mut offsets = vec![0u32; ids_by_key.len() + 1];
        for &id in &line_ids {
            offsets[id as usize + 1] += 1;
        }
        for k in 1..offsets.len() {
            offsets[k] += offsets[k - 1];
        }
        let mut fill = offsets.clone();
        let mut positions = vec![0u32; line_ids.len()];
        for (i, &id) in line_ids.iter().enumerate() {
            positions[fill[id as usize] as usize] = i as u32;
            fill[id as usize] += 1;
        }
        LevelIndex {
            ids_by_key,
            line_ids,
            offsets,
            positions,
        }
    }

    fn occurrences(&self, id: u32) -> &[u32] {
        &self.positions[self.offsets[id as usize] as usize..self.offsets[id as usize + 1] as usize]
    }
}

/// Searches one file's lines; indexes are built on first need and reused across chunks.
pub(crate) struct Matcher<'a> {
    lines: Vec<&'a str>,
    indexes: [Option<LevelIndex<'a>>; 4],
}

impl<'a> Matcher<'a> {
    pub fn new(lines: Vec<&'a str>) -> Self {
        Matcher {
            lines,
            indexes: [None, None, None, None],
        }
    }

    pub fn lines(&self) -> &[&'a str] {
        &self.lines
    }

    /// The first start `s >= from` where `pattern` matches, trying each level over the whole
    /// range before the next. With `prefer_end`, a match that ends at the last line is tried
    /// first (through every level), then the ordinary search.
    pub fn find(&mut self, pattern: &[&str], from: usize, prefer_end: bool) -> Option<usize> {
        let (n, len) = (pattern.len(), self.lines.len());
        if n == 0 {
            return Some(if prefer_end { len } else { from.min(len) });
        }
        if n > len {
            return None;
        }
        if prefer_end && len - n >= from {
            let start = len - n;
            if LEVELS
                .iter()
                .any(|&level| self.matches_at(level, pattern, start))
            {
                return Some(start);
            }
        }
        LEVELS
            .iter()
            .find_map(|&level| self.search(level, pattern, from))
    }

    fn matches_at(&self, level: Level, pattern: &[&str], start: usize) -> bool {
        pattern
            .iter()
            .zip(&self.lines[start..start + pattern.len()])
            .all(|(p, l)| level_eq(level, p, l))
    }

    fn search(&mut self, level: Level, pattern: &[&str], from: usize) -> Option<usize> {
        let (n, len) = (pattern.len(), self.lines.len());
        let last_start = len.checked_sub(n)?;
        if from > last_start {
            return None;
        }
        let window_end = last_start.min(from.saturating_add(DIRECT_WINDOW));
        if let Some(start) =
            (from..=window_end).find(|&start| self.matches_at(level, pattern, start))
        {
            return Some(start);
        }
        if window_end == last_start {
            return None;
        }
        let lines = &self.lines;
        let index =
            self.indexes[level as usize].get_or_insert_with(|| LevelIndex::build(level, lines));
        let ids: Vec<u32> = pattern
            .iter()
            .map(|p| index.ids_by_key.get(normalize(level, p).as_ref()).copied())
            .collect::<Option<_>>()?;
        let (anchor, anchor_id) = ids
            .iter()
            .enumerate()
            .min_by_key(|(_, id)| index.occurrences(**id).len())
            .map(|(k, id)| (k, *id))?;
        let occurrences = index.occurrences(anchor_id);
        let begin = window_end + 1;
        let first = occurrences.partition_point(|&p| (p as usize) < begin + anchor);
        occurrences[first..]
            .iter()
            .map(|&p| p as usize - anchor)
            .take_while(|&start| start <= last_start)
            .find(|&start| index.line_ids[start..start + n] == ids[..])
    }

    /// The start position (anywhere in the file) where the most pattern lines agree at the most
    /// lenient level, preferring positions at or after `from`, then earlier ones. Used only to
    /// explain a failed search.
    pub fn closest(&self, pattern: &[&str], from: usize) -> Option<Candidate> {
        const MAX_COMPARISONS: usize = 20_000_000;
        let len = self.lines.len();
        if len == 0 || pattern.is_empty() {
            return None;
        }
        let considered = pattern.len().min((MAX_COMPARISONS / len).max(1));
        let pattern: Vec<Cow<'_, str>> = pattern[..considered]
            .iter()
            .map(|p| normalize(Level::Punctuation, p))
            .collect();
        let score = |start: usize| {
            pattern
                .iter()
                .zip(&self.lines[start..])
                .filter(|(p, l)| normalize(Level::Punctuation, l) == **p)
                .count()
        };
        let best_in = |range: std::ops::Range<usize>| {
            range
                .map(|start| (score(start), start))
                .filter(|(s, _)| *s > 0)
                .max_by_key(|(s, start)| (*s, std::cmp::Reverse(*start)))
        };
        let (agreeing, start) =
            best_in(from.min(len)..len).or_else(|| best_in(0..from.min(len)))?;
        let first_difference = pattern
            .iter()
            .zip(&self.lines[start..])
            .position(|(p, l)| normalize(Level::Punctuation, l) != *p)
            .or((start + pattern.len() > len).then(|| len - start));
        Some(Candidate {
            start,
            agreeing,
            first_difference,
        })
    }
}

/// Where a failed pattern came closest: 0-based `start`, how many lines agree, and the offset
/// within the pattern of the first line that does not (None when all considered lines agree).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub start: usize,
    pub agreeing: usize,
    pub first_difference: Option<usize>,
}

fn level_eq(level: Level, pattern: &str, line: &str) -> bool {
    match level {
        Level::Exact => pattern == line,
        Level::TrimEnd => pattern.trim_end() == line.trim_end(),
        Level::Trim => pattern.trim() == line.trim(),
        Level::Punctuation => normalize(level, pattern) == normalize(level, line),
    }
}

#[cfg(test)]
#[path = "seek_tests.rs"]
mod tests;
