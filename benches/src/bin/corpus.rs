//! Writes a corpus of realistic manifests for timing `paved check`: `corpus DIR SERVICES` writes
//! one file per service holding its Deployment, Service, HorizontalPodAutoscaler and
//! PodDisruptionBudget (four manifests per service). The same arguments give the same files.
//! About one service in five breaks a rule of the default packs (a floating tag, no probes,
//! missing requests, a privileged sidecar), as a real fleet does.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

const TEAMS: &[&str] = &["payments", "search", "checkout", "identity", "growth", "platform", "data", "mobile"];
const SIDECARS: &[&str] = &["registry.acme.dev/mesh/proxy:1.22.3", "registry.acme.dev/obs/log-shipper:4.1.0"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(Ok(services))) = (args.get(1), args.get(2).map(|n| n.parse::<usize>())) else {
        eprintln!("usage: corpus DIR SERVICES");
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    let mut seed: u64 = 0x5eed;
    for i in 0..services {
        let text = service(i, &mut seed);
        let file = dir.join(format!("svc-{i:05}.yaml"));
        if let Err(e) = std::fs::write(&file, text) {
            eprintln!("error: cannot write {}: {e}", file.display());
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

fn next(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    *seed >> 33
}

fn pick<'a>(items: &[&'a str], seed: &mut u64) -> &'a str {
    let i = usize::try_from(next(seed)).unwrap_or(0) % items.len().max(1);
    items.get(i).copied().unwrap_or_default()
}

/// One service's manifests: a Deployment (an app container and up to two sidecars), its
/// Service, HorizontalPodAutoscaler and PodDisruptionBudget; one in five with a planted flaw.
fn service(i: usize, seed: &mut u64) -> String {
    let team = pick(TEAMS, seed);
    let name = format!("{team}-svc-{i}");
    let ns = format!("{team}-prod");
    let flaw = next(seed) % 20;
    let tag = if flaw == 0 {
        "latest".to_owned()
    } else {
        format!("{}.{}.{}", next(seed) % 5, next(seed) % 20, next(seed) % 10)
    };
    let replicas = 2 + next(seed) % 4;
    let mut containers = app_container(team, &name, &tag, flaw, seed);
    for s in 0..(next(seed) % 3) {
        let privileged = flaw == 3 && s == 0;
        let _ = write!(
            containers,
            "        - name: sidecar-{s}\n          image: {}\n          resources:\n            requests: {{cpu: 50m, memory: 64Mi}}\n            limits: {{memory: 128Mi}}\n          livenessProbe: {{tcpSocket: {{port: 15000}}}}\n          readinessProbe: {{tcpSocket: {{port: 15000}}}}\n          securityContext: {{allowPrivilegeEscalation: false, privileged: {privileged}}}\n",
            pick(SIDECARS, seed)
        );
    }
    let cc = 1000 + next(seed) % 9000;
    manifests(&name, &ns, team, replicas, &containers, cc)
}

/// The app container: probes unless the flaw is 1, requests unless it is 2.
fn app_container(team: &str, name: &str, tag: &str, flaw: u64, seed: &mut u64) -> String {
    let probes = if flaw == 1 {
        String::new()
    } else {
        "          livenessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 10}\n          readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 5}\n".to_owned()
    };
    let requests = if flaw == 2 {
        "            limits: {memory: 512Mi}\n".to_owned()
    } else {
        format!(
            "            requests: {{cpu: {}m, memory: {}Mi}}\n            limits: {{memory: {}Mi}}\n",
            100 + next(seed) % 900,
            128 + next(seed) % 512,
            768
        )
    };
    format!(
        "        - name: app\n          image: registry.acme.dev/{team}/{name}:{tag}\n          ports: [{{containerPort: 8080, name: http}}]\n          env:\n            - {{name: LOG_LEVEL, value: info}}\n            - {{name: REGION, value: eu-west-1}}\n          resources:\n{requests}{probes}          securityContext: {{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {{drop: [ALL]}}}}\n"
    )
}

/// The four manifests of a service around its containers.
fn manifests(name: &str, ns: &str, team: &str, replicas: u64, containers: &str, cc: u64) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
  labels: {{app: {name}, team: {team}, cost-center: cc-{cc}, env: production}}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}, team: {team}}}
    spec:
      serviceAccountName: {name}
      securityContext: {{runAsNonRoot: true, seccompProfile: {{type: RuntimeDefault}}}}
      containers:
{containers}---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
  labels: {{app: {name}, team: {team}}}
spec:
  selector: {{app: {name}}}
  ports: [{{name: http, port: 80, targetPort: http}}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {name}
  namespace: {ns}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: {name}}}
  minReplicas: {replicas}
  maxReplicas: {max}
  metrics:
    - type: Resource
      resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 70}}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {name}
  namespace: {ns}
spec:
  minAvailable: 1
  selector:
    matchLabels: {{app: {name}}}
",
        max = replicas * 5,
    )
}
