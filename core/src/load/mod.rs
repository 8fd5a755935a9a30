//! Reading files into documents that remember their source, and into typed paved documents.

mod cloud;
mod emit;
mod fast;
mod hcl;
mod origin;
pub(crate) mod packs;
pub(crate) mod pointer;
pub(crate) mod pulumi;
mod source;
pub(crate) mod terraform;
pub(crate) mod unknown;
pub(crate) mod yaml;

pub use source::SourceRef;

pub(crate) use cloud::{is_infrastructure, Action, Change};
pub(crate) use origin::{beside, Origin, Sourced};

pub(crate) use emit::to_yaml;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{did_you_mean, Diagnostic, Diagnostics, Error};

use yaml::RawDocument;
pub(crate) use yaml::Schema;

/// Parses the documents of one text of paved's own documents (YAML 1.2). `file` names it in
/// diagnostics.
pub(crate) fn parse_text(file: &str, text: &str) -> Result<Vec<Sourced>, Diagnostic> {
    parse(file, text, Schema::Core)
}

/// Parses the documents of one text of manifests, as Kubernetes' tools read them (YAML 1.1
/// scalars, merge keys).
pub(crate) fn parse_manifests(file: &str, text: &str) -> Result<Vec<Sourced>, Diagnostic> {
    parse(file, text, Schema::Kubernetes)
}

fn parse(file: &str, text: &str, schema: Schema) -> Result<Vec<Sourced>, Diagnostic> {
    parse_within(file, text, schema, &yaml::AliasBudget::default())
}

fn parse_within(
    file: &str,
    text: &str,
    schema: Schema,
    budget: &yaml::AliasBudget,
) -> Result<Vec<Sourced>, Diagnostic> {
    // Terraform's configuration is read as the documents a plan of it would give.
    if schema == Schema::Kubernetes && file.ends_with(".tf") {
        return hcl::read(file, text);
    }
    let file: Arc<str> = Arc::from(file);
    // A byte-order mark at the start only says the text is UTF-8, as YAML readers take it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // YAML allows no NUL; a reader that stopped at one would skip every document after it.
    if let Some(at) = text.find('\0') {
        let before = text.get(..at).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        return Err(Diagnostic {
            file,
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
            pointer: None,
            message: "the text holds a NUL byte, which YAML does not allow".into(),
            help: Some("remove it: nothing after it could be read as Kubernetes reads it".into()),
        });
    }
    let docs = parse_documents_within(text, schema, budget).map_err(|e| Diagnostic {
        file: file.clone(),
        line: e.pos.line,
        column: e.pos.column,
        pointer: None,
        message: format!("invalid YAML: {}", e.message),
        // Go's YAML reader (kubectl's) takes a quoted string's next lines at the key's own
        // indentation; YAML 1.2, and paved, want them further in.
        help: e.message.contains("indentation in quoted scalar").then(|| {
            "indent the quoted string's following lines further than its key (YAML 1.2 requires it; Go's YAML reader does not)".into()
        }),
    })?;
    Ok(docs
        .into_iter()
        .map(|RawDocument { value, spans }| {
            let rendered = schema == Schema::Kubernetes;
            let made_from =
                rendered.then(|| helm_source(text, spans.locate("").line)).flatten().map(|f| (beside(&file, f), 1));
            Sourced {
                value,
                origin: Origin {
                    file: file.clone(),
                    spans: Arc::new(spans),
                    base: String::new(),
                    made_from,
                    renames: Arc::default(),
                },
            }
        })
        .collect())
}

/// The template Helm rendered a document from: the `# Source: chart/templates/x.yaml` comment
/// between the document separator before line `line` and the document.
fn helm_source(text: &str, line: u32) -> Option<&str> {
    let before: Vec<&str> = text.lines().take(usize::try_from(line.saturating_sub(1)).ok()?).collect();
    before
        .iter()
        .rev()
        .take_while(|l| !l.starts_with("---"))
        .find_map(|l| l.trim().strip_prefix("# Source:").map(str::trim))
        .filter(|s| !s.is_empty())
}

/// Decodes bytes as UTF-8, or says where the first bad byte is.
pub(crate) fn decode<'a>(file: &str, bytes: &'a [u8]) -> Result<&'a str, Diagnostic> {
    std::str::from_utf8(bytes).map_err(|e| {
        let good = bytes.get(..e.valid_up_to()).unwrap_or_default();
        let line = good.iter().filter(|b| **b == b'\n').count() + 1;
        let column = good.iter().rev().take_while(|b| **b != b'\n').count() + 1;
        Diagnostic {
            file: Arc::from(file),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
            pointer: None,
            message: format!("the file is not valid UTF-8 (byte {})", e.valid_up_to()),
            // PowerShell's `>` writes UTF-16, with its byte-order mark.
            help: Some(if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
                "the file is UTF-16 (as PowerShell's `>` writes it): write it as UTF-8, e.g. `terraform show -json plan.bin | Out-File -Encoding utf8 plan.json`".into()
            } else {
                "save the file as UTF-8".into()
            }),
        }
    })
}

/// Every YAML or JSON file under `paths`, as `kubectl apply -R -f` takes them: files as given;
/// directories walked recursively, dot-files and dot-directories included, sorted by path so the
/// order never depends on the file system. What a directory's `.pavedignore` (gitignore syntax)
/// names is left out of its tree, and so is what `exclude` names (gitignore patterns over each
/// directory given); a file given by name is always read.
///
/// paved never leaves the input or blocks on it: a symlink is followed only when it leads inside
/// the directory given (one leading out of it, to a credentials file or a device, is an error
/// naming it), each directory is walked once (a symlink loop is not followed), and only regular
/// files are read: a device, FIFO or socket is an error naming it, never opened.
pub(crate) fn files_under(paths: &[PathBuf], exclude: &[String]) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for path in paths {
        let root = std::fs::canonicalize(path).map_err(|source| Error::Io { path: path.clone(), source })?;
        let mut walk = Walk { root, seen: Default::default(), ignores: Vec::new(), out: &mut out };
        // The caller's patterns hold over each path given, as a `.pavedignore` there would.
        if !exclude.is_empty() && std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
            let mut builder = ignore::gitignore::GitignoreBuilder::new(path);
            for pattern in exclude {
                builder
                    .add_line(None, pattern)
                    .map_err(|e| Error::Input { reason: format!("exclude pattern `{pattern}`: {e}") })?;
            }
            walk.ignores.push(builder.build().map_err(|e| Error::Input { reason: format!("exclude patterns: {e}") })?);
        }
        walk_path(path, true, &mut walk)?;
    }
    Ok(out)
}

/// The file that lists, in gitignore syntax, what a walk leaves out of its directory's tree.
pub(crate) const IGNORE_FILE: &str = ".pavedignore";

/// One walk of a path given: what it has seen, the ignore files in force, what it found.
struct Walk<'o> {
    root: PathBuf,
    seen: std::collections::BTreeSet<PathBuf>,
    /// The ignore rules of the directories entered, outermost first.
    ignores: Vec<ignore::gitignore::Gitignore>,
    out: &'o mut Vec<PathBuf>,
}

/// An error about `path` that is not the operating system's.
fn refused(path: &Path, why: String) -> Error {
    Error::Io { path: path.to_owned(), source: std::io::Error::new(std::io::ErrorKind::InvalidInput, why) }
}

impl Walk<'_> {
    /// Whether the innermost ignore rule that speaks of `path` leaves it out.
    fn ignored(&self, path: &Path, dir: bool) -> bool {
        for rules in self.ignores.iter().rev() {
            match rules.matched_path_or_any_parents(path, dir) {
                ignore::Match::None => continue,
                m => return m.is_ignore(),
            }
        }
        false
    }

    /// Reads a directory's `.pavedignore`, if it has one, into the rules in force.
    fn enter(&mut self, dir: &Path) -> Result<bool, Error> {
        let file = dir.join(IGNORE_FILE);
        if !std::fs::symlink_metadata(&file).is_ok_and(|m| m.is_file()) {
            return Ok(false);
        }
        let mut builder = ignore::gitignore::GitignoreBuilder::new(dir);
        if let Some(e) = builder.add(&file) {
            return Err(refused(&file, format!("not a valid ignore file: {e}")));
        }
        self.ignores.push(builder.build().map_err(|e| refused(&file, format!("not a valid ignore file: {e}")))?);
        Ok(true)
    }
}

/// Finds the document files at `path` (a path given is read whatever its name).
fn walk_path(path: &Path, explicit: bool, w: &mut Walk<'_>) -> Result<(), Error> {
    let io = |source| Error::Io { path: path.to_owned(), source };
    let link = std::fs::symlink_metadata(path).map_err(io)?;
    if link.file_type().is_symlink() && !explicit {
        let target = std::fs::canonicalize(path).map_err(io)?;
        if !target.starts_with(&w.root) {
            return Err(refused(
                path,
                format!(
                    "it is a symlink that leads out of {} (to {}); paved reads only what it is given",
                    w.root.display(),
                    target.display()
                ),
            ));
        }
    }
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        // A directory reached twice (through a symlink) is walked once: no loops.
        if !w.seen.insert(std::fs::canonicalize(path).map_err(io)?) {
            return Ok(());
        }
        let entered = w.enter(path)?;
        let mut entries = std::fs::read_dir(path)
            .map_err(io)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(io)?;
        entries.sort();
        // `..data` and `..2026_…` are Kubernetes' atomic writer's own (a mounted ConfigMap or
        // Secret): the files they hold are also linked by name, so they are read once, that way.
        entries.retain(|e| !e.file_name().is_some_and(|n| n.as_encoded_bytes().starts_with(b"..")));
        for entry in entries {
            // What an ignore rule leaves out is not looked at at all (a path given is).
            let dir = std::fs::metadata(&entry).is_ok_and(|m| m.is_dir());
            if !w.ignored(&entry, dir) {
                walk_path(&entry, false, w)?;
            }
        }
        if entered {
            w.ignores.pop();
        }
    } else if explicit || is_document_file(path) {
        if !meta.is_file() {
            return Err(refused(path, format!("it is {}, not a regular file; paved does not open it", kind_of(&meta))));
        }
        w.out.push(path.to_owned());
    }
    Ok(())
}

/// What a file that is not a regular file or a directory is, for errors.
fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        } else if t.is_socket() {
            return "a socket";
        } else if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
    }
    let _ = meta;
    "a special file"
}

fn is_document_file(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json" | "tf"))
}

/// Reads a regular file; anything else (a device, a FIFO, a socket) is refused unopened, so
/// reading never blocks or runs without end.
pub(crate) fn read_regular(path: &Path) -> Result<Vec<u8>, Error> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
    if !meta.is_file() {
        return Err(refused(path, format!("it is {}, not a regular file; paved does not open it", kind_of(&meta))));
    }
    std::fs::read(path).map_err(|source| Error::Io { path: path.to_owned(), source })
}

/// Reads and parses one file.
pub(crate) fn read_file(path: &Path, schema: Schema) -> Result<Result<Vec<Sourced>, Diagnostic>, Error> {
    read_file_within(path, schema, &yaml::AliasBudget::default())
}

fn read_file_within(
    path: &Path,
    schema: Schema,
    budget: &yaml::AliasBudget,
) -> Result<Result<Vec<Sourced>, Diagnostic>, Error> {
    let bytes = read_regular(path)?;
    let name = path.display().to_string();
    Ok(decode(&name, &bytes).and_then(|text| parse_within(&name, text, schema, budget)))
}

/// Deserialises a document into `T`, turning serde's complaints into diagnostics at the nodes
/// they are about, with a did-you-mean for misspelt fields. Every unknown field of the document
/// is reported, not only the first (serde stops at the first; each is taken out in turn and the
/// document read again), then the first other problem, if any.
pub(crate) fn typed<T: DeserializeOwned>(doc: &Sourced) -> Result<T, Vec<Diagnostic>> {
    match typed_despite(doc) {
        (Some(t), diags) if diags.is_empty() => Ok(t),
        (_, diags) => Err(diags),
    }
}

/// As [`typed`], with the document read without its unknown fields when those are its only
/// problems, so that what is inside it (its CEL) can be checked in the same run: every problem
/// of every document is reported at once.
pub(crate) fn typed_despite<T: DeserializeOwned>(doc: &Sourced) -> (Option<T>, Vec<Diagnostic>) {
    let mut value = std::borrow::Cow::Borrowed(&doc.value);
    let mut diags = Vec::new();
    // A document has far fewer unknown fields than this; the bound only keeps the loop finite.
    for _ in 0..64 {
        let e = match serde_path_to_error::deserialize::<_, T>(value.as_ref()) {
            Ok(t) => return (Some(t), diags),
            Err(e) => e,
        };
        let (d, unknown) = diagnostic(doc, &e);
        // `mesage` misspelt leaves `message` missing: the did-you-mean already says so.
        let missing =
            e.inner().to_string().strip_prefix("missing field `").and_then(|r| r.split('`').next()).map(str::to_owned);
        let said = missing.is_some_and(|m| {
            diags.iter().any(|x: &Diagnostic| x.help.as_deref() == Some(&format!("did you mean `{m}`?")))
        });
        if !said {
            diags.push(d);
        }
        match unknown.and_then(|p| remove(value.to_mut(), &p)) {
            Some(()) => continue,
            None => return (None, diags),
        }
    }
    (None, diags)
}

/// Takes the node at `pointer` out of `value`; `None` if there is none.
fn remove(value: &mut Value, pointer: &str) -> Option<()> {
    let (parent, last) = pointer.rsplit_once('/')?;
    let key = last.replace("~1", "/").replace("~0", "~");
    value.pointer_mut(parent)?.as_object_mut()?.remove(&key).map(|_| ())
}

/// The diagnostic of one serde error, and the pointer of the field when it is an unknown one.
fn diagnostic(doc: &Sourced, e: &serde_path_to_error::Error<serde_json::Error>) -> (Diagnostic, Option<String>) {
    let mut pointer = String::new();
    for seg in e.path().iter() {
        use serde_path_to_error::Segment;
        match seg {
            Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
            Segment::Map { key } => {
                pointer.push('/');
                pointer.push_str(&crate::load::pointer::escape_segment(key));
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    let message = e.inner().to_string();
    let mut help = None;
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or_default();
        // serde lists the expected fields after "expected one of"
        let expected: Vec<&str> =
            rest.split("expected ").nth(1).unwrap_or_default().split('`').skip(1).step_by(2).collect();
        help = Some(match did_you_mean(field, expected.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("remove `{field}`; the fields allowed here are: {}", expected.join(", ")),
        });
        let leaf = format!("/{}", crate::load::pointer::escape_segment(field));
        let inner = if pointer.ends_with(&leaf) { pointer.clone() } else { format!("{pointer}{leaf}") };
        let mut d = doc.origin.diagnostic(&inner, message, help);
        if let Some(pos) = doc.origin.spans.key(&format!("{}{inner}", doc.origin.base)) {
            (d.line, d.column) = (pos.line, pos.column);
        }
        return (d, Some(inner));
    } else if message.starts_with("data did not match any variant") {
        help = Some("see `paved schema` for the accepted shapes".into());
    }
    (doc.origin.diagnostic(&pointer, message, help), None)
}

/// Reads every document in `paths` (files, or directories walked in sorted order), collecting
/// every syntax problem. Files are read and parsed in parallel; the order stays the sorted one.
pub(crate) fn read_all(
    paths: &[PathBuf],
    exclude: &[String],
    schema: Schema,
    diags: &mut Diagnostics,
) -> Result<Vec<Sourced>, Error> {
    use rayon::prelude::*;
    // Terraform's `.tf` files are manifests' kin (resources), never paved's own documents.
    let tf = |f: &PathBuf| f.extension().is_some_and(|e| e == "tf");
    let files: Vec<PathBuf> =
        files_under(paths, exclude)?.into_iter().filter(|f| schema == Schema::Kubernetes || !tf(f)).collect();
    // Files without aliases, nearly all of them, are read in parallel. One alias budget holds
    // for every file (a bomb split over files is still one bomb); the files that use aliases
    // draw on it in sorted order, so the one that goes over it is always the same.
    let parsed: Vec<_> = files
        .par_iter()
        .map(|f| {
            let first = yaml::AliasBudget::deferring();
            let read = read_file_within(f, schema, &first);
            (read, first.deferred())
        })
        .collect();
    let budget = yaml::AliasBudget::default();
    let mut docs = Vec::new();
    for (path, (read, deferred)) in files.iter().zip(parsed) {
        let file = if deferred { read_file_within(path, schema, &budget) } else { read };
        match file? {
            Ok(mut d) => docs.append(&mut d),
            Err(d) => diags.push(d),
        }
    }
    Ok(docs)
}

/// Parses all documents of `text` (empty ones, as after a trailing `---`, are skipped), drawing
/// alias expansion from `budget`, shared by every text of one input (a run's files), so a bomb
/// split over documents or files is still one bomb. The fast reader takes what it can read
/// exactly as the full one would; the full reader takes the rest.
pub(crate) fn parse_documents_within(
    text: &str,
    schema: Schema,
    budget: &yaml::AliasBudget,
) -> Result<Vec<RawDocument>, yaml::SyntaxError> {
    if let Some(docs) = fast::parse(text, schema) {
        #[cfg(fuzzing)]
        assert_eq!(Ok(&docs), yaml::parse_full(text, schema, budget).as_ref(), "the two readers differ on {text:?}");
        return Ok(docs);
    }
    yaml::parse_full(text, schema, budget)
}
