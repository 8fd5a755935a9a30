//! Reading inputs never leaves them, never blocks and never skips what Kubernetes' tools would
//! apply: dot-files count, symlinks are followed only inside the tree given, devices and FIFOs
//! are refused unopened, a byte-order mark is read past and a NUL byte is an error.

use std::path::Path;

use paved::Resource;

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: NAME}\nspec: {containers: [{name: c, image: x}]}\n";

fn names(dir: &Path) -> Vec<String> {
    Resource::from_paths(&[dir.to_path_buf()]).unwrap().iter().map(|r| r.identity().name).collect()
}

#[test]
fn dot_files_and_dot_directories_are_read_as_kubectl_applies_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".hidden.yaml"), POD.replace("NAME", "hidden")).unwrap();
    std::fs::create_dir(dir.path().join(".overlay")).unwrap();
    std::fs::write(dir.path().join(".overlay/pod.yaml"), POD.replace("NAME", "in-dot-dir")).unwrap();
    std::fs::write(dir.path().join("plain.yaml"), POD.replace("NAME", "plain")).unwrap();
    assert_eq!(names(dir.path()), ["hidden", "in-dot-dir", "plain"]);
}

#[cfg(unix)]
#[test]
fn symlinks_are_followed_inside_the_tree_only() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.yaml"), "password: hunter2\n").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("base")).unwrap();
    std::fs::write(dir.path().join("base/pod.yaml"), POD.replace("NAME", "base")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("base"), dir.path().join("linked")).unwrap();
    // A loop back to the root is walked once.
    std::os::unix::fs::symlink(dir.path(), dir.path().join("base/loop")).unwrap();
    assert_eq!(names(dir.path()), ["base"]);

    std::os::unix::fs::symlink(outside.path().join("secret.yaml"), dir.path().join("creds.yaml")).unwrap();
    let e = Resource::from_paths(&[dir.path().to_path_buf()]).unwrap_err();
    let text = format!("{e}: {}", std::error::Error::source(&e).unwrap());
    assert!(text.contains("creds.yaml") && text.contains("is a symlink that leads out of"), "{text}");
    assert!(!text.contains("hunter2"), "nothing outside the tree is read: {text}");
}

#[cfg(unix)]
#[test]
fn devices_and_fifos_are_refused_unopened() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.yaml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // Reading it would block forever; it is refused instead.
    let e = Resource::from_paths(&[dir.path().to_path_buf()]).unwrap_err();
    let text = format!("{e}: {}", std::error::Error::source(&e).unwrap());
    assert!(text.contains("pipe.yaml") && text.contains("it is a FIFO, not a regular file"), "{text}");
    // A device given by name, and one reached through a symlink inside the tree.
    let e = Resource::from_paths(&["/dev/urandom"]).unwrap_err();
    assert!(std::error::Error::source(&e).unwrap().to_string().contains("it is a device"), "{e}");
    std::fs::remove_file(&fifo).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.yaml")).unwrap();
    let e = Resource::from_paths(&[dir.path().to_path_buf()]).unwrap_err();
    assert!(std::error::Error::source(&e).unwrap().to_string().contains("leads out of"), "{e}");
}

#[test]
fn a_byte_order_mark_is_read_past_and_a_nul_byte_is_an_error() {
    let with_bom = format!("\u{feff}{}", POD.replace("NAME", "bom"));
    let r = Resource::from_str("bom.yaml", &with_bom).unwrap();
    assert_eq!(r[0].identity().name, "bom");
    // Before, the parse stopped at the NUL and the privileged Pod after it was never checked.
    let nul = format!("{}\0\n---\n{}", POD.replace("NAME", "first"), POD.replace("NAME", "hidden-after-nul"));
    let e = Resource::from_str("nul.yaml", &nul).unwrap_err();
    let d = e.diagnostics().unwrap().iter().next().unwrap();
    assert_eq!((d.line, d.column), (5, 1));
    assert!(d.message.contains("NUL byte"), "{d}");
}

/// A document whose aliases expand to 10^(levels + 1) scalars.
fn laughs(levels: usize) -> String {
    let mut text = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\nx:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..=levels {
        let p = i - 1;
        text += &format!("  a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n");
    }
    text
}

#[test]
fn an_alias_bomb_split_over_documents_or_files_is_still_one_bomb() {
    // Each document alone is modest (about 111,000 nodes); sixty of them are not.
    assert!(Resource::from_str("one.yaml", &laughs(4)).is_ok());
    let split = vec![laughs(4); 60].join("---\n");
    let e = Resource::from_str("split.yaml", &split).unwrap_err();
    let d = e.diagnostics().unwrap().iter().next().unwrap().clone();
    assert!(d.message.contains("alias bomb"), "{d}");
    assert!(d.line > 8, "the error is where the budget ran out, in a later document: {d}");

    // Over files of one input, the budget is shared too.
    let dir = tempfile::tempdir().unwrap();
    for i in 0..12 {
        std::fs::write(dir.path().join(format!("part{i:02}.yaml")), laughs(4)).unwrap();
    }
    // The files that use aliases draw on the budget in sorted order, whatever the threads do:
    // the errors are always the same, from the file where the budget runs out on.
    let first = Resource::from_paths(&[dir.path().to_path_buf()]).unwrap_err().to_string();
    let d = first.lines().next().unwrap();
    assert!(d.contains("part08.yaml:9:12: ") && d.contains("alias bomb"), "{first}");
    assert!(!first.contains("part07.yaml"), "{first}");
    for _ in 0..5 {
        assert_eq!(Resource::from_paths(&[dir.path().to_path_buf()]).unwrap_err().to_string(), first);
    }
}

#[test]
fn a_large_string_aliased_many_times_is_refused() {
    let big = "y".repeat(1 << 20);
    let text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big}}\ndata:\n  s: &s \"{big}\"\n  l: [{}]\n",
        vec!["*s"; 100].join(", ")
    );
    let e = Resource::from_str("big.yaml", &text).unwrap_err();
    let d = e.diagnostics().unwrap().iter().next().unwrap();
    assert!(d.message.contains("MiB of text (an alias bomb?)"), "{d}");
    assert_eq!(d.line, 6);
}
