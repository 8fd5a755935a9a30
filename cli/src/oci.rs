//! `paved push`, `pull`, `sign` and `verify`: bundles, packs, golden paths, plugins and rendered
//! manifests as signed OCI artifacts.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use paved_oci::{Artifact, Kind, Pulled, Reference, Signer, SigningKey};

use crate::source::pulled::{reference, registry, trust};
use crate::{fail, pretty, print, usage, ListFormat, EXIT_FAILED};

#[derive(clap::Args)]
pub struct PushArgs {
    /// Where to push: `oci://registry/repository:tag`.
    reference: String,
    /// A bundle or pack (directory or file; it must load), a plugin component (`.wasm`), or with
    /// `--render`, rendered manifests (file or directory).
    path: PathBuf,
    /// Push `path` as rendered manifests in the layout Flux's OCIRepository pulls.
    #[arg(long)]
    render: bool,
    /// Sign what was pushed with this private key (cosign's `cosign.key`; its password from
    /// $PAVED_KEY_PASSWORD, else $COSIGN_PASSWORD).
    #[arg(long, value_name = "FILE")]
    sign_key: Option<PathBuf>,
    /// An annotation of the manifest, KEY=VALUE (repeatable): `org.opencontainers.image.source`
    /// and `.revision` for Flux, for instance.
    #[arg(long = "annotation", short = 'a', value_name = "KEY=VALUE")]
    annotations: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    format: ListFormat,
}

#[derive(clap::Args)]
pub struct PullArgs {
    /// What to pull: `oci://registry/repository:tag` or `…@sha256:…`.
    reference: String,
    /// Where to write it: a directory for a bundle or render (default: the repository's last
    /// name), a file for a plugin (default: that name with `.wasm`).
    #[arg(long, short = 'o', value_name = "PATH")]
    output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    format: ListFormat,
}

#[derive(clap::Args)]
pub struct SignArgs {
    /// What to sign: `oci://registry/repository:tag` (signed at the digest the tag names now) or
    /// `…@sha256:…`.
    reference: String,
    /// The private key (cosign's `cosign.key`; its password from $PAVED_KEY_PASSWORD, else
    /// $COSIGN_PASSWORD).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// An annotation signed with it, KEY=VALUE (repeatable), as cosign's `-a`.
    #[arg(long = "annotation", short = 'a', value_name = "KEY=VALUE")]
    annotations: Vec<String>,
}

#[derive(clap::Args)]
pub struct AttestArgs {
    /// The image to attest: `oci://registry/repository:tag` (attested at the digest the tag
    /// names now) or `…@sha256:…`.
    reference: String,
    /// The private key (cosign's `cosign.key`; its password from $PAVED_KEY_PASSWORD, else
    /// $COSIGN_PASSWORD).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The predicate's in-toto type (`https://slsa.dev/provenance/v1`,
    /// `https://spdx.dev/Document`, `https://cyclonedx.org/bom`).
    #[arg(long = "type", value_name = "URI")]
    predicate_type: String,
    /// The predicate: a JSON file (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    predicate: PathBuf,
}

#[derive(clap::Args)]
pub struct KeygenArgs {
    /// Where to write `cosign.key` (encrypted with $PAVED_KEY_PASSWORD, else $COSIGN_PASSWORD)
    /// and `cosign.pub`.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// What to verify: `oci://registry/repository:tag` or `…@sha256:…`; the keys are
    /// `--verify-key`'s.
    reference: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    format: ListFormat,
}

/// KEY=VALUE pairs.
fn annotations(pairs: &[String]) -> Result<BTreeMap<String, String>, String> {
    pairs
        .iter()
        .map(|p| p.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).ok_or(format!("{p}: not KEY=VALUE")))
        .collect()
}

/// An error of the registry or the artifact: 1 when verification refused it, else 2.
fn refused(e: &paved_oci::Error) -> ExitCode {
    let _ = crate::usage(&e.to_string());
    if matches!(e, paved_oci::Error::Refused { .. }) {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::from(crate::EXIT_ERROR)
    }
}

/// The password of private keys.
fn password() -> String {
    std::env::var("PAVED_KEY_PASSWORD").or_else(|_| std::env::var("COSIGN_PASSWORD")).unwrap_or_default()
}

/// `paved keygen`: a key pair as `cosign generate-key-pair` writes one.
pub fn keygen(args: KeygenArgs) -> ExitCode {
    let (private, public) = (args.dir.join("cosign.key"), args.dir.join("cosign.pub"));
    if private.exists() || public.exists() {
        return usage(&format!("{} or {} exists; paved keygen overwrites no key", private.display(), public.display()));
    }
    let written = paved_oci::generate_key_pair(password().as_bytes()).map_err(|e| e.to_string()).and_then(|(k, p)| {
        let write = |path: &std::path::Path, text: &str| {
            std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
        };
        write(&private, &k).and_then(|()| write(&public, &p))
    });
    match written {
        Ok(()) => print(&format!("wrote {} and {}\n", private.display(), public.display())),
        Err(e) => usage(&e),
    }
}

fn signing_key(path: &std::path::Path) -> Result<SigningKey, String> {
    let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    SigningKey::from_pem(&pem, password().as_bytes(), &path.display().to_string()).map_err(|e| e.to_string())
}

pub fn push(args: PushArgs) -> ExitCode {
    let (target, mut annotations) = match (reference(&args.reference), annotations(&args.annotations)) {
        (Ok(r), Ok(a)) => (r, a),
        (Err(e), _) => return fail(&e),
        (_, Err(e)) => return usage(&e),
    };
    let key = match args.sign_key.as_deref().map(signing_key).transpose() {
        Ok(k) => k,
        Err(e) => return usage(&e),
    };
    let title = target.repository.rsplit('/').next().unwrap_or_default().to_owned();
    annotations.entry("org.opencontainers.image.title".into()).or_insert(title);
    if let Some(tag) = &target.tag {
        annotations.entry("org.opencontainers.image.version".into()).or_insert(tag.clone());
    }
    let artifact = match artifact(&args, annotations) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let registry = match registry() {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let pushed = match registry.push(&target, &artifact) {
        Ok(p) => p,
        Err(e) => return refused(&e),
    };
    let mut signed = false;
    if let Some(key) = &key {
        if let Err(e) = registry.sign(&pushed, key, &BTreeMap::new()) {
            return refused(&e);
        }
        signed = true;
    }
    match args.format {
        ListFormat::Json => print(&pretty(&serde_json::json!({
            "reference": pushed.to_string(),
            "digest": pushed.digest,
            "kind": artifact.kind.as_str(),
            "signed": signed,
        }))),
        ListFormat::Human => {
            let how = if signed { ", signed" } else { "" };
            print(&format!("pushed {} {pushed}{how}\n", artifact.kind.as_str()))
        }
    }
}

/// What `paved push` sends: the content checked as its kind is (a bundle must load, a plugin
/// must be a component paved can run).
fn artifact(args: &PushArgs, mut annotations: BTreeMap<String, String>) -> Result<Artifact, ExitCode> {
    let failed = |e: paved_oci::Error| usage(&e.to_string());
    if args.render {
        return Artifact::render(&args.path, annotations).map_err(failed);
    }
    let bytes = std::fs::read(&args.path).ok().filter(|b| b.starts_with(b"\0asm"));
    if let Some(wasm) = bytes {
        annotations.insert("dev.paved.plugin.sha256".into(), sha256_hex(&wasm));
        return Ok(Artifact::plugin(wasm, annotations));
    }
    let bundle = paved::Bundle::from_paths(std::slice::from_ref(&args.path)).map_err(|e| fail(&e))?;
    let config = serde_json::json!({
        "policies": bundle.policy_names().collect::<Vec<_>>(),
        "goldenPaths": bundle.golden_paths().map(|g| g.id()).collect::<Vec<_>>(),
        "exceptions": bundle.exception_names().collect::<Vec<_>>(),
        "packs": bundle.pack_references().collect::<Vec<_>>(),
        "plugins": bundle.plugin_references().map(|(n, _)| n).collect::<Vec<_>>(),
    });
    let count = |key: &str| config.get(key).and_then(|v| v.as_array()).map_or(0, Vec::len);
    annotations.insert(
        "dev.paved.contents".into(),
        format!(
            "policies={},goldenPaths={},exceptions={}",
            count("policies"),
            count("goldenPaths"),
            count("exceptions")
        ),
    );
    Artifact::bundle(&args.path, &config, annotations).map_err(failed)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

pub fn pull(args: PullArgs) -> ExitCode {
    let (source, registry, trust) = match (reference(&args.reference), registry(), trust()) {
        (Ok(r), Ok(g), Ok(t)) => (r, g, t),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return fail(&e),
    };
    let pulled = match registry.pull(&source, &trust) {
        Ok(p) => p,
        Err(e) => return refused(&e),
    };
    let name = source.repository.rsplit('/').next().unwrap_or("artifact").to_owned();
    let written = match pulled.kind {
        Kind::Plugin => {
            let path = args.output.unwrap_or_else(|| PathBuf::from(format!("{name}.wasm")));
            std::fs::write(&path, &pulled.content).map(|()| path).map_err(|e| e.to_string())
        }
        Kind::Bundle | Kind::Render => {
            let dir = args.output.unwrap_or_else(|| PathBuf::from(&name));
            pulled.unpack(&dir).map(|_| dir).map_err(|e| e.to_string())
        }
    };
    let written = match written {
        Ok(w) => w,
        Err(e) => return usage(&e),
    };
    report(&pulled.reference, pulled.kind, &pulled.signers, Some((&written, &pulled)), args.format)
}

pub fn sign(args: SignArgs) -> ExitCode {
    let (target, annotations) = match (reference(&args.reference), annotations(&args.annotations)) {
        (Ok(r), Ok(a)) => (r, a),
        (Err(e), _) => return fail(&e),
        (_, Err(e)) => return usage(&e),
    };
    let (key, registry) = match (signing_key(&args.key), registry()) {
        (Ok(k), Ok(r)) => (k, r),
        (Err(e), _) => return usage(&e),
        (_, Err(e)) => return fail(&e),
    };
    match registry.sign(&target, &key, &annotations) {
        Ok(signed) => print(&format!("signed {signed} with {}\n", args.key.display())),
        Err(e) => refused(&e),
    }
}

pub fn attest(args: AttestArgs) -> ExitCode {
    let target = match reference(&args.reference) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let read = if args.predicate.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("stdin: {e}"))
    } else {
        std::fs::read_to_string(&args.predicate).map_err(|e| format!("{}: {e}", args.predicate.display()))
    };
    let predicate = read.and_then(|text| {
        serde_json::from_str::<serde_json::Value>(&text)
            .map_err(|e| format!("{}: the predicate is not JSON: {e}", args.predicate.display()))
    });
    let (predicate, key, registry) = match (predicate, signing_key(&args.key), registry()) {
        (Ok(p), Ok(k), Ok(r)) => (p, k, r),
        (Err(e), _, _) | (_, Err(e), _) => return usage(&e),
        (_, _, Err(e)) => return fail(&e),
    };
    match registry.attest(&target, &key, (&args.predicate_type, &predicate)) {
        Ok(attested) => print(&format!("attested {} of {attested} with {}\n", args.predicate_type, args.key.display())),
        Err(e) => refused(&e),
    }
}

pub fn verify(args: VerifyArgs) -> ExitCode {
    let (source, registry, trust) = match (reference(&args.reference), registry(), trust()) {
        (Ok(r), Ok(g), Ok(t)) => (r, g, t),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return fail(&e),
    };
    if !trust.has_keys() {
        return usage("paved verify needs --verify-key (a public key, as cosign.pub), or --certificate-identity with --trusted-root");
    }
    match registry.verify(&source, &trust) {
        Ok((pinned, kind, signers)) => report(&pinned, kind, &signers, None, args.format),
        Err(e) => refused(&e),
    }
}

/// What was pulled or verified, and who signed it.
fn report(
    reference: &Reference,
    kind: Kind,
    signers: &[Signer],
    written: Option<(&PathBuf, &Pulled)>,
    format: ListFormat,
) -> ExitCode {
    match format {
        ListFormat::Json => {
            let mut out = serde_json::json!({
                "reference": reference.to_string(),
                "digest": reference.digest,
                "kind": kind.as_str(),
                "signers": signers,
            });
            if let (Some((path, pulled)), Some(o)) = (written, out.as_object_mut()) {
                o.insert("written".into(), path.display().to_string().into());
                o.insert("annotations".into(), serde_json::to_value(&pulled.annotations).unwrap_or_default());
            }
            print(&pretty(&out))
        }
        ListFormat::Human => {
            let mut text = format!("{reference}: a {}", kind.as_str());
            if signers.is_empty() {
                text.push_str(", not verified (--allow-unsigned)");
            }
            for s in signers {
                text.push_str(&format!("\n  signed by {} for {}", s.key, s.identity));
                for (k, v) in &s.annotations {
                    text.push_str(&format!("\n    {k}={v}"));
                }
            }
            if let Some((path, pulled)) = written {
                text.push_str(&format!("\n  written to {}", path.display()));
                if kind == Kind::Plugin {
                    text.push_str(&format!("\n  sha256: {} (pin it in a Bundle)", sha256_hex(&pulled.content)));
                }
            }
            print(&(text + "\n"))
        }
    }
}
