//! Compresses Kubernetes' schemas (4.3 MB of JSON) for embedding: the data is read once, on
//! first use, when LZ4 gives it back.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let source = Path::new("../packs/kubernetes/schemas.json");
    println!("cargo::rerun-if-changed={}", source.display());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("schemas.json.lz4");
    let packed = std::fs::read(source).and_then(|data| std::fs::write(&out, lz4_flex::compress_prepend_size(&data)));
    match packed {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("compressing {} into {}: {e}", source.display(), out.display());
            ExitCode::FAILURE
        }
    }
}
