//! What paved stores in a registry, and how: an OCI image manifest with one config blob and one
//! content layer, media types per kind, and the content as a reproducible tar+gzip (the same
//! files give the same digest on any machine).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{digest_of, Error, Reference};

/// The OCI image manifest's media type; every artifact paved pushes is one.
pub(crate) const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// The most a manifest may weigh (the distribution spec asks registries to take 4 MiB).
pub(crate) const MAX_MANIFEST: usize = 4 << 20;
/// The most a config blob may weigh.
pub(crate) const MAX_CONFIG: u64 = 1 << 20;
/// The most a content layer may weigh, and the most its files may add up to once unpacked.
pub(crate) const MAX_CONTENT: u64 = 256 << 20;
/// The most files an unpacked layer may hold.
const MAX_FILES: usize = 20_000;

/// What an artifact holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Policies, exceptions, golden paths and settings: a bundle or a pack, as files.
    Bundle,
    /// A WASM plugin component, stored as the wasm OCI artifact layout stores components.
    Plugin,
    /// Rendered manifests, in the layout Flux's OCIRepository pulls.
    Render,
}

impl Kind {
    /// The config blob's media type, by which a pulled artifact's kind is known.
    pub fn config_media_type(self) -> &'static str {
        match self {
            Kind::Bundle => "application/vnd.paved.bundle.config.v1+json",
            Kind::Plugin => "application/vnd.wasm.config.v0+json",
            Kind::Render => "application/vnd.cncf.flux.config.v1+json",
        }
    }

    /// The content layer's media type.
    pub fn layer_media_type(self) -> &'static str {
        match self {
            Kind::Bundle => "application/vnd.paved.bundle.content.v1.tar+gzip",
            Kind::Plugin => "application/wasm",
            Kind::Render => "application/vnd.cncf.flux.content.v1.tar+gzip",
        }
    }

    /// The manifest's `artifactType`, where the kind's own layout sets one.
    fn artifact_type(self) -> Option<&'static str> {
        match self {
            Kind::Bundle => Some("application/vnd.paved.bundle.v1"),
            Kind::Plugin | Kind::Render => None,
        }
    }

    /// The word for the kind in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Bundle => "bundle",
            Kind::Plugin => "plugin",
            Kind::Render => "render",
        }
    }

    fn of_config(media_type: &str) -> Option<Kind> {
        [Kind::Bundle, Kind::Plugin, Kind::Render].into_iter().find(|k| k.config_media_type() == media_type)
    }
}

/// An artifact ready to push: its config, its content and the manifest's annotations.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// What it holds.
    pub kind: Kind,
    /// The config blob (JSON).
    pub config: Vec<u8>,
    /// The content layer.
    pub content: Vec<u8>,
    /// The manifest's annotations (`org.opencontainers.image.*` and paved's own).
    pub annotations: BTreeMap<String, String>,
}

impl Artifact {
    /// The files at `path` (a directory, walked in sorted order, or one file) as a bundle, with
    /// `config` describing what they hold.
    pub fn bundle(path: &Path, config: &Value, annotations: BTreeMap<String, String>) -> Result<Artifact, Error> {
        Ok(Artifact { kind: Kind::Bundle, config: json(config), content: tar_gzip(&files_at(path)?)?, annotations })
    }

    /// The files at `path` (rendered manifests) in the layout Flux's OCIRepository pulls (as
    /// `flux push artifact` writes it).
    pub fn render(path: &Path, annotations: BTreeMap<String, String>) -> Result<Artifact, Error> {
        let config = serde_json::json!({});
        Ok(Artifact { kind: Kind::Render, config: json(&config), content: tar_gzip(&files_at(path)?)?, annotations })
    }

    /// A WASM component as a plugin, with the wasm OCI artifact layout's config.
    pub fn plugin(wasm: Vec<u8>, annotations: BTreeMap<String, String>) -> Artifact {
        let config = serde_json::json!({
            "architecture": "wasm",
            "os": "wasip2",
            "layerDigests": [digest_of(&wasm)],
        });
        Artifact { kind: Kind::Plugin, config: json(&config), content: wasm, annotations }
    }

    /// The manifest that names the config and the content, as bytes (their digest is the
    /// artifact's).
    pub(crate) fn manifest(&self) -> Vec<u8> {
        let kind = self.kind;
        let mut manifest = serde_json::json!({ "schemaVersion": 2, "mediaType": MANIFEST });
        if let (Some(t), Some(m)) = (kind.artifact_type(), manifest.as_object_mut()) {
            m.insert("artifactType".into(), t.into());
        }
        if let Some(m) = manifest.as_object_mut() {
            m.insert("config".into(), descriptor(kind.config_media_type(), &self.config, None));
            let title = (kind != Kind::Plugin).then_some("content.tar.gz");
            m.insert("layers".into(), Value::Array(vec![descriptor(kind.layer_media_type(), &self.content, title)]));
            if !self.annotations.is_empty() {
                m.insert("annotations".into(), serde_json::to_value(&self.annotations).unwrap_or_default());
            }
        }
        json(&manifest)
    }
}

fn descriptor(media_type: &str, bytes: &[u8], title: Option<&str>) -> Value {
    let mut d = serde_json::json!({ "mediaType": media_type, "digest": digest_of(bytes), "size": bytes.len() });
    if let (Some(t), Some(m)) = (title, d.as_object_mut()) {
        m.insert("annotations".into(), serde_json::json!({ "org.opencontainers.image.title": t }));
    }
    d
}

fn json(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// A manifest as paved reads it back.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Manifest {
    pub schema_version: u32,
    #[serde(default)]
    pub media_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// A blob a manifest names.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl Manifest {
    /// The manifest of `bytes`, if it is one of paved's artifacts: its kind and its one content
    /// layer.
    pub(crate) fn read(reference: &Reference, bytes: &[u8]) -> Result<(Manifest, Kind), Error> {
        let manifest: Manifest = serde_json::from_slice(bytes)
            .map_err(|e| Error::refused(reference, format!("the manifest is not an OCI image manifest: {e}")))?;
        if manifest.schema_version != 2 || manifest.media_type.as_deref().is_some_and(|t| t != MANIFEST) {
            return Err(Error::refused(reference, "the manifest is not an OCI image manifest (schema 2)"));
        }
        let kind = Kind::of_config(&manifest.config.media_type).ok_or_else(|| {
            Error::refused(
                reference,
                format!(
                    "an artifact of media type {} is not a paved bundle, plugin or render",
                    manifest.config.media_type
                ),
            )
        })?;
        match manifest.layers.as_slice() {
            [layer] if layer.media_type == kind.layer_media_type() => {}
            layers => {
                let types: Vec<&str> = layers.iter().map(|l| l.media_type.as_str()).collect();
                return Err(Error::refused(
                    reference,
                    format!(
                        "a {} artifact has one layer of {}, not [{}]",
                        kind.as_str(),
                        kind.layer_media_type(),
                        types.join(", ")
                    ),
                ));
            }
        }
        if manifest.config.size > MAX_CONFIG || manifest.layers.iter().any(|l| l.size > MAX_CONTENT) {
            return Err(Error::refused(
                reference,
                format!("a blob is larger than paved takes ({} MiB)", MAX_CONTENT >> 20),
            ));
        }
        Ok((manifest, kind))
    }
}

/// The regular files at `path`: a directory's, walked in sorted order by their `/`-separated
/// paths relative to it (symlinks followed only to files inside it; `.git` left out), or one
/// file by its name.
fn files_at(path: &Path) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::local(path, e))?;
    if meta.is_file() {
        let name = path.file_name().map_or_else(|| "bundle.yaml".into(), |n| n.to_string_lossy().into_owned());
        return Ok(vec![(name, std::fs::read(path).map_err(|e| Error::local(path, e))?)]);
    }
    let root = path.canonicalize().map_err(|e| Error::local(path, e))?;
    let mut files = Vec::new();
    walk(&root, &root, &mut files)?;
    files.sort();
    Ok(files)
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<(String, Vec<u8>)>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::local(dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| Error::local(dir, e))?.path();
        if path.file_name().is_some_and(|n| n == ".git") {
            continue;
        }
        let real = path.canonicalize().map_err(|e| Error::local(&path, e))?;
        if !real.starts_with(root) {
            return Err(Error::local(&path, "a symlink out of the directory pushed"));
        }
        let meta = std::fs::metadata(&real).map_err(|e| Error::local(&path, e))?;
        if meta.is_dir() {
            walk(root, &path, files)?;
        } else if meta.is_file() {
            let name = path.strip_prefix(root).unwrap_or(&path);
            let name: Vec<String> = name.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            files.push((name.join("/"), std::fs::read(&real).map_err(|e| Error::local(&path, e))?));
        } else {
            return Err(Error::local(&path, "neither a file nor a directory"));
        }
    }
    Ok(())
}

/// A tar+gzip of `files` that depends on nothing but their names and contents: no times,
/// owners or permissions of the machine.
fn tar_gzip(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, Error> {
    let gz = flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (name, bytes) in files {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        tar.append_data(&mut header, name, bytes.as_slice()).map_err(|e| Error::local(name, e))?;
    }
    let gz = tar.into_inner().map_err(|e| Error::local("content.tar.gz", e))?;
    gz.finish().map_err(|e| Error::local("content.tar.gz", e))
}

/// Writes the files of a tar+gzip `layer` under `into`: regular files and directories only, with
/// relative paths that stay inside, and no more than paved takes.
pub(crate) fn unpack(reference: &Reference, layer: &[u8], into: &Path) -> Result<Vec<PathBuf>, Error> {
    let refuse = |why: String| Error::refused(reference, why);
    let gz = flate2::read::GzDecoder::new(layer).take(MAX_CONTENT + 1);
    let mut archive = tar::Archive::new(gz);
    let (mut written, mut total) = (Vec::new(), 0u64);
    let entries = archive.entries().map_err(|e| refuse(format!("the content is not a tar+gzip: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| refuse(format!("the content is not a tar+gzip: {e}")))?;
        let path = entry.path().map_err(|e| refuse(format!("an entry's name: {e}")))?.into_owned();
        if path.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
            return Err(refuse(format!("the entry {} leaves the artifact's directory", path.display())));
        }
        match entry.header().entry_type() {
            tar::EntryType::Directory => continue,
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            other => return Err(refuse(format!("the entry {} is a {other:?}, not a file", path.display()))),
        }
        total += entry.size();
        if total > MAX_CONTENT || written.len() >= MAX_FILES {
            return Err(refuse(format!(
                "the content unpacks to more than {} MiB or {MAX_FILES} files",
                MAX_CONTENT >> 20
            )));
        }
        let target = into.join(&path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::local(parent, e))?;
        }
        let mut out = std::fs::File::create(&target).map_err(|e| Error::local(&target, e))?;
        let copied = std::io::copy(&mut entry, &mut out).map_err(|e| refuse(format!("{}: {e}", path.display())))?;
        out.flush().map_err(|e| Error::local(&target, e))?;
        if copied != entry.size() {
            return Err(refuse(format!("the entry {} is truncated", path.display())));
        }
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_files_make_the_same_digest() {
        let files = vec![("a.yaml".to_owned(), b"a: 1\n".to_vec()), ("dir/b.yaml".to_owned(), b"b: 2\n".to_vec())];
        let one = Artifact {
            kind: Kind::Bundle,
            config: b"{}".to_vec(),
            content: tar_gzip(&files).unwrap(),
            annotations: BTreeMap::new(),
        };
        let two = Artifact { content: tar_gzip(&files).unwrap(), ..one.clone() };
        assert_eq!(digest_of(&one.manifest()), digest_of(&two.manifest()));
        let dir = tempfile::tempdir().unwrap();
        let r: Reference = "oci://localhost/x:1".parse().unwrap();
        unpack(&r, &one.content, dir.path()).unwrap();
        assert_eq!(std::fs::read(dir.path().join("dir/b.yaml")).unwrap(), b"b: 2\n");
    }

    #[test]
    fn hostile_archives_are_refused() {
        let r: Reference = "oci://localhost/x:1".parse().unwrap();
        let dir = tempfile::tempdir().unwrap();
        // A path out of the directory, written past tar's own checks.
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(1);
        header.as_gnu_mut().unwrap().name[..9].copy_from_slice(b"../escape");
        header.set_cksum();
        let mut tar = tar::Builder::new(Vec::new());
        tar.append(&header, &b"x"[..]).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar.into_inner().unwrap()).unwrap();
        let e = unpack(&r, &gz.finish().unwrap(), dir.path()).unwrap_err().to_string();
        assert!(e.contains("leaves the artifact's directory"), "{e}");
        // A symlink.
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        tar.append_link(&mut header, "link", "/etc/passwd").unwrap();
        let e = unpack(&r, &tar.into_inner().unwrap().finish().unwrap(), dir.path()).unwrap_err().to_string();
        assert!(e.contains("not a file"), "{e}");
        // Not an archive at all.
        let e = unpack(&r, b"plain text", dir.path()).unwrap_err().to_string();
        assert!(e.contains("not a tar+gzip"), "{e}");
        assert!(!dir.path().join("link").exists());
    }
}
