//! A stub Kubernetes API server on loopback: lists and watches Namespaces, as kube-rs' watcher
//! asks for them, and relabels one on demand (a MODIFIED event to every open watch).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

#[derive(Default)]
struct Cluster {
    version: u64,
    namespaces: Vec<(String, Value)>,
    watchers: Vec<Sender<String>>,
}

pub struct ApiServer {
    url: String,
    cluster: Arc<Mutex<Cluster>>,
    lists: Arc<AtomicUsize>,
    watches: Arc<AtomicUsize>,
}

fn namespace(name: &str, labels: &Value, version: u64) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace",
           "metadata": {"name": name, "uid": format!("uid-{name}"), "resourceVersion": version.to_string(), "labels": labels}})
}

impl ApiServer {
    pub fn start(namespaces: Vec<(&str, Value)>) -> ApiServer {
        Self::serve(namespaces, false)
    }

    /// A server that accepts connections and never answers.
    pub fn start_stalled() -> ApiServer {
        Self::serve(Vec::new(), true)
    }

    fn serve(namespaces: Vec<(&str, Value)>, stalled: bool) -> ApiServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let cluster = Arc::new(Mutex::new(Cluster {
            version: 10,
            namespaces: namespaces.into_iter().map(|(n, l)| (n.to_owned(), l)).collect(),
            watchers: Vec::new(),
        }));
        let (lists, watches) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let shared = (Arc::clone(&cluster), Arc::clone(&lists), Arc::clone(&watches));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let (cluster, lists, watches) = (Arc::clone(&shared.0), Arc::clone(&shared.1), Arc::clone(&shared.2));
                std::thread::spawn(move || {
                    if stalled {
                        std::thread::sleep(std::time::Duration::from_secs(600));
                        return;
                    }
                    let _ = connection(conn, &cluster, &lists, &watches);
                });
            }
        });
        ApiServer { url, cluster, lists, watches }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn lists(&self) -> usize {
        self.lists.load(Ordering::Relaxed)
    }

    pub fn watches(&self) -> usize {
        self.watches.load(Ordering::Relaxed)
    }

    /// Sets a namespace's labels and tells every watch.
    pub fn relabel(&self, name: &str, labels: Value) {
        let mut c = self.cluster.lock().unwrap();
        c.version += 1;
        let version = c.version;
        if let Some(ns) = c.namespaces.iter_mut().find(|(n, _)| n == name) {
            ns.1 = labels.clone();
        }
        let event = json!({"type": "MODIFIED", "object": namespace(name, &labels, version)}).to_string() + "\n";
        c.watchers.retain(|w| w.send(event.clone()).is_ok());
    }
}

fn connection(
    conn: TcpStream,
    cluster: &Mutex<Cluster>,
    lists: &AtomicUsize,
    watches: &AtomicUsize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let target = line.split(' ').nth(1).unwrap_or_default().to_owned();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
                break;
            }
        }
        if !target.starts_with("/api/v1/namespaces") {
            let body = r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}"#;
            write!(
                out,
                "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )?;
            continue;
        }
        if target.contains("watch=true") || target.contains("watch=1") {
            watches.fetch_add(1, Ordering::Relaxed);
            let (tx, rx) = channel();
            cluster.lock().unwrap().watchers.push(tx);
            write!(out, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")?;
            out.flush()?;
            for event in rx {
                write!(out, "{:x}\r\n{event}\r\n", event.len())?;
                out.flush()?;
            }
            return Ok(());
        }
        lists.fetch_add(1, Ordering::Relaxed);
        let body = {
            let c = cluster.lock().unwrap();
            let items: Vec<Value> = c.namespaces.iter().map(|(n, l)| namespace(n, l, c.version)).collect();
            json!({"apiVersion": "v1", "kind": "NamespaceList", "metadata": {"resourceVersion": c.version.to_string()}, "items": items})
                .to_string()
        };
        write!(
            out,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )?;
        out.flush()?;
    }
}
