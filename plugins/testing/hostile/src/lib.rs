//! A plugin that misbehaves on request, for paved's sandbox tests: `params.attack` picks how.
//! Never load it outside tests.

use std::hint::black_box;

use paved_pdk::{export_plugin, Error, Finding, Input, Metadata, Plugin};
use serde::Deserialize;

#[derive(Deserialize)]
struct Params {
    #[serde(default)]
    attack: String,
}

struct Hostile;

fn recurse(n: u64) -> u64 {
    let local = black_box([n; 16]);
    if n == 0 {
        0
    } else {
        recurse(n - 1).wrapping_add(local[0])
    }
}

/// What the sandbox let the plugin see, each as `name: what happened`.
fn probe() -> Vec<String> {
    let file = std::fs::read_to_string("/etc/passwd").map(|s| format!("read {} bytes", s.len()));
    let dir = std::fs::read_dir(".").map(|d| format!("listed {} entries", d.count()));
    let write = std::fs::write("/tmp/paved-plugin-was-here", b"x").map(|_| "wrote".to_owned());
    let env: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
    let args: Vec<String> = std::env::args().collect();
    let net = std::net::TcpStream::connect("127.0.0.1:80").map(|_| "connected".to_owned());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs());
    let mono = std::time::Instant::now();
    let elapsed = mono.elapsed();
    let mut seen = std::collections::HashMap::new();
    for i in 0..8 {
        seen.insert(i, i);
    }
    let order: Vec<i32> = seen.keys().copied().collect();
    vec![
        format!("file: {file:?}"),
        format!("dir: {dir:?}"),
        format!("write: {write:?}"),
        format!("env: {env:?}"),
        format!("args: {args:?}"),
        format!("net: {net:?}"),
        format!("clock: {now:?}"),
        format!("monotonic: {elapsed:?}"),
        format!("hashmap: {order:?}"),
    ]
}

impl Plugin for Hostile {
    fn metadata() -> Metadata {
        Metadata::new("hostile", "0.1.0", "Misbehaves on request; for tests only.")
            .rule("probe", "Reports what it saw.")
    }

    fn check(input: &Input) -> Result<Vec<Finding>, Error> {
        let attack = input.params::<Params>()?.attack;
        match attack.as_str() {
            "loop" => loop {
                black_box(());
            },
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(Vec::<u8>::with_capacity(1 << 24));
                    black_box(&hoard);
                }
            }
            "recursion" => Ok(vec![Finding::new("probe", "", recurse(black_box(u64::MAX)).to_string())]),
            "panic" => panic!("the hostile plugin gave up on purpose"),
            "trap" => std::process::abort(),
            "huge" => Ok((0..20).map(|i| Finding::new("probe", format!("/{i}"), "x".repeat(100_000))).collect()),
            "unknown-rule" => Ok(vec![Finding::new("not-a-rule-of-mine", "", "bad rule id")]),
            "bad-path" => Ok(vec![Finding::new("probe", "spec.containers[0]", "not a JSON pointer")]),
            "stderr" => {
                for _ in 0..20_000 {
                    eprintln!("noise noise noise noise noise noise noise noise");
                }
                panic!("gave up after all that logging")
            }
            "probe" => Ok(probe().into_iter().map(|seen| Finding::new("probe", "", seen)).collect()),
            "fail" => Err(Error::Failed("the hostile plugin refuses".into())),
            _ => Ok(Vec::new()),
        }
    }
}

export_plugin!(Hostile);
