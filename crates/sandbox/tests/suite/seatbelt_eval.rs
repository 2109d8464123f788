//! An evaluator for the Seatbelt subset we emit for files: `(allow file-read* / file-write* …)`
//! with `subpath`, `literal`, `regex`, `require-all`, `require-any`, `require-not` and
//! `(param "NAME")`. Anything else in a file clause fails the test.

use codex_protocol::FileSystemAccess;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Atom(String),
    Str(String),
    Regex(String),
    List(Vec<Expr>),
}

fn parse_all(text: &str) -> Vec<Expr> {
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0;
    let mut out = Vec::new();
    while let Some(expr) = parse(&chars, &mut pos) {
        out.push(expr);
    }
    out
}

fn skip_space(chars: &[char], pos: &mut usize) {
    while *pos < chars.len() {
        if chars[*pos] == ';' {
            while *pos < chars.len() && chars[*pos] != '\n' {
                *pos += 1;
            }
        } else if chars[*pos].is_whitespace() {
            *pos += 1;
        } else {
            break;
        }
    }
}

fn parse_string(chars: &[char], pos: &mut usize) -> String {
    assert_eq!(chars[*pos], '"');
    *pos += 1;
    let mut s = String::new();
    while chars[*pos] != '"' {
        if chars[*pos] == '\\' {
            *pos += 1;
        }
        s.push(chars[*pos]);
        *pos += 1;
    }
    *pos += 1;
    s
}

fn parse(chars: &[char], pos: &mut usize) -> Option<Expr> {
    skip_space(chars, pos);
    if *pos >= chars.len() {
        return None;
    }
    match chars[*pos] {
        '(' => {
            *pos += 1;
            let mut items = Vec::new();
            loop {
                skip_space(chars, pos);
                if chars[*pos] == ')' {
                    *pos += 1;
                    return Some(Expr::List(items));
                }
                items.push(parse(chars, pos).expect("unterminated list"));
            }
        }
        '"' => Some(Expr::Str(parse_string(chars, pos))),
        '#' if chars.get(*pos + 1) == Some(&'"') => {
            *pos += 1;
            Some(Expr::Regex(parse_string(chars, pos)))
        }
        _ => {
            let start = *pos;
            while *pos < chars.len()
                && !chars[*pos].is_whitespace()
                && chars[*pos] != '('
                && chars[*pos] != ')'
            {
                *pos += 1;
            }
            Some(Expr::Atom(chars[start..*pos].iter().collect()))
        }
    }
}

/// File clauses of a profile, ready to evaluate.
pub struct Profile {
    reads: Vec<Option<Expr>>,
    writes: Vec<Option<Expr>>,
    params: HashMap<String, String>,
}

impl Profile {
    pub fn new(text: &str, params: &[(String, String)]) -> Self {
        let mut profile = Profile {
            reads: Vec::new(),
            writes: Vec::new(),
            params: params.iter().cloned().collect(),
        };
        for expr in parse_all(text) {
            let Expr::List(items) = expr else { continue };
            if items.first() != Some(&Expr::Atom("allow".into())) {
                if items.first() == Some(&Expr::Atom("deny".into())) {
                    assert_eq!(
                        items.get(1),
                        Some(&Expr::Atom("default".into())),
                        "only (deny default) is expected"
                    );
                }
                continue;
            }
            let ops: Vec<&str> = items[1..]
                .iter()
                .filter_map(|i| match i {
                    Expr::Atom(a) => Some(a.as_str()),
                    _ => None,
                })
                .collect();
            let filters: Vec<Expr> = items[1..]
                .iter()
                .filter(|i| matches!(i, Expr::List(_)))
                .cloned()
                .collect();
            // Several filters in one clause: any of them allows.
            let filter = match filters.len() {
                0 => None,
                1 => Some(filters[0].clone()),
                _ => Some(Expr::List(
                    std::iter::once(Expr::Atom("require-any".into()))
                        .chain(filters)
                        .collect(),
                )),
            };
            if ops.contains(&"file-read*") {
                profile.reads.push(filter.clone());
            }
            if ops.contains(&"file-write*") {
                profile.writes.push(filter);
            }
        }
        profile
    }

    fn value(&self, expr: &Expr) -> String {
        match expr {
            Expr::Str(s) => s.clone(),
            Expr::List(items) if items.first() == Some(&Expr::Atom("param".into())) => {
                let Expr::Str(name) = &items[1] else {
                    panic!("param name")
                };
                self.params
                    .get(name)
                    .unwrap_or_else(|| panic!("undefined param {name}"))
                    .clone()
            }
            other => panic!("not a path value: {other:?}"),
        }
    }

    fn matches(&self, filter: &Expr, path: &str) -> bool {
        let Expr::List(items) = filter else {
            panic!("filter {filter:?}")
        };
        let Expr::Atom(head) = &items[0] else {
            panic!("filter head {filter:?}")
        };
        match head.as_str() {
            "subpath" => {
                let base = self.value(&items[1]);
                Path::new(path).starts_with(&base)
            }
            "literal" => self.value(&items[1]) == path,
            "regex" => {
                let Expr::Regex(pattern) = &items[1] else {
                    panic!("regex literal")
                };
                regex::Regex::new(pattern).unwrap().is_match(path)
            }
            "require-all" => items[1..].iter().all(|f| self.matches(f, path)),
            "require-any" => items[1..].iter().any(|f| self.matches(f, path)),
            "require-not" => !self.matches(&items[1], path),
            "vnode-type" => true,
            other => panic!("filter the evaluator does not know: {other}"),
        }
    }

    fn allows(&self, clauses: &[Option<Expr>], path: &str) -> bool {
        clauses.iter().any(|f| match f {
            None => true,
            Some(filter) => self.matches(filter, path),
        })
    }

    pub fn access(&self, path: &Path) -> FileSystemAccess {
        let path = path.to_str().unwrap();
        let read = self.allows(&self.reads, path);
        let write = self.allows(&self.writes, path);
        match (read, write) {
            (_, true) => {
                assert!(read, "{path}: writable but not readable");
                FileSystemAccess::Write
            }
            (true, false) => FileSystemAccess::Read,
            (false, false) => FileSystemAccess::None,
        }
    }
}
