//! Practice 8, backup and disaster recovery: the backup procedure's output is
//! private, and it restores the whole configuration onto a fresh cluster,
//! while a damaged backup is refused without touching the running cluster.

use base64::Engine;
use cucumber::{then, when};
use pcmk_model::scope::Evidence;

use crate::support::{ensure_authored, ensure_policy, fail_policy};
use crate::world::{Backup, PolicyWorld};

const BACKUP_DIR: &str = "/var/backups/pcmk-comply";

/// The backup command and the file it writes, per procedure.
fn procedure(name: &str) -> anyhow::Result<(String, String)> {
    match name {
        "cibadmin --query" => Ok((format!("cibadmin --query > {BACKUP_DIR}/cib.xml"), format!("{BACKUP_DIR}/cib.xml"))),
        "crm configure save" => Ok((format!("crm configure save {BACKUP_DIR}/cib.crm"), format!("{BACKUP_DIR}/cib.crm"))),
        other => anyhow::bail!("unknown backup procedure `{other}`; known: \"cibadmin --query\", \"crm configure save\""),
    }
}

fn restore_command(name: &str, file: &str) -> String {
    match name {
        // Onto an empty configuration, as after a disaster. crmsh 4.4.1 applies its
        // change as a diff, which fails when the CIB moved on meanwhile (the DC
        // rewrites its own options after an erase): settle first, retry a few times.
        "crm configure save" => format!(
            "cibadmin --erase --force || exit 1; crm_resource --wait --timeout=60 >/dev/null 2>&1; \
             for try in 1 2 3 4 5; do crm configure load replace {file} && exit 0; sleep 3; done; exit 1"
        ),
        // The CIB refuses a replacement older than itself, and a fresh cluster may
        // have counted more updates than the backup: raise admin_epoch above the
        // running one first, as Pacemaker's documentation advises.
        // Strict parse first: Pacemaker recovers broken XML, so a truncated backup
        // can otherwise restore part of a configuration (seen when the cut fell well).
        _ => format!(
            "set -e; xmllint --noout {file}; now=$(cibadmin --query | xmllint --xpath 'string(/cib/@admin_epoch)' -); \
             sed -E \"0,/admin_epoch=\\\"[0-9]+\\\"/s//admin_epoch=\\\"$((now + 1))\\\"/\" {file} > {file}.restore; \
             cibadmin --replace --xml-file {file}.restore"
        ),
    }
}

/// The configuration section, canonical: attributes sorted; whitespace, volatile
/// values (versions the cluster writes itself) and ids nothing refers to left out.
pub fn normalise_configuration(cib: &str) -> anyhow::Result<String> {
    let doc = pcmk_model::text::parse_xml(cib)?;
    let configuration =
        doc.descendants().find(|n| n.has_tag_name("configuration")).ok_or_else(|| anyhow::anyhow!("no <configuration> in the CIB"))?;
    let mut out = String::new();
    write_canonical(configuration, 0, &mut out);
    Ok(out)
}

const VOLATILE_OPTIONS: &[&str] = &["dc-version", "cluster-infrastructure", "have-watchdog", "last-lrm-refresh"];
/// Elements whose ids nothing refers to: tools regenerate them (crmsh does on load).
const ANONYMOUS: &[&str] = &[
    "nvpair",
    "acl_permission",
    "op",
    "instance_attributes",
    "meta_attributes",
    "operations",
    "utilization",
    "rule",
    "expression",
    "date_expression",
    // crmsh's fencing_topology names no levels: it numbers them anew on load.
    "fencing-level",
];

/// Elements whose children's order a restore need not repeat: nodes are
/// listed in the order they joined; crmsh saves resources, constraints and
/// fencing levels sorted by id (its `core.sort_elements`, on by default), and
/// a level's place is its `index`. A group's members, a set's resources and
/// a rule's expressions keep their order: it means something there.
const UNORDERED: &[&str] = &["nodes", "resources", "constraints", "fencing-topology"];

fn write_canonical(node: roxmltree::Node, depth: usize, out: &mut String) {
    if node.has_tag_name("nvpair") && node.attribute("name").is_some_and(|n| VOLATILE_OPTIONS.contains(&n)) {
        return;
    }
    let anonymous = ANONYMOUS.contains(&node.tag_name().name());
    let mut attributes: Vec<(&str, &str)> =
        node.attributes().filter(|a| !(anonymous && a.name() == "id")).map(|a| (a.name(), a.value())).collect();
    attributes.sort();
    out.push_str(&"  ".repeat(depth));
    out.push('<');
    out.push_str(node.tag_name().name());
    for (name, value) in attributes {
        out.push_str(&format!(" {name}=\"{value}\""));
    }
    out.push_str(">\n");
    let mut children: Vec<String> = node
        .children()
        .filter(|c| c.is_element())
        .map(|child| {
            let mut text = String::new();
            write_canonical(child, depth + 1, &mut text);
            text
        })
        .collect();
    if UNORDERED.iter().any(|tag| node.has_tag_name(*tag)) {
        children.sort();
    }
    children.iter().for_each(|c| out.push_str(c));
}

async fn configuration(world: &mut PolicyWorld, node: &str) -> anyhow::Result<String> {
    let out = world.exec(node, &["cibadmin", "--query", "--scope", "configuration"]).await?;
    if !out.success() {
        return world.infra(Err(anyhow::anyhow!("cibadmin --query on {node}: {}", out.stderr.trim())));
    }
    world.infra(normalise_configuration(&out.stdout))
}

fn backup(world: &PolicyWorld) -> anyhow::Result<Backup> {
    world.backup.clone().ok_or_else(|| world.authoring("no backup was taken before this step"))
}

#[when(expr = "the configuration is backed up with {string}")]
async fn take_backup(world: &mut PolicyWorld, name: String) -> anyhow::Result<()> {
    world.require_live("a backup")?;
    ensure_authored!(world, world.destructive, "backup and restore replace clusters: tag the scenario @destructive");
    let (command, file) = procedure(&name).map_err(|e| world.authoring(e))?;
    let node = world.first_node().await?;
    let original = configuration(world, &node).await?;
    // A root login shell, as an operator or a cron job with the node's login environment runs it.
    let out = world.exec(&node, &["bash", "-lc", &format!("mkdir -p {BACKUP_DIR} && {command}")]).await?;
    ensure_policy!(world, out.success(), "`{command}` failed on {node}: {}", out.stderr.trim());
    let content = world.exec(&node, &["base64", "-w0", &file]).await?;
    let bytes = world.infra(base64::engine::general_purpose::STANDARD.decode(content.stdout.trim()).map_err(anyhow::Error::from))?;
    ensure_policy!(world, !bytes.is_empty(), "`{command}` wrote an empty backup");
    world.backup = Some(Backup { procedure: name, node, file, content: bytes, original });
    Ok(())
}

#[then(expr = "the backup is readable by root only")]
async fn backup_private(world: &mut PolicyWorld) -> anyhow::Result<()> {
    let backup = backup(world)?;
    // The backup's mode is root's login umask: the candidate's only where it configures one.
    let login = [Evidence::File("/etc/profile"), Evidence::File("/etc/profile.d/"), Evidence::File("/etc/login.defs")];
    if world.lacks(&login) {
        return Ok(());
    }
    let out = world.exec(&backup.node, &["stat", "-c", "%U %a", &backup.file]).await?;
    let mut fields = out.stdout.split_whitespace();
    let (owner, mode) = (fields.next().unwrap_or("?"), u32::from_str_radix(fields.next().unwrap_or("777"), 8).unwrap_or(0o777));
    ensure_policy!(
        world,
        owner == "root" && mode & 0o077 == 0,
        "{}:{} is owned by {owner} with mode {mode:04o}: the backup holds keys and perhaps passwords (set `umask 077` for the backup job)",
        backup.node,
        backup.file
    );
    Ok(())
}

#[when(expr = "the configuration is erased on every node")]
async fn erase(world: &mut PolicyWorld) -> anyhow::Result<()> {
    let node = world.first_node().await?;
    let out = world.exec(&node, &["cibadmin", "--erase", "--force"]).await?;
    if !out.success() {
        return world.infra(Err(anyhow::anyhow!("cibadmin --erase on {node}: {}", out.stderr.trim())));
    }
    world.changed_cluster().await;
    let erased = configuration(world, &node).await?;
    if erased.contains("<primitive") {
        return world.infra(Err(anyhow::anyhow!("the configuration still holds resources after cibadmin --erase")));
    }
    Ok(())
}

async fn upload(world: &mut PolicyWorld, node: &str, path: &str, content: &[u8]) -> anyhow::Result<()> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(content);
    let script = format!("umask 077; mkdir -p {BACKUP_DIR}; echo '{encoded}' | base64 -d > {path}");
    let out = world.exec(node, &["bash", "-c", &script]).await?;
    if !out.success() {
        return world.infra(Err(anyhow::anyhow!("copying the backup to {node}: {}", out.stderr.trim())));
    }
    Ok(())
}

#[when(expr = "the backup is restored onto a fresh cluster")]
async fn restore_fresh(world: &mut PolicyWorld) -> anyhow::Result<()> {
    let backup = backup(world)?;
    world.reset_cluster().await?;
    let node = world.first_node().await?;
    // Otherwise a restore that did nothing would still find the original configuration.
    if configuration(world, &node).await?.contains("<primitive") {
        return world.infra(Err(anyhow::anyhow!("the fresh cluster on {node} still holds resources after pacemaker's state was wiped")));
    }
    upload(world, &node, &backup.file, &backup.content).await?;
    let command = restore_command(&backup.procedure, &backup.file);
    let out = world.exec(&node, &["bash", "-c", &command]).await?;
    ensure_policy!(world, out.success(), "`{command}` failed on the fresh cluster: {}{}", out.stdout.trim(), out.stderr.trim());
    world.changed_cluster().await;
    Ok(())
}

#[then(expr = "the restored configuration equals the original")]
async fn restored_equals_original(world: &mut PolicyWorld) -> anyhow::Result<()> {
    let backup = backup(world)?;
    let node = world.first_node().await?;
    let restored = configuration(world, &node).await?;
    world.ctx.record_artifact(format!("restored configuration ({})", backup.procedure), restored.clone());
    if restored != backup.original {
        let difference = backup
            .original
            .lines()
            .zip(restored.lines())
            .find(|(a, b)| a != b)
            .map(|(a, b)| format!("first difference:\n  original: {}\n  restored: {}", a.trim(), b.trim()))
            .unwrap_or_else(|| format!("{} lines before, {} after", backup.original.lines().count(), restored.lines().count()));
        fail_policy!(world, "the configuration restored from `{}` differs from the original; {difference}", backup.procedure);
    }
    Ok(())
}

#[then(expr = "restoring a truncated copy of the backup fails and changes nothing")]
async fn truncated_restore_refused(world: &mut PolicyWorld) -> anyhow::Result<()> {
    let backup = backup(world)?;
    let node = world.first_node().await?;
    let before = configuration(world, &node).await?;
    let damaged = format!("{}.truncated", backup.file);
    upload(world, &node, &damaged, &backup.content[..backup.content.len() / 2]).await?;
    let command = restore_command(&backup.procedure, &damaged);
    let out = world.exec(&node, &["bash", "-c", &command]).await?;
    world.changed_cluster().await;
    let after = configuration(world, &node).await?;
    ensure_policy!(world, !out.success(), "`{command}` accepted a truncated backup (exit 0)");
    ensure_policy!(world, after == before, "a failed restore of a truncated backup changed the running configuration");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_ignores_order_whitespace_and_volatile_options() {
        let a = r#"<cib epoch="3"><configuration><crm_config><cluster_property_set id="o"><nvpair id="v" name="dc-version" value="2.1.5"/><nvpair name="stonith-enabled" id="s" value="true"/></cluster_property_set></crm_config></configuration><status/></cib>"#;
        let b = "<cib epoch=\"9\">\n <configuration>\n  <crm_config>\n   <cluster_property_set id=\"o\">\n    <nvpair id=\"s\" value=\"true\" name=\"stonith-enabled\"/>\n   </cluster_property_set>\n  </crm_config>\n </configuration>\n</cib>";
        assert_eq!(normalise_configuration(a).unwrap(), normalise_configuration(b).unwrap());
        let c = b.replace("value=\"true\"", "value=\"false\"");
        assert_ne!(normalise_configuration(a).unwrap(), normalise_configuration(&c).unwrap());
        let nodes = |order: &str| format!("<cib><configuration><nodes>{order}</nodes></configuration></cib>");
        let (n1, n3) = (r#"<node id="1" uname="node1"/>"#, r#"<node id="3" uname="node3"/>"#);
        assert_eq!(
            normalise_configuration(&nodes(&format!("{n1}{n3}"))).unwrap(),
            normalise_configuration(&nodes(&format!("{n3}{n1}"))).unwrap()
        );
        // Top-level resources in another order are the same configuration; a group's members are not.
        let resources = |inner: &str| format!("<cib><configuration><resources>{inner}</resources></configuration></cib>");
        let (a, b) = (r#"<primitive id="a" class="stonith" type="x"/>"#, r#"<primitive id="b" class="stonith" type="x"/>"#);
        assert_eq!(
            normalise_configuration(&resources(&format!("{a}{b}"))).unwrap(),
            normalise_configuration(&resources(&format!("{b}{a}"))).unwrap()
        );
        let levels = |id: &str| {
            format!("<cib><configuration><fencing-topology><fencing-level id=\"{id}\" target=\"n1\" index=\"1\" devices=\"a\"/></fencing-topology></configuration></cib>")
        };
        assert_eq!(normalise_configuration(&levels("fl-n1-1")).unwrap(), normalise_configuration(&levels("fencing-0")).unwrap());
        let group = |inner: &str| resources(&format!("<group id=\"g\">{inner}</group>"));
        assert_ne!(
            normalise_configuration(&group(&format!("{a}{b}"))).unwrap(),
            normalise_configuration(&group(&format!("{b}{a}"))).unwrap()
        );
    }
}
