//! Practice 4, secure configuration: ownership and modes, resource agents,
//! cluster options changed from insecure defaults, default passwords, pcsd.

use cucumber::then;

use crate::cluster_options::{readings, writer, Pacemaker, Reading};
use crate::support::ensure_policy;
use crate::support::{check_file, list, node_named, parse_mode, place, shell_assignments, subject, Violations};
use crate::world::PolicyWorld;
use pcmk_model::finding::{Finding, Place, Subject};
use pcmk_model::scope::Evidence;
use pcmk_model::text::parse_bool;

async fn file_mode(world: &mut PolicyWorld, path: &str, owner: &str, max_mode: &str, required: bool) -> anyhow::Result<()> {
    let (user, group) = owner.split_once(':').ok_or_else(|| world.authoring(format!("owner `{owner}` must be user:group")))?;
    let max_mode = parse_mode(max_mode).map_err(|e| world.authoring(e))?;
    if world.lacks(&[Evidence::Stat(path)]) {
        return Ok(());
    }
    let facts = world.facts().await?;
    let mut violations = Violations::default();
    for node in &facts.nodes {
        match world.infra(node.file(path).map_err(anyhow::Error::from))? {
            Some(file) => check_file(node, path, file, user, group, max_mode, &mut violations),
            None if required => violations.add(Finding::new(subject(node), format!("{}: {path} does not exist", place(node)))),
            None => {}
        }
    }
    if !required && facts.nodes.iter().all(|n| !n.files.contains_key(path)) {
        world.not_judged(format!("there is no {path}, so no owner or mode to judge"));
    }
    world.judge(violations)
}

#[then(expr = "the file {string} is owned by {string} with mode at most {string}")]
async fn file_owned(world: &mut PolicyWorld, path: String, owner: String, mode: String) -> anyhow::Result<()> {
    file_mode(world, &path, &owner, &mode, true).await
}

#[then(expr = "the file {string}, if present, is owned by {string} with mode at most {string}")]
async fn optional_file_owned(world: &mut PolicyWorld, path: String, owner: String, mode: String) -> anyhow::Result<()> {
    file_mode(world, &path, &owner, &mode, false).await
}

#[then(expr = "every file in {string} is owned by {string} with mode at most {string}")]
async fn files_in_dir_owned(world: &mut PolicyWorld, dir: String, owner: String, mode: String) -> anyhow::Result<()> {
    let (user, group) = owner.split_once(':').ok_or_else(|| world.authoring(format!("owner `{owner}` must be user:group")))?;
    let max_mode = parse_mode(&mode).map_err(|e| world.authoring(e))?;
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    if world.lacks(&[Evidence::Stat(&prefix)]) {
        return Ok(());
    }
    let facts = world.facts().await?;
    let mut violations = Violations::default();
    let mut judged = 0;
    for node in &facts.nodes {
        // A directory no gathering asked about is the harness's gap, not an empty one.
        world.infra(node.file(dir.trim_end_matches('/')).map_err(anyhow::Error::from))?;
        for (path, file) in node.files.range(prefix.clone()..).take_while(|(p, _)| p.starts_with(&prefix)) {
            if !file.is_dir {
                judged += 1;
                check_file(node, path, file, user, group, max_mode, &mut violations);
            }
        }
    }
    if judged == 0 {
        world.not_judged(format!("there is no file in {prefix}, so no owner or mode to judge"));
    }
    world.judge(violations)
}

/// Every reading of a cluster option that matters: by the Pacemaker the
/// candidate runs (the running one; else the declared distribution's; else,
/// for a pacemaker-4 CIB only 3.x can load, the one that wrote it), by the
/// one that wrote the CIB (its `dc-version`), and by 3.0.2 and later, which
/// read the `fencing-*` names (a CIB judged before an upgrade must hold
/// under all of them).
async fn option_readings(world: &mut PolicyWorld, name: &str) -> anyhow::Result<Vec<Reading>> {
    let cib = world.cib().await?;
    let origin = world.facts().await?.cib_origin.clone();
    let writer = if world.ctx.is_live() { None } else { writer(&cib, &origin) };
    // A CIB that Pacemaker 2 can still load (a schema before pacemaker-4)
    // may yet be read by a 2.x node, mid-upgrade: judged for the target too.
    let only_3 = cib.validate_with.as_deref().is_some_and(|s| s.starts_with("pacemaker-4"));
    let mut versions = match &writer {
        Some((wrote, _)) if !world.ctx.candidate.distro_declared && only_3 => vec![*wrote],
        Some((wrote, _)) => vec![world.target_pacemaker(), *wrote],
        None => vec![world.target_pacemaker()],
    };
    versions.push(Pacemaker::V3_0_2);
    let mut seen = Vec::new();
    versions.retain(|v| {
        !seen.contains(v) && {
            seen.push(*v);
            true
        }
    });
    let mut read = readings(&cib, &origin, name, &versions);
    if let Some((wrote, how)) = writer {
        for reading in read.iter_mut().filter(|r| r.version == wrote) {
            reading.how = format!("{}; this Pacemaker wrote the CIB: {how}", reading.how);
        }
    }
    Ok(read)
}

/// Whose CIB an option was read from: the candidate's in `lint`, the running cluster's in `run`.
fn cib_subject(world: &PolicyWorld) -> Subject {
    if world.ctx.is_live() {
        Subject::Cluster
    } else {
        Subject::Candidate
    }
}

/// Compares as Pacemaker would: booleans by meaning, choices case-insensitively.
fn same_value(reading: &str, expected: &str) -> bool {
    match (parse_bool(reading), parse_bool(expected)) {
        (Some(a), Some(b)) => a == b,
        _ => reading.eq_ignore_ascii_case(expected),
    }
}

#[then(expr = "the cluster option {string} is {string}")]
async fn option_is(world: &mut PolicyWorld, name: String, expected: String) -> anyhow::Result<()> {
    let mut violations = Violations::default();
    for reading in option_readings(world, &name).await? {
        if !same_value(&reading.value, &expected) {
            violations.add(
                Finding::new(
                    cib_subject(world),
                    format!(
                        "{}: cluster option {name} is `{}` ({}); the policy requires `{expected}`",
                        reading.version.name(),
                        reading.value,
                        reading.how
                    ),
                )
                .at(reading.place.clone()),
            );
        }
    }
    world.judge(violations)
}

#[then(expr = "with at least {int} nodes the cluster option {string} is not {string}")]
async fn option_is_not_with_nodes(world: &mut PolicyWorld, min_nodes: usize, name: String, forbidden: String) -> anyhow::Result<()> {
    let nodes = if world.ctx.is_live() { world.facts().await?.nodes.len() } else { world.ctx.candidate.planned_nodes(None) };
    if nodes < min_nodes {
        return Err(world.not_applicable(format!("the cluster has {nodes} nodes; the scenario judges clusters of {min_nodes} or more")));
    }
    let mut violations = Violations::default();
    for reading in option_readings(world, &name).await? {
        if same_value(&reading.value, &forbidden) {
            violations.add(
                Finding::new(
                    cib_subject(world),
                    format!(
                        "{}: cluster option {name} is `{}` ({}) on a {nodes}-node cluster; the policy forbids `{forbidden}`",
                        reading.version.name(),
                        reading.value,
                        reading.how
                    ),
                )
                .at(reading.place.clone()),
            );
        }
    }
    world.judge(violations)
}

#[then(expr = "every resource agent the CIB uses exists, is owned by root and is not writable by group or others")]
async fn agents_are_safe(world: &mut PolicyWorld) -> anyhow::Result<()> {
    world.require_live("inspecting resource agents")?;
    // The candidate's own agents: the running CIB names the harness's fence agent and stand-ins.
    let (cib, _) = world.candidate_cib()?;
    let placed: Vec<String> = world.ctx.candidate.files.iter().map(|f| f.placement.path.clone()).collect();
    let mut agents: Vec<(String, String)> = cib.primitives.iter().filter_map(|p| Some((p.id.clone(), p.agent_path()?))).collect();
    // An agent the candidate does not place is the lab image's packaged copy:
    // evidence only where the candidate names the distribution it runs.
    if agents.iter().any(|(_, path)| !placed.contains(path)) && world.lacks(&[Evidence::Packages]) {
        agents.retain(|(_, path)| placed.contains(path));
    }
    let live = world.live().await?;
    let mut violations = Violations::default();
    for node in live.cluster.node_names() {
        let mut cmd: Vec<&str> = vec!["stat", "-L", "-c", "%n\t%U\t%a"];
        cmd.extend(agents.iter().map(|(_, path)| path.as_str()));
        let out = world.exec(node, &cmd).await?;
        for (id, path) in &agents {
            let Some(line) = out.stdout.lines().find(|l| l.split('\t').next() == Some(path.as_str())) else {
                // An agent the lab's nodes lack says nothing of the real nodes' copy; one the candidate places must be there.
                if placed.contains(path) {
                    violations.add(Finding::new(
                        node_named(node),
                        format!("{node}: resource `{id}` uses {path}, which the candidate places but the node does not have"),
                    ));
                }
                continue;
            };
            let fields: Vec<&str> = line.split('\t').collect();
            let mode = u32::from_str_radix(fields.get(2).unwrap_or(&"0"), 8).unwrap_or(0o7777);
            if fields.get(1) != Some(&"root") || mode & 0o022 != 0 {
                violations.add(Finding::new(
                    node_named(node),
                    format!(
                        "{node}: resource `{id}` uses {path}, owned by {} with mode {mode:04o}: anyone who can write it runs code as root",
                        fields.get(1).unwrap_or(&"?")
                    ),
                ));
            }
        }
    }
    world.judge(violations)
}

#[then(expr = "the password of {string}, if set, is neither empty nor one of {string}")]
async fn password_not_default(world: &mut PolicyWorld, user: String, defaults: String) -> anyhow::Result<()> {
    let defaults = list(&defaults);
    if world.lacks(&[Evidence::Password(&user)]) {
        return Ok(());
    }
    let candidate = world.ctx.candidate.clone();
    if !world.ctx.is_live() && !candidate.captured.is_empty() && candidate.users.iter().all(|u| u.name != user) {
        return captured_password(world, &candidate.captured, &user, &defaults);
    }
    if !world.ctx.is_live() {
        let Some(password) = candidate.users.iter().find(|u| u.name == user).and_then(|u| u.password.as_ref()) else { return Ok(()) };
        ensure_policy!(world, !password.0.is_empty(), "the candidate sets an empty password for `{user}`");
        ensure_policy!(world, !defaults.contains(&password.0), "the candidate sets a well-known default password for `{user}`");
        return Ok(());
    }
    let live = world.live().await?;
    let mut violations = Violations::default();
    for node in live.cluster.node_names() {
        let mut cmd = vec!["perl", "-e", pcmk_containers::capture::script::PASSWORD_STATE, user.as_str()];
        cmd.extend(defaults.iter().map(String::as_str));
        let out = world.exec(node, &cmd).await?;
        match out.stdout.trim() {
            "set" | "locked" | "nouser" => {}
            "empty" => violations.add(Finding::new(node_named(node), format!("{node}: `{user}` has an empty password"))),
            "default" => violations.add(Finding::new(
                node_named(node),
                format!("{node}: `{user}` has a well-known default password; set a strong one (passwd {user})"),
            )),
            other => return world.infra(Err(anyhow::anyhow!("password check on {node} answered `{other}`: {}", out.stderr.trim()))),
        }
    }
    world.judge(violations)
}

/// hacluster's password as capture decided it on each node, against the words it tried.
fn captured_password(
    world: &PolicyWorld,
    nodes: &[pcmk_containers::candidate::CapturedNode],
    user: &str,
    defaults: &[String],
) -> anyhow::Result<()> {
    use pcmk_containers::capture::script::DEFAULT_PASSWORDS;
    let untried: Vec<&String> = defaults.iter().filter(|d| !DEFAULT_PASSWORDS.contains(&d.as_str())).collect();
    if !untried.is_empty() {
        let tried = DEFAULT_PASSWORDS.join(", ");
        world.not_judged(format!(
            "the capture tried {tried} against `{user}`'s password, not {}",
            untried.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    let mut violations = Violations::default();
    for node in nodes {
        match node.password.as_deref() {
            Some("empty") => violations.add(Finding::new(node_named(&node.name), format!("{}: `{user}` has an empty password", node.name))),
            Some("default") => violations.add(Finding::new(
                node_named(&node.name),
                format!("{}: `{user}` has a well-known default password; set a strong one (passwd {user})", node.name),
            )),
            _ => {}
        }
    }
    world.judge(violations)
}

/// Where pcsd's settings sit on a Debian node (`/etc/sysconfig/pcsd` elsewhere is placed here).
const PCSD_SETTINGS: &str = "/etc/default/pcsd";

/// Each node (its subject and place for messages) with the key's last assignment and line.
async fn pcsd_option(world: &mut PolicyWorld, key: &str) -> anyhow::Result<Vec<(Subject, String, Option<(String, usize)>)>> {
    let facts = world.facts().await?;
    Ok(facts
        .nodes
        .iter()
        .map(|node| {
            let value = node
                .texts
                .get(PCSD_SETTINGS)
                .and_then(|text| shell_assignments(text).into_iter().rfind(|(k, _, _)| k == key))
                .map(|(_, v, line)| (v, line));
            (subject(node), place(node), value)
        })
        .collect())
}

#[then(expr = "the pcsd option {string} is set to none of {string}")]
async fn pcsd_option_none_of(world: &mut PolicyWorld, key: String, forbidden: String) -> anyhow::Result<()> {
    if world.lacks(&[Evidence::File(PCSD_SETTINGS)]) {
        return Ok(());
    }
    let forbidden = list(&forbidden);
    let mut violations = Violations::default();
    for (subject, place, value) in pcsd_option(world, &key).await? {
        match value {
            None => violations.add(Finding::new(subject, format!("{place}: /etc/default/pcsd does not set {key}"))),
            Some((v, line)) if v.is_empty() || v.split([',', ' ']).any(|part| forbidden.iter().any(|f| f == part.trim())) => violations
                .add(
                    Finding::new(
                        subject,
                        format!(
                            "{place}: /etc/default/pcsd line {line} sets {key}=`{v}`, which the policy forbids ({})",
                            forbidden.join(", ")
                        ),
                    )
                    .at(Place::new(PCSD_SETTINGS, line)),
                ),
            Some(_) => {}
        }
    }
    world.judge(violations)
}

#[then(expr = "the pcsd option {string} contains all of {string}")]
async fn pcsd_option_contains(world: &mut PolicyWorld, key: String, required: String) -> anyhow::Result<()> {
    if world.lacks(&[Evidence::File(PCSD_SETTINGS)]) {
        return Ok(());
    }
    let required = list(&required);
    let mut violations = Violations::default();
    for (subject, place, value) in pcsd_option(world, &key).await? {
        let (text, at, line) = match value {
            Some((v, line)) => (v, format!("line {line}"), Some(Place::new(PCSD_SETTINGS, line))),
            None => (String::new(), "unset".to_string(), None),
        };
        let present: Vec<&str> = text.split(',').map(str::trim).collect();
        let missing: Vec<&String> = required.iter().filter(|r| !present.contains(&r.as_str())).collect();
        if !missing.is_empty() {
            violations.add(
                Finding::new(
                    subject,
                    format!(
                        "{place}: /etc/default/pcsd {key} ({at}) lacks {}",
                        missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                )
                .at(line),
            );
        }
    }
    world.judge(violations)
}
