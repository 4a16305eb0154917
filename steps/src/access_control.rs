//! Practice 2, access control: Pacemaker ACLs enforced for real, and sudo
//! giving operators only what the policy lists.

use cucumber::gherkin::Step;
use cucumber::then;

use pcmk_containers::cluster::ExecOutput;

use crate::support::Violations;
use crate::world::PolicyWorld;

/// A missing account is the candidate's fault, not the harness's: say so plainly.
pub(crate) async fn require_user(world: &mut PolicyWorld, node: &str, user: &str) -> anyhow::Result<()> {
    let id = world.exec(node, &["id", user]).await?;
    anyhow::ensure!(id.success(), "user `{user}` does not exist on {node}; the candidate creates users with [[user]] in candidate.toml");
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
    anyhow::ensure!(out.success() && out.stdout.contains("<configuration"), "`{user}` cannot read the CIB on {node}: {}", out.stderr.trim());
    Ok(())
}

#[then(expr = "the user {string} cannot read the CIB")]
async fn cannot_read(world: &mut PolicyWorld, user: String) -> anyhow::Result<()> {
    let (node, out) = run_as(world, &user, READ_CIB).await?;
    anyhow::ensure!(!(out.success() && out.stdout.contains("<configuration")), "`{user}` read the CIB on {node}; only members of haclient with an ACL role should");
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
        anyhow::bail!("`{user}` changed the CIB on {node} (crm_attribute exit {}); enable-acl must be true and the user's role read-only", write.code);
    }
    anyhow::ensure!(!write.success(), "crm_attribute as `{user}` reported success on {node} although the CIB is unchanged");
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

#[then(expr = "sudo lets {string} run only these commands:")]
async fn sudo_only(world: &mut PolicyWorld, user: String, step: &Step) -> anyhow::Result<()> {
    world.require_live("asking sudo")?;
    let allowed = crate::support::table_column(step, "command")?;
    let live = world.live().await?;
    let mut violations = Violations::default();
    for node in live.cluster.node_names() {
        require_user(world, node, &user).await?;
        let out = world.exec(node, &["sudo", "-l", "-U", &user]).await?;
        for command in sudo_commands(&out.stdout) {
            if !allowed.contains(&command) {
                violations.add(format!("{node}: sudo lets `{user}` run `{command}`, which the policy does not list"));
            }
        }
    }
    violations.into_result()
}

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
