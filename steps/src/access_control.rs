//! Practice 2, access control: Pacemaker ACLs enforced for real, and sudo
//! giving operators only what the policy lists.

use cucumber::gherkin::Step;
use cucumber::then;
use pcmk_model::scope::Evidence;

use pcmk_containers::cluster::ExecOutput;

use crate::support::{ensure_policy, fail_policy, node_named, Violations};
use crate::world::PolicyWorld;
use pcmk_model::finding::{Finding, Subject};

/// A missing account is the candidate's fault, not the harness's: say so plainly.
pub(crate) async fn require_user(world: &mut PolicyWorld, node: &str, user: &str) -> anyhow::Result<()> {
    let id = world.exec(node, &["id", user]).await?;
    ensure_policy!(
        world,
        id.success(),
        "user `{user}` does not exist on {node}; the candidate creates users with [[user]] in candidate.toml"
    );
    Ok(())
}

/// Runs `cmd` as `user` on the first node, after checking the account exists.
async fn run_as(world: &mut PolicyWorld, user: &str, cmd: &[&str]) -> anyhow::Result<(String, ExecOutput)> {
    world.require_live("running commands as a user")?;
    let node = world.first_node().await?;
    require_user(world, &node, user).await?;
    let out = world.exec_as(&node, user, cmd).await?;
    Ok((node, out))
}

const READ_CIB: &[&str] = &["cibadmin", "--query", "--scope", "configuration"];

#[then(expr = "the user {string} can read the CIB")]
async fn can_read(world: &mut PolicyWorld, user: String) -> anyhow::Result<()> {
    let (node, out) = run_as(world, &user, READ_CIB).await?;
    ensure_policy!(
        world,
        out.success() && out.stdout.contains("<configuration"),
        "`{user}` cannot read the CIB on {node}: {}",
        out.stderr.trim()
    );
    Ok(())
}

#[then(expr = "the user {string} cannot read the CIB")]
async fn cannot_read(world: &mut PolicyWorld, user: String) -> anyhow::Result<()> {
    let (node, out) = run_as(world, &user, READ_CIB).await?;
    ensure_policy!(
        world,
        !(out.success() && out.stdout.contains("<configuration")),
        "`{user}` read the CIB on {node}; only members of haclient with an ACL role should"
    );
    Ok(())
}

#[then(expr = "the user {string} cannot change the CIB")]
async fn cannot_write(world: &mut PolicyWorld, user: String) -> anyhow::Result<()> {
    let probe = format!("pcmk-comply-acl-{user}");
    let (node, write) = run_as(world, &user, &["crm_attribute", "--type", "crm_config", "--name", &probe, "--update", "written"]).await?;
    // Judge by the CIB itself, not only the exit code.
    let check = world.exec(&node, &["crm_attribute", "--type", "crm_config", "--name", &probe, "--query", "--quiet"]).await?;
    if check.success() && check.stdout.trim() == "written" {
        world.exec(&node, &["crm_attribute", "--type", "crm_config", "--name", &probe, "--delete"]).await?;
        world.changed_cluster().await;
        fail_policy!(
            world,
            "`{user}` changed the CIB on {node} (crm_attribute exit {}); enable-acl must be true and the user's role read-only",
            write.code
        );
    }
    ensure_policy!(world, !write.success(), "crm_attribute as `{user}` reported success on {node} although the CIB is unchanged");
    Ok(())
}

/// Commands sudo allows `user`, from `sudo -l -U user`.
fn sudo_commands(listing: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_rules = false;
    for line in listing.lines() {
        if line.contains("may run the following commands") {
            in_rules = true;
            continue;
        }
        if !in_rules || !line.starts_with(' ') {
            continue;
        }
        // "    (root) NOPASSWD: /usr/sbin/crm_mon, /usr/sbin/crm_resource"
        let rule = line.trim();
        let rule = rule.strip_prefix('(').and_then(|r| r.split_once(')')).map(|(_, rest)| rest.trim()).unwrap_or(rule);
        let rule = rule.rsplit_once(": ").map(|(_, c)| c).unwrap_or(rule);
        commands.extend(rule.split(", ").map(|c| c.trim().to_string()).filter(|c| !c.is_empty()));
    }
    commands
}

/// The sudoers files: a node's sudo rules are the candidate's only where it holds one of them.
pub(crate) const SUDOERS: [Evidence<'static>; 2] = [Evidence::File("/etc/sudoers"), Evidence::File("/etc/sudoers.d/")];

#[then(expr = "sudo lets {string} run only these commands:")]
async fn sudo_only(world: &mut PolicyWorld, user: String, step: &Step) -> anyhow::Result<()> {
    world.require_live("asking sudo")?;
    let allowed = crate::support::table_column(step, "command")?;
    if world.lacks(&SUDOERS) {
        return Ok(());
    }
    let nodes: Vec<String> = world.live().await?.cluster.node_names().iter().map(|n| n.to_string()).collect();
    let mut violations = Violations::default();
    for node in &nodes {
        require_user(world, node, &user).await?;
        sudo_violations(world, node, &user, &allowed, &mut violations).await?;
    }
    world.judge(violations)
}

#[then(expr = "sudo lets each user the candidate's sudoers rules name run only these commands:")]
async fn sudo_users_only(world: &mut PolicyWorld, step: &Step) -> anyhow::Result<()> {
    world.require_live("asking sudo")?;
    let allowed = crate::support::table_column(step, "command")?;
    if world.lacks(&SUDOERS) {
        return Ok(());
    }
    let rules = candidate_sudo_rules(world).await?;
    if rules.is_empty() {
        return Err(world.not_applicable("the candidate's sudoers files name no user (root and %groups aside)"));
    }
    let mut users: Vec<String> = rules.iter().map(|r| r.user.clone()).collect();
    users.dedup();
    let nodes: Vec<String> = world.live().await?.cluster.node_names().iter().map(|n| n.to_string()).collect();
    let mut violations = Violations::default();
    for node in &nodes {
        for user in &users {
            ensure_account(world, node, user, &[]).await?;
            sudo_violations(world, node, user, &allowed, &mut violations).await?;
        }
    }
    world.judge(violations)
}

async fn sudo_violations(
    world: &mut PolicyWorld,
    node: &str,
    user: &str,
    allowed: &[String],
    violations: &mut Violations,
) -> anyhow::Result<()> {
    let out = world.exec(node, &["sudo", "-l", "-U", user]).await?;
    for command in sudo_commands(&out.stdout) {
        if !allowed.contains(&command) {
            violations
                .add(Finding::new(node_named(node), format!("{node}: sudo lets `{user}` run `{command}`, which the policy does not list")));
        }
    }
    Ok(())
}

/// The user rules of the sudoers files the candidate places (as the first node has them).
pub(crate) async fn candidate_sudo_rules(world: &mut PolicyWorld) -> anyhow::Result<Vec<crate::subjects::SudoRule>> {
    let facts = world.facts().await?;
    let files: Vec<(String, String)> =
        facts.nodes[0].texts.iter().filter(|(p, _)| p.starts_with("/etc/sudoers")).map(|(p, t)| (p.clone(), t.clone())).collect();
    Ok(crate::subjects::sudo_rules(&files))
}

/// Creates `user` on `node` where the node lacks it: a real cluster has the
/// accounts its ACLs and sudoers rules name; the lab's nodes get them here.
pub(crate) async fn ensure_account(world: &mut PolicyWorld, node: &str, user: &str, groups: &[&str]) -> anyhow::Result<()> {
    if world.exec(node, &["id", user]).await?.success() {
        return Ok(());
    }
    // No group of its own: a system group may already bear the name (Debian's `operator`).
    let mut cmd = vec!["useradd", "--no-create-home", "--no-user-group", "--shell", "/bin/sh"];
    let joined = groups.join(",");
    if !groups.is_empty() {
        cmd.extend(["--groups", joined.as_str()]);
    }
    cmd.push(user);
    let out = world.exec(node, &cmd).await?;
    // Another scenario on this node may have made it meanwhile.
    if !out.success() && !world.exec(node, &["id", user]).await?.success() {
        return world.infra(Err(anyhow::anyhow!("useradd {user} on {node}: {}", out.stderr.trim())));
    }
    let member = if groups.is_empty() { String::new() } else { format!(" in {joined}") };
    world.ctx.add_harness_note(format!("harness created the account `{user}`{member} on the nodes that lacked it"));
    Ok(())
}

#[then(expr = "every read-only ACL user of the CIB can read it but not change it")]
async fn read_only_acl_users(world: &mut PolicyWorld) -> anyhow::Result<()> {
    world.require_live("running commands as a user")?;
    let cib = world.facts().await?.cib.clone().unwrap_or_default();
    let users = crate::subjects::read_only_acl_users(&cib);
    if users.is_empty() {
        return Err(world.not_applicable("the CIB gives no ACL user read-only rights"));
    }
    let node = world.first_node().await?;
    let mut violations = Violations::default();
    for user in &users {
        // Pacemaker serves only members of haclient; the ACLs decide the rest.
        ensure_account(world, &node, user, &["haclient"]).await?;
        let read = world.exec_as(&node, user, READ_CIB).await?;
        if !(read.success() && read.stdout.contains("<configuration")) {
            violations.add(Finding::new(node_named(&node), format!("`{user}` cannot read the CIB on {node}: {}", read.stderr.trim())));
        }
        if let Err(e) = cannot_write(world, user.clone()).await {
            violations.add(Finding::new(Subject::Cluster, e.to_string()));
        }
    }
    world.judge(violations)
}

#[then(expr = "an account outside haclient cannot read the CIB")]
async fn outsider_cannot_read(world: &mut PolicyWorld) -> anyhow::Result<()> {
    world.require_live("running commands as a user")?;
    let node = world.first_node().await?;
    ensure_account(world, &node, PROBE_ACCOUNT, &[]).await?;
    cannot_read(world, PROBE_ACCOUNT.to_string()).await
}

/// The harness's own account with no cluster role.
const PROBE_ACCOUNT: &str = "pcmk-probe";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudo_listing_is_read() {
        let listing = "Matching Defaults entries for ops on node1:\n    env_reset\n\nUser ops may run the following commands on node1:\n    (root) NOPASSWD: /usr/sbin/crm_mon, /usr/sbin/crm_resource --cleanup\n    (ALL : ALL) ALL\n";
        assert_eq!(sudo_commands(listing), vec!["/usr/sbin/crm_mon", "/usr/sbin/crm_resource --cleanup", "ALL"]);
        assert!(sudo_commands("User ops is not allowed to run sudo on node1.\n").is_empty());
    }
}
