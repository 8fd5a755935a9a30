//! Compiled plugins on disk, so a second start does not compile again — and never runs what
//! paved did not compile.
//!
//! Compiled code is native code: loading an entry is as good as running it. So an entry is used
//! only when both hold:
//! - the directory is the user's own: owned by the current user, and writable by no one else
//!   (as ssh treats `~/.ssh`); a directory that is not is refused as a whole, with a message;
//! - the entry is what paved wrote for exactly this component and engine: a header names the
//!   component's sha256, the key of the engine configuration (wasmtime's version and
//!   compatibility hash, which cover fuel metering, epochs and memory settings) and the sha256
//!   of the compiled code that follows, and all three must match. The entry file itself must be a
//!   regular file of the user's, writable by no one else.
//!
//! Anything else — an entry swapped from another plugin, a corrupted or truncated one, one from
//! another configuration — is never deserialized: the plugin is compiled again, the entry
//! replaced, and the reason reported once through [`Source::Replaced`].

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

/// The wasmtime paved is built with (pinned in Cargo.toml).
const WASMTIME: &str = "48.0.8";
/// The first bytes of an entry, with the format's version.
const MAGIC: &[u8; 8] = b"pavedC01";
/// Magic, component digest, engine key, code digest.
const HEADER: usize = 8 + 32 + 32 + 32;

/// Where a plugin's compiled code came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// Compiled now (no cache, or no entry yet).
    Compiled,
    /// Loaded from a verified cache entry.
    Cached,
    /// Compiled now, because the entry there could not be trusted: why.
    Replaced(String),
}

/// A cache directory that passed the ownership and mode checks.
#[derive(Debug, Clone)]
pub(crate) struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// Opens (creating it 0700 if need be) a cache directory, or says why it cannot be trusted.
    pub(crate) fn open(dir: &Path) -> Result<Cache, String> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|e| format!("cannot create the plugin cache {}: {e}", dir.display()))?;
        let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        if !meta.is_dir() {
            return Err(format!("the plugin cache {} is not a directory (a symlink is refused)", dir.display()));
        }
        trusted(&meta).map_err(|why| {
            format!(
                "the plugin cache {} is refused: {why}; compiled code there could be anyone's (fix it with `chmod 700`, or choose another directory)",
                dir.display()
            )
        })?;
        Ok(Cache { dir: dir.to_owned() })
    }

    /// The component for `bytes` (whose sha256 is `digest`): from a verified entry, else compiled
    /// and stored.
    pub(crate) fn component(
        &self,
        engine: &Engine,
        bytes: &[u8],
        digest: &[u8; 32],
    ) -> Result<(Component, Source), wasmtime::Error> {
        let key = engine_key(engine);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let key_hex: String = key.iter().take(8).map(|b| format!("{b:02x}")).collect();
        let file = self.dir.join(format!("{hex}-{key_hex}.cwasm"));
        let source = match verified(&file, digest, &key) {
            Ok(Some(entry)) => {
                let code = entry.get(HEADER..).unwrap_or_default();
                // SAFETY: wasmtime requires that deserialized bytes were produced by
                // `Component::serialize` of a compatible engine and not modified since. `verified`
                // checked that the entry sits in a directory only this user can write, is a
                // regular file only this user can write, names this component and this engine
                // configuration, and that its code has the digest paved recorded when it wrote it
                // (`store` below). wasmtime still checks its own header and the engine settings.
                #[allow(unsafe_code)]
                let loaded = unsafe { Component::deserialize(engine, code) };
                match loaded {
                    Ok(component) => return Ok((component, Source::Cached)),
                    Err(e) => Source::Replaced(format!("wasmtime refused the entry: {e}")),
                }
            }
            Ok(None) => Source::Compiled,
            Err(why) => Source::Replaced(why),
        };
        let component = Component::new(engine, bytes)?;
        if let Ok(code) = component.serialize() {
            // Best effort: a read-only or full disk only means the next start compiles again.
            let _ = store(&self.dir, &file, digest, &key, &code);
        }
        Ok((component, source))
    }
}

/// Why the owner and mode of a cache directory or entry cannot be trusted, if they cannot.
#[cfg(unix)]
fn trusted(meta: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(format!("it is owned by uid {}, not by this user (uid {me})", meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!("its mode {:o} lets others write to it", meta.mode() & 0o777));
    }
    Ok(())
}

#[cfg(not(unix))]
fn trusted(_: &std::fs::Metadata) -> Result<(), String> {
    Ok(())
}

/// The entry (header and compiled code), if there is one and it is what paved wrote for this component
/// and engine: `Ok(None)` when there is no entry, `Err` with the reason when there is one that
/// cannot be trusted.
fn verified(file: &Path, digest: &[u8; 32], key: &[u8; 32]) -> Result<Option<Vec<u8>>, String> {
    let meta = match std::fs::symlink_metadata(file) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
    };
    let name = file.display();
    if !meta.is_file() {
        return Err(format!("{name} is not a regular file"));
    }
    trusted(&meta).map_err(|why| format!("{name}: {why}"))?;
    // Read into memory rather than mapped: a mapped file that someone truncates under a running
    // process kills it with SIGBUS.
    let entry = std::fs::read(file).map_err(|e| format!("cannot read {name}: {e}"))?;
    let (header, code) = entry.split_at_checked(HEADER).ok_or_else(|| format!("{name} is truncated"))?;
    let field = |range: std::ops::Range<usize>| header.get(range).unwrap_or_default();
    if field(0..8) != MAGIC {
        return Err(format!("{name} was not written by this version of paved"));
    }
    if field(8..40) != digest {
        return Err(format!("{name} holds the code of another component"));
    }
    if field(40..72) != key {
        return Err(format!("{name} was compiled for another engine configuration"));
    }
    if field(72..104) != Sha256::digest(code).as_slice() {
        return Err(format!("{name} is corrupted: its code does not match the digest paved recorded"));
    }
    Ok(Some(entry))
}

/// Writes an entry atomically (readers see the whole file or none), private to the user.
fn store(dir: &Path, file: &Path, digest: &[u8; 32], key: &[u8; 32], code: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let temp = dir.join(format!(".tmp-{}-{:?}", std::process::id(), std::thread::current().id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temp).and_then(|mut f| {
        f.write_all(MAGIC)?;
        f.write_all(digest)?;
        f.write_all(key)?;
        f.write_all(&Sha256::digest(code))?;
        f.write_all(code)?;
        f.sync_all()
    });
    written.and_then(|()| std::fs::rename(&temp, file)).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

/// What makes compiled code usable by an engine: wasmtime's version and the engine's
/// compatibility hash (which covers every setting that changes the code).
fn engine_key(engine: &Engine) -> [u8; 32] {
    use std::hash::{Hash, Hasher};
    struct ShaHasher(Sha256);
    impl Hasher for ShaHasher {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut h = ShaHasher(Sha256::new());
    WASMTIME.hash(&mut h);
    engine.precompile_compatibility_hash().hash(&mut h);
    h.0.finalize().into()
}
