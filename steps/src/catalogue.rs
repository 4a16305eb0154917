//! Every step an author can use: its pattern, what it means, and an example.
//! `pcmk-comply steps` prints this; a test keeps it equal to the registered steps.

pub struct StepDoc {
    pub pattern: &'static str,
    pub meaning: &'static str,
    pub example: &'static str,
    /// Works in `lint` from the candidate's files (else needs a running cluster).
    pub static_ok: bool,
}

pub const STEPS: &[StepDoc] = &[
    StepDoc { pattern: "corosync uses the {string} transport", meaning: "totem.transport (corosync's default: knet) is one of the comma-separated values", example: "Then corosync uses the \"knet\" transport", static_ok: true },
    StepDoc { pattern: "the corosync crypto_cipher is one of {string}", meaning: "totem.crypto_cipher (default none) is in the allowed list", example: "Then the corosync crypto_cipher is one of \"aes256, aes192, aes128\"", static_ok: true },
    StepDoc { pattern: "the corosync crypto_hash is one of {string}", meaning: "totem.crypto_hash (default none) is in the allowed list", example: "Then the corosync crypto_hash is one of \"sha256, sha384, sha512\"", static_ok: true },
    StepDoc { pattern: "corosync.conf holds no inline key", meaning: "no totem.key: the key lives in a root-only keyfile", example: "Then corosync.conf holds no inline key", static_ok: true },
    StepDoc { pattern: "on every node the running crypto_cipher and crypto_hash match corosync.conf", meaning: "corosync-cmapctl's live values equal the file's", example: "Then on every node the running crypto_cipher and crypto_hash match corosync.conf", static_ok: false },
    StepDoc { pattern: "knet's encrypted packet counters grow on every node within {int} seconds", meaning: "stats.knet.handle.{tx,rx}_crypt_packets increase: traffic really is encrypted", example: "Then knet's encrypted packet counters grow on every node within 3 seconds", static_ok: false },
    StepDoc { pattern: "the key {string} is identical on every node", meaning: "the key file exists everywhere with one content (sha256)", example: "Then the key \"/etc/corosync/authkey\" is identical on every node", static_ok: true },
    StepDoc { pattern: "the files {string} are identical on every node", meaning: "each listed file (or every file below a directory ending in /) has one content (sha256) on every node that has it, and no node lacks what another has; one node's backup or report cannot show it", example: "Then the files \"/etc/pacemaker/authkey, /etc/sudoers.d/\" are identical on every node", static_ok: true },
    StepDoc { pattern: "every node loads the same firewall", meaning: "nft list ruleset (a capture's, or live) is the same on every node, counters aside", example: "Then every node loads the same firewall", static_ok: true },
    StepDoc { pattern: "the key {string} is between {int} and {int} bytes", meaning: "the key file's size is in range", example: "Then the key \"/etc/corosync/authkey\" is between 128 and 4096 bytes", static_ok: true },
    StepDoc { pattern: "no resource parameter in the CIB holds a plaintext secret", meaning: "no password/passwd/secret/token/community/key parameter in clear (password_script and lrm:// references are fine)", example: "Then no resource parameter in the CIB holds a plaintext secret", static_ok: true },
    StepDoc { pattern: "no cleartext cluster data crosses the wire while the CIB changes", meaning: "a capture on one node during a CIB change shows no cluster name, node name, CIB fragment or the change itself", example: "Then no cleartext cluster data crosses the wire while the CIB changes", static_ok: false },
    StepDoc { pattern: "the nftables ruleset is loaded on every node", meaning: "nft list ruleset has a table on every node (lint: the candidate places /etc/nftables.conf and loads it at boot)", example: "Then the nftables ruleset is loaded on every node", static_ok: true },
    StepDoc { pattern: "from a host outside the cluster no node answers on TCP ports {string}", meaning: "with a listener on each port, a container on the cluster network that is not a node cannot connect; the cluster stays quorate", example: "Then from a host outside the cluster no node answers on TCP ports \"2224, 3121\"", static_ok: false },
    StepDoc { pattern: "from a host outside the cluster no node receives UDP on ports {string}", meaning: "a burst of datagrams from a container on the cluster network does not raise the nodes' UDP delivery counters (listeners bound where free); the cluster stays quorate", example: "Then from a host outside the cluster no node receives UDP on ports \"5405, 5406\"", static_ok: false },
    StepDoc { pattern: "a rogue node with the cluster's corosync.conf but another key cannot join", meaning: "a node's container is replaced by one with the same name, addresses and corosync.conf but a different key; it must not become a member (@destructive)", example: "Then a rogue node with the cluster's corosync.conf but another key cannot join", static_ok: false },
    StepDoc { pattern: "the cluster is quorate with every node online", meaning: "crm_mon shows a DC, quorum and every node online", example: "Then the cluster is quorate with every node online", static_ok: false },
    StepDoc { pattern: "the user {string} can read the CIB", meaning: "cibadmin --query as that user succeeds", example: "Then the user \"auditor\" can read the CIB", static_ok: false },
    StepDoc { pattern: "the user {string} cannot read the CIB", meaning: "cibadmin --query as that user is refused", example: "Then the user \"guest\" cannot read the CIB", static_ok: false },
    StepDoc { pattern: "the user {string} cannot change the CIB", meaning: "a real write (crm_attribute) as that user leaves the CIB unchanged", example: "Then the user \"auditor\" cannot change the CIB", static_ok: false },
    StepDoc { pattern: "every read-only ACL user of the CIB can read it but not change it", meaning: "for each acl_target whose roles only read: the account (created in haclient where the node lacks it) reads the CIB and a real write leaves it unchanged; not applicable when there is none", example: "Then every read-only ACL user of the CIB can read it but not change it", static_ok: false },
    StepDoc { pattern: "an account outside haclient cannot read the CIB", meaning: "cibadmin --query as the harness's own account `pcmk-probe`, in no cluster group, is refused", example: "Then an account outside haclient cannot read the CIB", static_ok: false },
    StepDoc { pattern: "sudo lets each user the candidate's sudoers rules name run only these commands:", meaning: "for each user of the candidate's sudoers files (root and %groups aside), every rule in `sudo -l -U user` is in the table's command column; not applicable when there is none", example: "Then sudo lets each user the candidate's sudoers rules name run only these commands:\n  | command |\n  | /usr/sbin/crm_mon |", static_ok: false },
    StepDoc { pattern: "sudo lets {string} run only these commands:", meaning: "every rule in `sudo -l -U user` is in the table's command column", example: "Then sudo lets \"operator\" run only these commands:\n  | command |\n  | /usr/sbin/crm_mon |", static_ok: false },
    StepDoc { pattern: "every node has at least these package versions:", meaning: "installed versions (Debian ordering) are at or above the table's; rows for packages not installed are ignored (lint: the packages a capture listed)", example: "Then every node has at least these package versions:\n  | package | version | reason |\n  | pacemaker | 2.0.5 | CVE-2020-25654 |", static_ok: true },
    StepDoc { pattern: "every node runs the same versions of {string}", meaning: "the listed packages have one version cluster-wide (lint: as a capture listed them)", example: "Then every node runs the same versions of \"pacemaker, corosync\"", static_ok: true },
    StepDoc { pattern: "the file {string} is owned by {string} with mode at most {string}", meaning: "the file exists, has that user:group, and no mode bit beyond the given octal mode", example: "Then the file \"/etc/corosync/authkey\" is owned by \"root:root\" with mode at most \"0400\"", static_ok: true },
    StepDoc { pattern: "the file {string}, if present, is owned by {string} with mode at most {string}", meaning: "as above, for files a deployment may not have", example: "Then the file \"/var/lib/pcsd/pcsd.key\", if present, is owned by \"root:root\" with mode at most \"0600\"", static_ok: true },
    StepDoc { pattern: "every file in {string} is owned by {string} with mode at most {string}", meaning: "each regular file directly in the directory passes the ownership and mode check", example: "Then every file in \"/var/lib/pcsd\" is owned by \"root:root\" with mode at most \"0600\"", static_ok: true },
    StepDoc { pattern: "the cluster option {string} is {string}", meaning: "the crm_config option (or Pacemaker's default when unset) has that value", example: "Then the cluster option \"stonith-enabled\" is \"true\"", static_ok: true },
    StepDoc { pattern: "every node is the target of an enabled fence device", meaning: "each node is in an enabled device's pcmk_host_list or pcmk_host_map, or a fencing level's target, or the device claims every node (pcmk_host_check=none), or watchdog fencing is on; a device that names no hosts leaves it to the agent (not judged)", example: "And every node is the target of an enabled fence device", static_ok: true },
    StepDoc { pattern: "with at least {int} nodes the cluster option {string} is not {string}", meaning: "on clusters that large, the option does not have that value", example: "Then with at least 3 nodes the cluster option \"no-quorum-policy\" is not \"ignore\"", static_ok: true },
    StepDoc { pattern: "every resource agent the CIB uses exists, is owned by root and is not writable by group or others", meaning: "each primitive's agent file on every node is root-owned and not group/world-writable", example: "Then every resource agent the CIB uses exists, is owned by root and is not writable by group or others", static_ok: false },
    StepDoc { pattern: "the password of {string}, if set, is neither empty nor one of {string}", meaning: "checked against /etc/shadow by hashing (live) or the candidate's password file (lint)", example: "Then the password of \"hacluster\", if set, is neither empty nor one of \"linux, hacluster, password\"", static_ok: true },
    StepDoc { pattern: "the pcsd option {string} is set to none of {string}", meaning: "/etc/default/pcsd sets the option, and to none of the listed values", example: "Then the pcsd option \"PCSD_BIND_ADDR\" is set to none of \"::, 0.0.0.0\"", static_ok: true },
    StepDoc { pattern: "the pcsd option {string} contains all of {string}", meaning: "the option's comma-separated value includes every listed item", example: "Then the pcsd option \"PCSD_SSL_OPTIONS\" contains all of \"OP_NO_TLSv1, OP_NO_TLSv1_1\"", static_ok: true },
    StepDoc { pattern: "the node running {string} is killed", meaning: "SIGKILL to every process of the node where the resource runs, like a power cut (@destructive)", example: "When the node running \"service\" is killed", static_ok: false },
    StepDoc { pattern: "{string} fails its monitor", meaning: "crm_resource --fail on the node where it runs (@destructive)", example: "When \"service\" fails its monitor", static_ok: false },
    StepDoc { pattern: "the node running {string} is cut off from the others", meaning: "the node is disconnected from every cluster network: a partition (@destructive)", example: "When the node running \"service\" is cut off from the others", static_ok: false },
    StepDoc { pattern: "{string} runs on another node within {int} seconds", meaning: "polled every 250 ms once corosync can have noticed the fault (token + consensus after it); the time and that floor are reported", example: "Then \"service\" runs on another node within 30 seconds", static_ok: false },
    StepDoc { pattern: "{string} is running again within {int} seconds", meaning: "after a monitor failure: a fail count is recorded and the resource runs again", example: "Then \"service\" is running again within 30 seconds", static_ok: false },
    StepDoc { pattern: "the killed node was fenced", meaning: "the harness powered the node off at the cluster's request and stonith_admin --history shows it", example: "Then the killed node was fenced", static_ok: false },
    StepDoc { pattern: "the killed node is started again", meaning: "boots the node the fault took down (no-op if fencing rebooted it)", example: "When the killed node is started again", static_ok: false },
    StepDoc { pattern: "the cluster is quorate with every node online within {int} seconds", meaning: "waits for a DC, quorum and every node online", example: "Then the cluster is quorate with every node online within 60 seconds", static_ok: false },
    StepDoc { pattern: "{string} runs on at most one side of the partition for {int} seconds", meaning: "the majority polled every 250 ms once corosync can have noticed the cut (token + consensus after it), and the cut-off node whenever the majority runs it: never active on both at once; the majority takes it over", example: "Then \"service\" runs on at most one side of the partition for 20 seconds", static_ok: false },
    StepDoc { pattern: "the configuration is backed up with {string}", meaning: "runs the procedure (\"cibadmin --query\" or \"crm configure save\") from a root login shell on the first node (@destructive)", example: "When the configuration is backed up with \"cibadmin --query\"", static_ok: false },
    StepDoc { pattern: "the backup is readable by root only", meaning: "the backup file is root's with no group or other permission bits", example: "Then the backup is readable by root only", static_ok: false },
    StepDoc { pattern: "the configuration is erased on every node", meaning: "cibadmin --erase --force: the CIB's configuration is gone cluster-wide", example: "When the configuration is erased on every node", static_ok: false },
    StepDoc { pattern: "the backup is restored onto a fresh cluster", meaning: "pacemaker is stopped on every node, its CIB and history wiped, and started on an empty configuration (as `pcs cluster destroy` and `setup` leave it); the backup is restored there with the procedure's own tool", example: "When the backup is restored onto a fresh cluster", static_ok: false },
    StepDoc { pattern: "the restored configuration equals the original", meaning: "the configuration section, normalised (attribute order, whitespace, versions ignored), equals the one backed up", example: "Then the restored configuration equals the original", static_ok: false },
    StepDoc { pattern: "restoring a truncated copy of the backup fails and changes nothing", meaning: "half the backup is refused by the restore tool and the running configuration stays as it was", example: "Then restoring a truncated copy of the backup fails and changes nothing", static_ok: false },
    StepDoc { pattern: "{word} is killed on the node running {string}", meaning: "SIGKILL to corosync or pacemakerd only, as crm cluster crash_test does (@destructive)", example: "When corosync is killed on the node running \"service\"", static_ok: false },
    StepDoc { pattern: "{string} runs on some node within {int} seconds", meaning: "a quorate partition runs the resource again (or still) within the time, judged once corosync can have noticed the fault", example: "Then \"service\" runs on some node within 30 seconds", static_ok: false },
    StepDoc { pattern: "the node where it was killed is fenced or back in the cluster within {int} seconds", meaning: "the harness fenced it at the cluster's request, or it is a full member again", example: "Then the node where it was killed is fenced or back in the cluster within 60 seconds", static_ok: false },
    StepDoc { pattern: "every node but the one running {string} is killed", meaning: "leaves one node without quorum (@destructive)", example: "When every node but the one running \"service\" is killed", static_ok: false },
    StepDoc { pattern: "{string} stops on the remaining node within {int} seconds", meaning: "the lone node's own view shows the resource stopped there (no-quorum-policy), asked once corosync can have noticed the loss", example: "Then \"service\" stops on the remaining node within 30 seconds", static_ok: false },
    StepDoc { pattern: "the audit rules watch these paths for writes and attribute changes:", meaning: "rules in /etc/audit/rules.d/*.rules (`-w PATH -p wa`, or `-a always,exit -F dir=|path= -F perm=wa`) cover every path of the table, and none says `-e 0`; checked as written, since containers have no kernel audit", example: "Then the audit rules watch these paths for writes and attribute changes:\n  | path           |\n  | /etc/corosync  |", static_ok: true },
    StepDoc { pattern: "corosync logs to a file and to syslog, with timestamps", meaning: "logging.to_logfile (with a logfile), logging.to_syslog and logging.timestamp are on in corosync.conf", example: "Then corosync logs to a file and to syslog, with timestamps", static_ok: true },
    StepDoc { pattern: "on every node the logs {string} have timestamped lines", meaning: "each listed log file exists on every node, is not empty, and its last lines start with a timestamp", example: "Then on every node the logs \"/var/log/pacemaker/pacemaker.log\" have timestamped lines", static_ok: false },
    StepDoc { pattern: "{string} sets the meta attribute {string} of {string} through sudo", meaning: "the user runs `sudo crm_resource --meta --set-parameter` with a fresh value on the first node", example: "When \"operator\" sets the meta attribute \"audit-marker\" of \"service\" through sudo", static_ok: false },
    StepDoc { pattern: "the node's logs name the user, the command and the change", meaning: "a timestamped syslog line (auth.log) names the user and the crm_resource command with the value, and pacemaker.log records the change", example: "Then the node's logs name the user, the command and the change", static_ok: false },
    StepDoc { pattern: "the file-integrity configuration covers these paths:", meaning: "/etc/aide/aide.conf selects every path of the table with a content hash (sha256…, H or R, directly or through a group) and excludes none", example: "Then the file-integrity configuration covers these paths:\n  | path                   |\n  | /etc/corosync/authkey  |", static_ok: true },
    StepDoc { pattern: "the file-integrity baseline is taken on every node", meaning: "`aide --init` with the node's /etc/aide/aide.conf, the new database made current", example: "When the file-integrity baseline is taken on every node", static_ok: false },
    StepDoc { pattern: "the files {string} are tampered with on {string}", meaning: "one byte is appended to each listed file on that node", example: "When the files \"/etc/corosync/corosync.conf, /etc/corosync/authkey\" are tampered with on \"node1\"", static_ok: false },
    StepDoc { pattern: "the file-integrity check on {string} reports exactly the tampered files", meaning: "`aide --check` on that node lists every tampered file as changed, and no other file", example: "Then the file-integrity check on \"node1\" reports exactly the tampered files", static_ok: false },
    StepDoc { pattern: "the file-integrity check on {string} reports no change", meaning: "`aide --check` on that node exits 0", example: "Then the file-integrity check on \"node2\" reports no change", static_ok: false },
    StepDoc { pattern: "from a host on the public network no node answers on TCP ports {string}", meaning: "as for a host outside the cluster, but from a container on the public network (`public_network = true`), aimed at the nodes' public addresses", example: "Then from a host on the public network no node answers on TCP ports \"2224, 3121\"", static_ok: false },
    StepDoc { pattern: "from a host on the public network no node receives UDP on ports {string}", meaning: "a burst of datagrams from the public network to the nodes' public addresses does not raise their UDP delivery counters", example: "Then from a host on the public network no node receives UDP on ports \"5405, 5406\"", static_ok: false },
    StepDoc { pattern: "from a host on the public network {string} answers on TCP port {int}", meaning: "the node running the resource accepts a TCP connection on its public address", example: "Then from a host on the public network \"web\" answers on TCP port 8080", static_ok: false },
    StepDoc { pattern: "on every node the cluster daemons listen on cluster addresses only", meaning: "corosync, pcsd and pacemaker_remote sockets (ss -lntup) are bound to the node's cluster addresses or loopback, never a wildcard or the public address", example: "Then on every node the cluster daemons listen on cluster addresses only", static_ok: false },
    StepDoc { pattern: "a central log collector on the cluster network", meaning: "starts `loghost`, an rsyslog container on the cluster network that keeps what it receives (TCP and UDP 514) per sending host", example: "Given a central log collector on the cluster network", static_ok: false },
    StepDoc { pattern: "every node's corosync and pacemaker logs arrive at the collector within {int} seconds", meaning: "the collector holds corosync and pacemaker lines from every node, and a line just logged on each node", example: "Then every node's corosync and pacemaker logs arrive at the collector within 20 seconds", static_ok: false },
    StepDoc { pattern: "an alert tagged {string} about {string} starting on its new node arrives at the collector within {int} seconds", meaning: "after a fault, a line with that syslog tag naming the resource, the node it moved to and `start` reaches the collector", example: "Then an alert tagged \"pcmk-alert\" about \"service\" starting on its new node arrives at the collector within 30 seconds", static_ok: false },
    StepDoc { pattern: "syslog on every node is forwarded to {string}", meaning: "a file under /etc/rsyslog* forwards to that host (an omfwd action, or `@host` / `@@host`)", example: "Then syslog on every node is forwarded to \"loghost\"", static_ok: true },
    StepDoc { pattern: "every resource in the candidate's configuration is active within {int} seconds", meaning: "every primitive of the candidate's cib.xml (in groups and clones too) is in crm_mon, active and not failed", example: "Then every resource in the candidate's configuration is active within 60 seconds", static_ok: false },
    StepDoc { pattern: "replacing each node in turn by a {word} node keeps the cluster quorate and {string} running", meaning: "a rolling upgrade: each node in turn is shut down and replaced by a node of that distribution with the same name, addresses, keys and files; after each step every node is back online with quorum and the resource runs (@destructive)", example: "Then replacing each node in turn by a trixie node keeps the cluster quorate and \"service\" running", static_ok: false },
];

#[cfg(test)]
mod tests {
    use super::*;
    use cucumber::codegen::{inventory, StepConstructor, WorldInventory};

    use crate::world::PolicyWorld;

    fn registered() -> Vec<regex::Regex> {
        let mut out = Vec::new();
        for s in inventory::iter::<<PolicyWorld as WorldInventory>::Given> {
            out.push((s.inner().1)());
        }
        for s in inventory::iter::<<PolicyWorld as WorldInventory>::When> {
            out.push((s.inner().1)());
        }
        for s in inventory::iter::<<PolicyWorld as WorldInventory>::Then> {
            out.push((s.inner().1)());
        }
        out
    }

    #[test]
    fn catalogue_lists_every_registered_step_once() {
        let steps = registered();
        assert_eq!(steps.len(), STEPS.len(), "every step definition has one catalogue entry");
        for doc in STEPS {
            let first_line = doc.example.lines().next().unwrap();
            let text = first_line.split_once(' ').unwrap().1;
            let matching = steps.iter().filter(|re| re.is_match(text)).count();
            assert_eq!(matching, 1, "example `{text}` matches {matching} step definitions");
        }
    }
}
