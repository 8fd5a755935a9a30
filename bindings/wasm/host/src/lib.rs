//! Runs paved's two WebAssembly builds under wasmtime (the workspace's own, the plugin host's
//! version), as a CI system or an embedding program would:
//!
//! - `paved.wasm`, the `paved` command built for `wasm32-wasip2` (a `wasi:cli/command`): [`Command`];
//! - `paved_engine.wasm`, the `paved:engine` component: [`EngineComponent`].
//!
//! Both are built by `scripts/build-wasm` into `target/wasm32-wasip2/wasm/`.

use std::path::{Path, PathBuf};

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::p2::bindings::sync::CommandPre;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

mod bindings {
    #![allow(missing_docs)]
    wasmtime::component::bindgen!({ path: "../../../wit/engine", world: "engine" });
}

pub use bindings::exports::paved::engine::api::{
    Checked, Context, Diagnostic, Document, EngineOptions, Error, Mutated, Pack, Rendered,
};
pub use wasmtime::component::ResourceAny;

/// Where `scripts/build-wasm` puts `file` (`paved.wasm`, `paved_engine.wasm`).
pub fn artifact(file: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../target"), PathBuf::from);
    target.join("wasm32-wasip2/wasm").join(file)
}

/// What a guest owns: its WASI context.
pub struct Host {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// A wasmtime engine as `wasmtime run` configures one (Cranelift, optimised).
pub fn engine() -> wasmtime::Result<Engine> {
    Engine::new(&Config::new())
}

/// Compiles `path` (a component), naming it in the error.
fn compile(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    Component::from_file(engine, path)
        .map_err(|e| e.context(format!("{}: build it with scripts/build-wasm", path.display())))
}

fn linker(engine: &Engine) -> wasmtime::Result<Linker<Host>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    Ok(linker)
}

/// What a command run wrote and its exit status.
#[derive(Debug)]
pub struct Output {
    /// The exit status (0 when `run` returned, else what the guest exited with).
    pub code: i32,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
}

/// `paved.wasm`, compiled and linked once, run any number of times.
pub struct Command {
    engine: Engine,
    pre: CommandPre<Host>,
}

impl Command {
    /// Compiles the command at `path`.
    pub fn load(path: &Path) -> wasmtime::Result<Command> {
        let engine = engine()?;
        let component = compile(&engine, path)?;
        let pre = CommandPre::new(linker(&engine)?.instantiate_pre(&component)?)?;
        Ok(Command { engine, pre })
    }

    /// Runs `paved ARGS` as `wasmtime run --dir DIR::. paved.wasm ARGS` does: `dir` is the
    /// guest's working directory (read-only), `stdin` its standard input, no environment but
    /// `NO_COLOR`.
    pub fn run(&self, args: &[&str], dir: &Path, stdin: &[u8]) -> wasmtime::Result<Output> {
        let (stdout, stderr) = (MemoryOutputPipe::new(usize::MAX), MemoryOutputPipe::new(usize::MAX));
        let mut argv = vec!["paved"];
        argv.extend_from_slice(args);
        let wasi = WasiCtxBuilder::new()
            .args(&argv)
            .env("NO_COLOR", "1")
            .stdin(MemoryInputPipe::new(stdin.to_vec()))
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .preopened_dir(dir, ".", FsPerms::ReadOnly)?
            .build();
        let mut store = Store::new(&self.engine, Host { wasi, table: ResourceTable::new() });
        let command = self.pre.instantiate(&mut store)?;
        let code = match command.wasi_cli_run().call_run(&mut store) {
            Ok(Ok(())) => 0,
            Ok(Err(())) => 1,
            Err(e) => match e.downcast_ref::<I32Exit>() {
                Some(exit) => exit.0,
                None => return Err(e),
            },
        };
        drop(store);
        Ok(Output { code, stdout: stdout.contents().to_vec(), stderr: stderr.contents().to_vec() })
    }
}

/// `paved_engine.wasm`, compiled and linked once.
pub struct EngineComponent {
    engine: Engine,
    pre: bindings::EnginePre<Host>,
}

/// One instance of the engine component, with its store.
pub struct Instance {
    store: Store<Host>,
    bindings: bindings::Engine,
}

impl EngineComponent {
    /// Compiles the component at `path`.
    pub fn load(path: &Path) -> wasmtime::Result<EngineComponent> {
        let engine = engine()?;
        let component = compile(&engine, path)?;
        EngineComponent::link(engine, &component)
    }

    /// Links an already compiled component (a bench times compiling apart).
    pub fn link(engine: Engine, component: &Component) -> wasmtime::Result<EngineComponent> {
        let pre = bindings::EnginePre::new(linker(&engine)?.instantiate_pre(component)?)?;
        Ok(EngineComponent { engine, pre })
    }

    /// A fresh instance: no files, no environment; the host's clock only when a call leaves
    /// `now` out.
    pub fn instantiate(&self) -> wasmtime::Result<Instance> {
        let wasi = WasiCtxBuilder::new().build();
        let mut store = Store::new(&self.engine, Host { wasi, table: ResourceTable::new() });
        let bindings = self.pre.instantiate(&mut store)?;
        Ok(Instance { store, bindings })
    }
}

impl Instance {
    /// `check` of the component: an engine built and used once.
    pub fn check(
        &mut self,
        options: &EngineOptions,
        resources: &[Document],
        context: &Context,
        format: &str,
    ) -> wasmtime::Result<Result<Checked, Error>> {
        let api = self.bindings.paved_engine_api();
        api.call_check(&mut self.store, options, resources, context, format)
    }

    /// `engine.create` of the component: an engine to check with any number of times.
    pub fn create(&mut self, options: &EngineOptions) -> wasmtime::Result<Result<ResourceAny, Error>> {
        let api = self.bindings.paved_engine_api();
        api.engine().call_create(&mut self.store, options)
    }

    /// `engine.check` of the component.
    pub fn check_with(
        &mut self,
        engine: ResourceAny,
        resources: &[Document],
        context: &Context,
        format: &str,
    ) -> wasmtime::Result<Result<Checked, Error>> {
        let api = self.bindings.paved_engine_api();
        api.engine().call_check(&mut self.store, engine, resources, context, format)
    }

    /// `engine.mutate` of the component.
    pub fn mutate_with(
        &mut self,
        engine: ResourceAny,
        resources: &[Document],
        context: &Context,
    ) -> wasmtime::Result<Result<Mutated, Error>> {
        let api = self.bindings.paved_engine_api();
        api.engine().call_mutate(&mut self.store, engine, resources, context)
    }

    /// `render` of the component.
    pub fn render(
        &mut self,
        golden_path: &str,
        inputs: &Document,
        bundle: &[Document],
    ) -> wasmtime::Result<Result<Rendered, Error>> {
        let api = self.bindings.paved_engine_api();
        api.call_render(&mut self.store, golden_path, inputs, bundle)
    }

    /// `explain` of the component.
    pub fn explain(&mut self, query: &str, bundle: &[Document]) -> wasmtime::Result<Result<String, Error>> {
        let api = self.bindings.paved_engine_api();
        api.call_explain(&mut self.store, query, bundle)
    }

    /// `packs` of the component.
    pub fn packs(&mut self) -> wasmtime::Result<Vec<Pack>> {
        let api = self.bindings.paved_engine_api();
        api.call_packs(&mut self.store)
    }

    /// `golden-paths` of the component.
    pub fn golden_paths(&mut self) -> wasmtime::Result<String> {
        let api = self.bindings.paved_engine_api();
        api.call_golden_paths(&mut self.store)
    }
}

/// A document from a name and text.
pub fn document(name: impl Into<String>, text: impl Into<String>) -> Document {
    Document { name: name.into(), text: text.into() }
}
