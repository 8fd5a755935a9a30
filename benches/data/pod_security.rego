# The restricted Pod Security Standard, written as Gatekeeper library users write
# pod-security-policy templates: one rule per control, over a Pod or a workload's pod template.
package pod_security

import rego.v1

pod_spec := input.spec.template.spec if input.spec.template.spec
pod_spec := input.spec if input.kind == "Pod"

pod_metadata := input.spec.template.metadata if input.spec.template
pod_metadata := input.metadata if input.kind == "Pod"

containers contains c if some c in pod_spec.initContainers
containers contains c if some c in pod_spec.containers
containers contains c if some c in pod_spec.ephemeralContainers

violations contains "hostProcess" if {
	some c in containers
	c.securityContext.windowsOptions.hostProcess == true
}

violations contains "hostProcess" if pod_spec.securityContext.windowsOptions.hostProcess == true

violations contains "hostNamespaces" if pod_spec.hostNetwork == true
violations contains "hostNamespaces" if pod_spec.hostPID == true
violations contains "hostNamespaces" if pod_spec.hostIPC == true

violations contains "privileged" if {
	some c in containers
	c.securityContext.privileged == true
}

baseline_capabilities := {
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}

violations contains "capabilities_baseline" if {
	some c in containers
	some cap in c.securityContext.capabilities.add
	not baseline_capabilities[cap]
}

violations contains "hostPathVolumes" if {
	some v in pod_spec.volumes
	v.hostPath
}

violations contains "hostPorts" if {
	some c in containers
	some p in c.ports
	p.hostPort != 0
}

violations contains "appArmorProfile" if {
	some key, value in pod_metadata.annotations
	startswith(key, "container.apparmor.security.beta.kubernetes.io/")
	value != "runtime/default"
	not startswith(value, "localhost/")
}

violations contains "seLinuxOptions" if {
	some c in containers
	options := c.securityContext.seLinuxOptions
	not allowed_selinux(options)
}

allowed_selinux(opts) if {
	object.get(opts, "user", "") == ""
	object.get(opts, "role", "") == ""
	object.get(opts, "type", "") in {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
}

violations contains "procMount" if {
	some c in containers
	c.securityContext.procMount != "Default"
}

safe_sysctls := {
	"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
}

violations contains "sysctls" if {
	some s in pod_spec.securityContext.sysctls
	not safe_sysctls[s.name]
}

allowed_volume_types := {
	"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
	"projected", "secret",
}

violations contains "volumeTypes" if {
	some v in pod_spec.volumes
	some key, _ in v
	key != "name"
	not allowed_volume_types[key]
}

violations contains "allowPrivilegeEscalation" if {
	some c in containers
	not c.securityContext.allowPrivilegeEscalation == false
}

violations contains "runAsNonRoot" if {
	some c in containers
	not c.securityContext.runAsNonRoot == true
	not pod_spec.securityContext.runAsNonRoot == true
}

violations contains "runAsNonRoot" if {
	some c in containers
	c.securityContext.runAsNonRoot == false
}

violations contains "runAsUser" if {
	some c in containers
	c.securityContext.runAsUser == 0
}

violations contains "runAsUser" if pod_spec.securityContext.runAsUser == 0

violations contains "seccompProfile_restricted" if {
	some c in containers
	not seccomp_ok(object.get(c, ["securityContext", "seccompProfile", "type"], ""))
	not seccomp_ok(object.get(pod_spec, ["securityContext", "seccompProfile", "type"], ""))
}

seccomp_ok(t) if t in {"RuntimeDefault", "Localhost"}

violations contains "capabilities_restricted" if {
	some c in containers
	not "ALL" in object.get(c, ["securityContext", "capabilities", "drop"], [])
}

violations contains "capabilities_restricted" if {
	some c in containers
	some cap in c.securityContext.capabilities.add
	cap != "NET_BIND_SERVICE"
}
