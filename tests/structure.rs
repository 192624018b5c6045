//! The shape of the source tree: no Rust source file of the repository's
//! crates over 1,200 lines, and no import circle, neither between files
//! nor between the top-level modules of a crate.
//!
//! The import graph is read from the sources, not from the compiler: each
//! crate's module tree is followed from its root (`mod x;` declarations),
//! and every path that names a module of the crate makes an edge from the
//! file it is written in to the file of the deepest module it names. The
//! paths read are those of `use` items (groups, `self`, renames) and
//! those in code that start with `crate::`, `self::`, `super::`, a child
//! module's name or a name a `use` item of the file brought in. A name a
//! module re-exports (`pub use a::b::Item;` in `mod.rs`) is followed to
//! the file it comes from, and the `pub use` itself makes no edge: a
//! facade that only re-exports its children depends on none of them.
//! Paths to other crates (`std::`, `mswap::` from the binary,
//! `mswap_verify::`) make no edge. Code under `#[cfg(test)]` (unit tests)
//! is left out: it ships in no build and may use its module's neighbours.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest a source file may be.
const MAX_LINES: usize = 1_200;

/// The repository.
fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The source folders of the repository's crates that exist (the whole
/// verifier crate, which may not be there yet).
fn source_dirs() -> Vec<PathBuf> {
    ["src", "verify", "evm/src", "guest/src"]
        .iter()
        .map(|d| repo().join(d))
        .filter(|d| d.is_dir())
        .collect()
}

/// The crate roots whose import graphs are checked (those that exist).
fn crate_roots() -> Vec<PathBuf> {
    [
        "src/lib.rs",
        "src/main.rs",
        "verify/src/lib.rs",
        "evm/src/lib.rs",
        "evm/src/main.rs",
        "guest/src/lib.rs",
    ]
    .iter()
    .map(|f| repo().join(f))
    .filter(|f| f.is_file())
    .collect()
}

/// Every `.rs` file below `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        for e in entries {
            let p = e.expect("a directory entry").path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `path` relative to the repository, for messages.
fn rel(path: &Path) -> String {
    path.strip_prefix(repo())
        .unwrap_or(path)
        .display()
        .to_string()
}

// ------------------------------------------------------------------ lexer

/// A token of Rust source, with comments, strings and characters gone.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    /// An identifier or keyword (raw identifiers without their `r#`).
    Ident(String),
    /// `::`.
    Path,
    /// Any other punctuation character.
    Punct(char),
    /// A literal (string, character, number).
    Lit,
}

/// The tokens of `src`.
fn lex(src: &str) -> Vec<Tok> {
    let b: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| b.get(i).copied().unwrap_or('\0');
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            // Block comments nest.
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            i = skip_string(&b, i + 1);
            out.push(Tok::Lit);
        } else if (c == 'r' || c == 'b') && raw_string_start(&b, i).is_some() {
            let (hashes, open) = raw_string_start(&b, i).unwrap_or_default();
            // After the opening quote: the end is a quote and as many `#`.
            let mut j = open + 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (1..=hashes).all(|k| at(j + k) == '#') {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            i = j;
            out.push(Tok::Lit);
        } else if c == 'b' && at(i + 1) == '"' {
            i = skip_string(&b, i + 2);
            out.push(Tok::Lit);
        } else if c == 'b' && at(i + 1) == '\'' {
            i = skip_char(&b, i + 1);
            out.push(Tok::Lit);
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if at(i + 1) == '\\' || at(i + 2) == '\'' {
                i = skip_char(&b, i);
                out.push(Tok::Lit);
            } else {
                i += 1;
                while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                    i += 1;
                }
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            let mut word: String = b[start..i].iter().collect();
            if word == "r" && at(i) == '#' {
                // A raw identifier, r#type.
                i += 1;
                let s = i;
                while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                    i += 1;
                }
                word = b[s..i].iter().collect();
            }
            out.push(Tok::Ident(word));
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_' || b[i] == '.') {
                // `1..2` is a range, not a number.
                if b[i] == '.' && at(i + 1) == '.' {
                    break;
                }
                i += 1;
            }
            out.push(Tok::Lit);
        } else if c == ':' && at(i + 1) == ':' {
            out.push(Tok::Path);
            i += 2;
        } else {
            out.push(Tok::Punct(c));
            i += 1;
        }
    }
    out
}

/// The index after a string's closing quote (`i`: after the opening one).
fn skip_string(b: &[char], mut i: usize) -> usize {
    while i < b.len() {
        match b[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// The index after a character literal starting at the quote `i`.
fn skip_char(b: &[char], mut i: usize) -> usize {
    i += 1;
    while i < b.len() {
        match b[i] {
            '\\' => i += 2,
            '\'' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// For a raw string starting at `i` (`r"`, `r#"`, `br##"`...): the number
/// of `#` and the index of the opening quote.
fn raw_string_start(b: &[char], i: usize) -> Option<(usize, usize)> {
    let mut j = i;
    if b.get(j) == Some(&'b') {
        j += 1;
    }
    if b.get(j) != Some(&'r') {
        return None;
    }
    // Not the tail of an identifier such as `bar"`.
    if i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_') {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while b.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    (b.get(j) == Some(&'"')).then_some((hashes, j))
}

// ----------------------------------------------------------------- parser

/// A path as written, by segments (an empty first one: it starts with `::`).
type Segs = Vec<String>;

/// What one file says: the modules it declares, its `use` items and the
/// other paths of its code, each under the inline module (names below the
/// file's module) it is written in.
#[derive(Default, Debug)]
struct FileSyntax {
    /// `mod x;` declarations: inline module, name.
    mods: Vec<(Segs, String)>,
    /// `use` items: inline module, the path, the name it brings in (None
    /// for a glob), and whether it is `pub` (in any form).
    uses: Vec<(Segs, Segs, Option<String>, bool)>,
    /// Paths in code: inline module, the path.
    paths: Vec<(Segs, Segs)>,
    /// The inline modules (`mod x { ... }`), as paths below the file's.
    inline: Vec<Segs>,
}

/// Whether the tokens at `i` are the attribute `#[cfg(test)]`.
fn is_cfg_test(t: &[Tok], i: usize) -> bool {
    let want = [
        Tok::Punct('#'),
        Tok::Punct('['),
        Tok::Ident("cfg".into()),
        Tok::Punct('('),
        Tok::Ident("test".into()),
        Tok::Punct(')'),
        Tok::Punct(']'),
    ];
    t.get(i..i + want.len()) == Some(&want[..])
}

/// The index after the item starting at `i`: up to its `;` or past its
/// balanced `{...}`, whichever comes first.
fn skip_item(t: &[Tok], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < t.len() {
        match &t[i] {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            Tok::Punct(';') if depth == 0 => return i + 1,
            _ => {}
        }
        i += 1;
    }
    i
}

/// Reads the use tree at `i` (after `use`) into `out` as (path, name
/// brought in); returns the index after it.
fn use_tree(
    t: &[Tok],
    mut i: usize,
    prefix: &Segs,
    out: &mut Vec<(Segs, Option<String>)>,
) -> usize {
    let mut path = prefix.clone();
    if t.get(i) == Some(&Tok::Path) {
        // `use ::x`: another crate.
        path.push(String::new());
        i += 1;
    }
    loop {
        match t.get(i) {
            Some(Tok::Ident(w)) => {
                path.push(w.clone());
                i += 1;
                if t.get(i) == Some(&Tok::Path) {
                    i += 1;
                    continue;
                }
                let mut name = path.last().cloned();
                if t.get(i) == Some(&Tok::Ident("as".into())) {
                    name = match t.get(i + 1) {
                        Some(Tok::Ident(n)) => Some(n.clone()),
                        _ => None,
                    };
                    i += 2;
                }
                if path.last().is_some_and(|s| s == "self") {
                    path.pop();
                    if name.as_deref() == Some("self") {
                        name = path.last().cloned();
                    }
                }
                out.push((path, name));
                return i;
            }
            Some(Tok::Punct('*')) => {
                out.push((path, None));
                return i + 1;
            }
            Some(Tok::Punct('{')) => {
                i += 1;
                loop {
                    match t.get(i) {
                        Some(Tok::Punct('}')) => return i + 1,
                        Some(Tok::Punct(',')) => i += 1,
                        None => return i,
                        _ => i = use_tree(t, i, &path, out),
                    }
                }
            }
            _ => return i,
        }
    }
}

/// Reads one file's module declarations, `use` items and code paths.
fn parse(src: &str) -> FileSyntax {
    let t = lex(src);
    let mut f = FileSyntax::default();
    // The inline modules we are in, with the brace depth each opened at.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < t.len() {
        let here: Segs = inline.iter().map(|(n, _)| n.clone()).collect();
        if is_cfg_test(&t, i) {
            // Leave out the item the attribute is on.
            i = skip_item(&t, i + 7);
            continue;
        }
        match &t[i] {
            Tok::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Tok::Ident(w) if w == "mod" => match (t.get(i + 1), t.get(i + 2)) {
                (Some(Tok::Ident(name)), Some(Tok::Punct(';'))) => {
                    f.mods.push((here, name.clone()));
                    i += 3;
                }
                (Some(Tok::Ident(name)), Some(Tok::Punct('{'))) => {
                    depth += 1;
                    inline.push((name.clone(), depth));
                    let mut m = here;
                    m.push(name.clone());
                    f.inline.push(m);
                    i += 3;
                }
                _ => i += 1,
            },
            Tok::Ident(w) if w == "use" => {
                // `pub use`, `pub(crate) use`, `pub(in x) use`.
                let public = i > 0
                    && (t[i - 1] == Tok::Ident("pub".into())
                        || (t[i - 1] == Tok::Punct(')')
                            && t[..i]
                                .iter()
                                .rev()
                                .take(6)
                                .any(|x| *x == Tok::Ident("pub".into()))));
                let mut trees = Vec::new();
                i = use_tree(&t, i + 1, &Vec::new(), &mut trees);
                for (path, name) in trees {
                    f.uses.push((here.clone(), path, name, public));
                }
            }
            Tok::Ident(w) if t.get(i + 1) == Some(&Tok::Path) => {
                // The start of a path in code (not its middle, not `::x`).
                let starts = i == 0 || t[i - 1] != Tok::Path;
                let mut path = vec![w.clone()];
                let mut j = i + 1;
                while t.get(j) == Some(&Tok::Path) {
                    match t.get(j + 1) {
                        Some(Tok::Ident(s)) => {
                            path.push(s.clone());
                            j += 2;
                        }
                        _ => break,
                    }
                }
                if starts {
                    f.paths.push((here, path));
                }
                i = j;
            }
            _ => i += 1,
        }
    }
    f
}

// ----------------------------------------------------------------- graph

/// A module of a crate: its path below the crate root.
type ModPath = Vec<String>;

/// A crate's modules, with the file each is written in.
struct Crate {
    /// Module path to the file holding it (inline modules: their file).
    modules: BTreeMap<ModPath, PathBuf>,
    /// Each file's syntax and the module path of the file itself.
    files: BTreeMap<PathBuf, (ModPath, FileSyntax)>,
}

/// The folder where the children of the module in `file` live.
fn child_dir(file: &Path) -> PathBuf {
    let dir = file.parent().expect("a file has a folder").to_path_buf();
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if ["mod", "lib", "main"].contains(&stem.as_str()) {
        dir
    } else {
        dir.join(stem)
    }
}

/// Follows the module tree from `root`.
fn load_crate(root: &Path) -> Crate {
    let mut c = Crate {
        modules: BTreeMap::new(),
        files: BTreeMap::new(),
    };
    let mut todo = vec![(root.to_path_buf(), Vec::new())];
    while let Some((file, module)) = todo.pop() {
        let src = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", rel(&file)));
        let syntax = parse(&src);
        c.modules.insert(module.clone(), file.clone());
        for inline in &syntax.inline {
            let mut m = module.clone();
            m.extend(inline.iter().cloned());
            c.modules.insert(m, file.clone());
        }
        for (inline, name) in &syntax.mods {
            let mut dir = child_dir(&file);
            for n in inline {
                dir = dir.join(n);
            }
            let candidates = [
                dir.join(format!("{name}.rs")),
                dir.join(name).join("mod.rs"),
            ];
            let child = candidates
                .iter()
                .find(|p| p.is_file())
                .unwrap_or_else(|| {
                    panic!(
                        "{}: no file for `mod {name};` ({})",
                        rel(&file),
                        rel(&candidates[0])
                    )
                })
                .clone();
            let mut m = module.clone();
            m.extend(inline.iter().cloned());
            m.push(name.clone());
            todo.push((child, m));
        }
        c.files.insert(file, (module, syntax));
    }
    c
}

impl Crate {
    /// The module a path written in module `at` starts from, and the rest
    /// of the path; `None` for a path into another crate or a local item.
    fn start<'p>(
        &self,
        at: &ModPath,
        file: &Path,
        path: &'p [String],
        hops: usize,
    ) -> Option<(ModPath, &'p [String])> {
        let first = path.first()?;
        match first.as_str() {
            "" => None,
            "crate" => Some((Vec::new(), &path[1..])),
            "self" => Some((at.clone(), &path[1..])),
            "super" => {
                let mut m = at.clone();
                let mut rest = path;
                while rest.first().is_some_and(|s| s == "super") {
                    m.pop()?;
                    rest = &rest[1..];
                }
                Some((m, rest))
            }
            name => {
                let mut child = at.clone();
                child.push(name.to_string());
                if self.modules.contains_key(&child) {
                    return Some((child, &path[1..]));
                }
                // A name a `use` of this file brought in.
                let (file_mod, syntax) = self.files.get(file)?;
                for (inline, target, brought, _) in &syntax.uses {
                    let mut m = file_mod.clone();
                    m.extend(inline.iter().cloned());
                    if &m == at && brought.as_deref() == Some(name) && target.first() != Some(first)
                    {
                        let mut whole = target.clone();
                        whole.extend(path[1..].iter().cloned());
                        let end = self.resolve(at, file, &whole, hops + 1)?;
                        return Some((end, &[]));
                    }
                }
                None
            }
        }
    }

    /// The deepest module of this crate `path` (written in module `at` of
    /// `file`) names, following re-exports; `None` if it leaves the crate.
    fn resolve(&self, at: &ModPath, file: &Path, path: &[String], hops: usize) -> Option<ModPath> {
        if hops > 16 {
            return None;
        }
        let (mut m, mut rest) = self.start(at, file, path, hops)?;
        while let Some(seg) = rest.first() {
            let mut child = m.clone();
            child.push(seg.clone());
            if self.modules.contains_key(&child) {
                m = child;
                rest = &rest[1..];
                continue;
            }
            // A name module `m` re-exports: where it comes from.
            let holder = self.modules.get(&m)?;
            let (file_mod, syntax) = self.files.get(holder)?;
            let reexport = syntax.uses.iter().find(|(inline, _, brought, public)| {
                let mut here = file_mod.clone();
                here.extend(inline.iter().cloned());
                *public && here == m && brought.as_deref() == Some(seg.as_str())
            });
            let Some((_, target, _, _)) = reexport else {
                break;
            };
            let mut whole = target.clone();
            whole.extend(rest[1..].iter().cloned());
            return self.resolve(&m, holder, &whole, hops + 1);
        }
        Some(m)
    }

    /// The file-to-file edges of the crate (no self-edges).
    fn edges(&self) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
        let mut out: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
        for (file, (module, syntax)) in &self.files {
            // A re-export (`pub use`) is no edge of its own: the paths
            // through it are followed to where they lead.
            let all = syntax
                .uses
                .iter()
                .filter(|(_, _, _, public)| !public)
                .map(|(inline, path, _, _)| (inline, path))
                .chain(syntax.paths.iter().map(|(inline, path)| (inline, path)));
            let to_set = out.entry(file.clone()).or_default();
            for (inline, path) in all {
                let mut at = module.clone();
                at.extend(inline.iter().cloned());
                let to = self.resolve(&at, file, path, 0);
                if let Some(to) = to.and_then(|m| self.modules.get(&m))
                    && to != file
                {
                    to_set.insert(to.clone());
                }
            }
        }
        out
    }
}

/// The circles of `graph`: for each node on one (in a strongly connected
/// part of more than one node), the shortest circle from it back to it,
/// as its nodes; each circle once, from its smallest node. Every node on
/// a circle is named, and the list stays as long as the graph is large.
fn cycles<N: Ord + Clone>(graph: &BTreeMap<N, BTreeSet<N>>) -> Vec<Vec<N>> {
    let mut found: BTreeSet<Vec<N>> = BTreeSet::new();
    for start in graph.keys() {
        // Breadth first from `start`: the shortest way back to it.
        let mut prev: BTreeMap<N, N> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start.clone()]);
        let mut back = None;
        'search: while let Some(node) = queue.pop_front() {
            for next in graph.get(&node).into_iter().flatten() {
                if next == start {
                    back = Some(node.clone());
                    break 'search;
                }
                if !prev.contains_key(next) {
                    prev.insert(next.clone(), node.clone());
                    queue.push_back(next.clone());
                }
            }
        }
        let Some(mut node) = back else { continue };
        let mut circle = vec![start.clone()];
        while &node != start {
            circle.push(node.clone());
            node = prev[&node].clone();
        }
        circle.reverse();
        // From the smallest node, and back to it.
        let first = (0..circle.len())
            .min_by(|&i, &j| circle[i].cmp(&circle[j]))
            .unwrap_or(0);
        circle.rotate_left(first);
        circle.push(circle[0].clone());
        found.insert(circle);
    }
    found.into_iter().collect()
}

/// The files over [`MAX_LINES`], with their lengths.
fn long_files() -> Vec<String> {
    let mut out = Vec::new();
    for dir in source_dirs() {
        for f in rust_files(&dir) {
            let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", rel(&f)));
            // A generated file (`// @generated` on its first line, the
            // marker rustfmt also honours) is split by its generator's
            // shape, not by hand; its generator is held to the limit.
            if text.lines().next() == Some("// @generated") {
                continue;
            }
            let n = text.lines().count();
            if n > MAX_LINES {
                out.push(format!("{}: {n} lines", rel(&f)));
            }
        }
    }
    out
}

/// The circles of every crate: between files, and between the top-level
/// modules of the crate (a file's top-level module: the first segment of
/// its module path; the crate root is none of them).
fn import_circles() -> Vec<String> {
    let mut out = Vec::new();
    for root in crate_roots() {
        let c = load_crate(&root);
        let edges = c.edges();
        for cycle in cycles(&edges) {
            let names: Vec<String> = cycle.iter().map(|f| rel(f)).collect();
            out.push(format!("files: {}", names.join(" -> ")));
        }
        let top = |f: &PathBuf| c.files[f].0.first().cloned();
        let mut modules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, tos) in &edges {
            let Some(a) = top(from) else { continue };
            for to in tos {
                match top(to) {
                    Some(b) if b != a => {
                        modules.entry(a.clone()).or_default().insert(b);
                    }
                    _ => {}
                }
            }
        }
        for cycle in cycles(&modules) {
            out.push(format!(
                "top-level modules of {}: {}",
                rel(&root),
                cycle.join(" -> ")
            ));
        }
    }
    out
}

#[test]
fn no_source_file_is_over_1200_lines() {
    let long = long_files();
    assert!(
        long.is_empty(),
        "source files over {MAX_LINES} lines (split them by role):\n  {}",
        long.join("\n  ")
    );
}

// Every file of a crate and every top-level module imports in one
// direction. (The last circle, src/fast/mod.rs <-> src/fast/jit/mod.rs,
// went when the JIT came to see the machine only through `jit::Host`.)
#[test]
fn no_import_circle_between_files_or_top_level_modules() {
    let circles = import_circles();
    assert!(
        circles.is_empty(),
        "{} import circles (each: a file or module that, through the ones \
         after it, imports itself):\n  {}",
        circles.len(),
        circles.join("\n  ")
    );
}

/// The reader itself, on sources made for it: each kind of path makes its
/// edge, comments, strings and unit tests make none, and a circle is
/// reported as its path.
#[test]
fn the_import_reader_sees_what_the_compiler_sees() {
    let dir = std::env::temp_dir().join(format!("mswap-structure-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "lib.rs",
        "pub mod a;\npub mod b;\npub mod c;\npub mod d;\npub mod e;\npub use c::Item;\n",
    );
    // a -> b by a use group with self; b -> a by super:: in code.
    write("a.rs", "use crate::{b::{self, Thing as T}};\nfn f() {}\n");
    write(
        "b/mod.rs",
        "mod inner;\npub struct Thing;\nfn g() { super::a::f(); }\n",
    );
    // A child that imports its parent: one edge (declaring a module is
    // not importing it).
    write("b/inner.rs", "use super::Thing;\n");
    // c: only comments, strings and a unit test name d; and the
    // re-exported `crate::Item` of e leads to c, not to lib.rs.
    write(
        "c.rs",
        "// crate::d::x\n/* crate::d::y /* nested */ */\nconst S: &str = \"crate::d::z\";\n\
         const R: &str = r#\"crate::d::w\"#;\nconst C: char = '\"';\n\
         pub struct Item<'a>(&'a str);\n#[cfg(test)]\nmod tests { use crate::d::x; }\n",
    );
    write("d.rs", "pub fn x() {}\n");
    // e: a re-exported item, another crate, and `super` in an inline module.
    write(
        "e.rs",
        "fn h() -> crate::Item<'static> { todo!() }\nuse ::std::fmt;\n\
         mod deep { fn k() { super::super::d::x(); } }\n",
    );
    let c = load_crate(&dir.join("lib.rs"));
    let edges = c.edges();
    let names = |f: &Path| f.strip_prefix(&dir).unwrap().display().to_string();
    let mut seen: Vec<String> = Vec::new();
    for (from, tos) in &edges {
        for to in tos {
            seen.push(format!("{} -> {}", names(from), names(to)));
        }
    }
    assert_eq!(
        seen,
        [
            "a.rs -> b/mod.rs",
            "b/inner.rs -> b/mod.rs",
            "b/mod.rs -> a.rs",
            "e.rs -> c.rs",
            "e.rs -> d.rs",
        ],
        "{edges:?}"
    );
    let circles: Vec<Vec<String>> = cycles(&edges)
        .iter()
        .map(|c| c.iter().map(|f| names(f)).collect())
        .collect();
    assert_eq!(
        circles,
        [vec!["a.rs", "b/mod.rs", "a.rs"]],
        "the circle a -> b -> a, and no other"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
