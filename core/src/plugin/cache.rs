//! Compiled plugins on disk, so a second start does not compile again.
//!
//! An entry is named by the sha256 of the component and a key of the engine that compiled it
//! (wasmtime's version and its compatibility hash, which covers the settings that change the
//! code, such as fuel metering). Only entries this cache wrote are ever loaded; one that does not
//! load is compiled again and replaced. A cache that cannot be written costs a compile, never a
//! failure.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

/// The wasmtime paved is built with (pinned in Cargo.toml).
const WASMTIME: &str = "48.0.8";

/// Where compiled plugins go unless the caller says otherwise: `$PAVED_CACHE_DIR` (empty: no
/// cache), else `$XDG_CACHE_HOME/paved/plugins`, else `$HOME/.cache/paved/plugins`.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PAVED_CACHE_DIR") {
        return (!dir.is_empty()).then(|| PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("paved").join("plugins"))
}

/// The component for `bytes` (whose sha256 is `sha256`), from the cache in `dir` when it holds
/// it, else compiled (and then stored there). The flag says whether it came from the cache.
pub(super) fn component(
    engine: &Engine,
    bytes: &[u8],
    sha256: &str,
    dir: Option<&Path>,
) -> Result<(Component, bool), wasmtime::Error> {
    let Some(dir) = dir else {
        return Component::new(engine, bytes).map(|c| (c, false));
    };
    let file = dir.join(format!("{sha256}-{}.cwasm", engine_key(engine)));
    // Read into memory rather than mapped: a mapped file that someone truncates under a running
    // process kills it with SIGBUS.
    if let Ok(compiled) = std::fs::read(&file) {
        // SAFETY: wasmtime requires that a deserialized artifact was produced by
        // `Component::serialize` of a compatible engine and not modified since. Entries in this
        // directory are only written by `store` below, from components this engine compiled,
        // under a name that includes the engine's compatibility hash; the directory is created
        // private to the user (0700). wasmtime still checks the header and the engine settings.
        #[allow(unsafe_code)]
        let loaded = unsafe { Component::deserialize(engine, &compiled) };
        if let Ok(component) = loaded {
            return Ok((component, true));
        }
    }
    let component = Component::new(engine, bytes)?;
    if let Ok(compiled) = component.serialize() {
        // Best effort: a read-only or full disk only means the next start compiles again.
        let _ = store(dir, &file, &compiled);
    }
    Ok((component, false))
}

/// Writes an entry atomically: readers see the whole file or none.
fn store(dir: &Path, file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    let temp = file.with_extension(format!("tmp-{}-{:?}", std::process::id(), std::thread::current().id()));
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, file).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

/// A short, stable key of what makes compiled code usable by an engine.
fn engine_key(engine: &Engine) -> String {
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
    let digest = h.0.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
