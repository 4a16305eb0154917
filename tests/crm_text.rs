//! `crm configure show` text as users have it (tests/fixtures/real/crmsh-published,
//! see its README): converted by the real crmsh of the bookworm node image
//! whatever agents the image has, repeated sets merged as crmsh's
//! `configure` merges them, refusals in crmsh's words at the user's line,
//! and the text recognised by its content wherever it is. Needs the engine.

mod common;

use std::path::{Path, PathBuf};

use common::repo_path;

struct Lint {
    code: i32,
    stdout: String,
    stderr: String,
}

fn lint(candidate: &Path, cache: &Path) -> Lint {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pcmk-comply"))
        .args(["lint", "--candidate", candidate.to_str().unwrap()])
        .current_dir(std::env::temp_dir())
        .env("PCMK_COMPLY_CACHE_DIR", cache)
        .output()
        .unwrap();
    Lint {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn published(name: &str) -> PathBuf {
    repo_path(&format!("tests/fixtures/real/crmsh-published/{name}"))
}

/// A cache of its own for each test: each converts what it lints.
fn fresh_cache(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pcmk-crm-text-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The one CIB crmsh made into `cache`.
fn converted_cib(cache: &Path) -> String {
    let made: Vec<PathBuf> = std::fs::read_dir(cache.join("crmsh")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(made.len(), 1, "{made:?}");
    std::fs::read_to_string(&made[0]).unwrap()
}

/// A resource agent: class, provider, type.
type Agent = (String, Option<String>, String);
/// Name=value pairs.
type Pairs = Vec<(String, String)>;
/// A primitive a text must make: its id, agent and some of its parameters.
type Expected<'a> = (&'a str, (&'a str, Option<&'a str>, &'a str), &'a [(&'a str, &'a str)]);

/// The agent of a primitive, and its instance attributes.
fn primitive(cib: &str, id: &str) -> (Agent, Pairs) {
    let doc = pcmk_model::text::parse_xml(cib).unwrap();
    let node = doc
        .descendants()
        .find(|n| n.has_tag_name("primitive") && n.attribute("id") == Some(id))
        .unwrap_or_else(|| panic!("no primitive {id} in:\n{cib}"));
    let agent = (
        node.attribute("class").unwrap_or_default().to_string(),
        node.attribute("provider").map(str::to_string),
        node.attribute("type").unwrap_or_default().to_string(),
    );
    let params = node
        .children()
        .filter(|c| c.has_tag_name("instance_attributes"))
        .flat_map(|set| set.children().filter(|c| c.has_tag_name("nvpair")))
        .map(|p| (p.attribute("name").unwrap_or_default().to_string(), p.attribute("value").unwrap_or_default().to_string()))
        .collect();
    (agent, params)
}

/// The name=value pairs of the set `id` (a cluster_property_set, or rsc/op defaults' meta_attributes).
fn set(cib: &str, id: &str) -> Pairs {
    let doc = pcmk_model::text::parse_xml(cib).unwrap();
    let node = doc.descendants().find(|n| n.attribute("id") == Some(id)).unwrap_or_else(|| panic!("no set {id} in:\n{cib}"));
    node.children()
        .filter(|c| c.has_tag_name("nvpair"))
        .map(|p| (p.attribute("name").unwrap_or_default().to_string(), p.attribute("value").unwrap_or_default().to_string()))
        .collect()
}

fn has(pairs: &[(String, String)], name: &str, value: &str) -> bool {
    pairs.iter().any(|(n, v)| n == name && v == value)
}

fn agent(class: &str, provider: Option<&str>, kind: &str) -> Agent {
    (class.into(), provider.map(str::to_string), kind.into())
}

fn no_colour(lint: &Lint) {
    assert!(!lint.stdout.contains('\u{1b}') && !lint.stderr.contains('\u{1b}'), "{}{}", lint.stdout, lint.stderr);
}

#[test]
fn published_texts_convert_whatever_agents_the_lab_image_lacks() {
    // SAPHana, SAPHanaTopology, drbd and the postgresql init script are on no node image.
    let cases: [(&str, &[Expected]); 3] = [
        (
            "sap-hana-scale-up.txt",
            &[
                (
                    "rsc_SAPHana_HA1_HDB10",
                    ("ocf", Some("suse"), "SAPHana"),
                    &[("SID", "HA1"), ("InstanceNumber", "10"), ("PREFER_SITE_TAKEOVER", "true"), ("AUTOMATED_REGISTER", "false")],
                ),
                ("rsc_SAPHanaTopology_HA1_HDB10", ("ocf", Some("suse"), "SAPHanaTopology"), &[("SID", "HA1"), ("InstanceNumber", "10")]),
                ("stonith-sbd", ("stonith", None, "external/sbd"), &[("pcmk_delay_max", "15")]),
            ],
        ),
        (
            "drbd-nfs.txt",
            &[
                ("drbd_nfs", ("ocf", Some("linbit"), "drbd"), &[("drbd_resource", "nfs")]),
                ("fs_nfs", ("ocf", Some("heartbeat"), "Filesystem"), &[("device", "/dev/drbd0"), ("fstype", "ext4")]),
            ],
        ),
        (
            "lsb-postgresql.txt",
            &[
                ("postgresql", ("lsb", None, "postgresql"), &[]),
                ("st-ipmi-pg1", ("stonith", None, "fence_ipmilan"), &[("ipaddr", "10.1.2.11"), ("passwd", "Pg-Ipmi-Pass1")]),
            ],
        ),
    ];
    for (text, primitives) in cases {
        let cache = fresh_cache("agents");
        let run = lint(&published(text), &cache);
        assert_ne!(run.code, 2, "{text}: {}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("is crm configure show text, converted to a CIB by crmsh"), "{text}: {}", run.stdout);
        no_colour(&run);
        let cib = converted_cib(&cache);
        for (id, (class, provider, kind), params) in primitives {
            let (found, found_params) = primitive(&cib, id);
            assert_eq!(found, agent(class, *provider, kind), "{text}: {id}");
            for (name, value) in *params {
                assert!(has(&found_params, name, value), "{text}: {id} lacks {name}={value}: {found_params:?}");
            }
        }
        let _ = std::fs::remove_dir_all(&cache);
    }
}

#[test]
fn repeated_sets_are_merged_as_crmsh_configure_merges_them() {
    let cache = fresh_cache("merge");
    let run = lint(&published("sap-hana-scale-up.txt"), &cache);
    assert_ne!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let cib = converted_cib(&cache);
    // Two `property cib-bootstrap-options:` statements make one set: both its names, the later value.
    let bootstrap = set(&cib, "cib-bootstrap-options");
    for (name, value) in
        [("cluster-name", "hacluster"), ("stonith-action", "reboot"), ("priority-fencing-delay", "30"), ("stonith-timeout", "150")]
    {
        assert!(has(&bootstrap, name, value), "{name}={value}: {bootstrap:?}");
    }
    assert_eq!(bootstrap.iter().filter(|(n, _)| n == "stonith-timeout").count(), 1, "{bootstrap:?}");
    // A property set of another id stays its own.
    assert!(has(&set(&cib, "SAPHanaSR"), "hana_ha1_glob_srHook", "SOK"));
    // rsc_defaults and op_defaults alike.
    let rsc = set(&cib, "rsc-options");
    assert!(has(&rsc, "resource-stickiness", "1000") && has(&rsc, "migration-threshold", "5000"), "{rsc:?}");
    assert_eq!(rsc.len(), 2, "{rsc:?}");
    assert!(has(&set(&cib, "op-options"), "record-pending", "true"));
    // The ms, clone, colocation and order as written.
    for element in [
        "<master id=\"msl_SAPHana_HA1_HDB10\"",
        "<clone id=\"cln_SAPHanaTopology_HA1_HDB10\"",
        "rsc_colocation id=\"col_saphana_ip_HA1_HDB10\"",
        "rsc_order id=\"ord_SAPHana_HA1_HDB10\"",
    ] {
        assert!(cib.contains(element), "{element}:\n{cib}");
    }
    // The fencing it enables is judged from the merged set.
    assert!(run.stdout.lines().any(|l| l.starts_with("PASS") && l.ends_with("Fencing is enabled")), "{}", run.stdout);

    // Id-less `property` and `op_defaults` lines, one name each, as tutorials have them typed.
    let cache = fresh_cache("merge-idless");
    let run = lint(&published("lsb-postgresql.txt"), &cache);
    assert_ne!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let cib = converted_cib(&cache);
    let bootstrap = set(&cib, "cib-bootstrap-options");
    assert!(has(&bootstrap, "stonith-enabled", "true") && has(&bootstrap, "no-quorum-policy", "stop"), "{bootstrap:?}");
    let ops = set(&cib, "op-options");
    assert!(has(&ops, "timeout", "120s") && has(&ops, "record-pending", "true"), "{ops:?}");
    let _ = std::fs::remove_dir_all(&cache);
}

#[test]
fn a_text_crmsh_refuses_is_exit_2_in_its_words_at_the_users_line() {
    let cache = fresh_cache("refused");
    let text = published("forum-post-refused.txt");
    let run = lint(&text, &cache);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    // A primitive cut after `op` (line 6, where the statement starts), a score without its colon (line 16).
    let at = format!("{}:6: crmsh refused this text: syntax in primitive: Expected identifier", text.display());
    assert!(run.stderr.contains(&at), "{}", run.stderr);
    assert!(run.stderr.contains("; also line 16: syntax in colocation: Expected <score>: near <inf>"), "{}", run.stderr);
    no_colour(&run);
    // crmsh quotes the statement it refused; its password is masked.
    assert!(run.stderr.contains("passwd=******"), "{}", run.stderr);
    assert!(!run.stderr.contains("Web-Ipmi-Pass") && !run.stdout.contains("Web-Ipmi-Pass"), "{}", run.stderr);
    // Nothing was cached: the next lint asks crmsh again.
    assert!(!cache.join("crmsh").exists() || std::fs::read_dir(cache.join("crmsh")).unwrap().next().is_none());
    let _ = std::fs::remove_dir_all(&cache);
}

#[test]
fn crm_text_is_recognised_by_its_content_in_a_directory_and_a_manifest() {
    let corosync = repo_path("tests/fixtures/real/pcs-2node/corosync.conf");
    let base = std::env::temp_dir().join(format!("pcmk-crm-text-candidates-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    // A directory: the text under a name of its own, beside corosync.conf and notes.
    let flat = base.join("flat");
    std::fs::create_dir_all(&flat).unwrap();
    std::fs::copy(published("drbd-nfs.txt"), flat.join("nfs-cluster.txt")).unwrap();
    std::fs::copy(&corosync, flat.join("corosync.conf")).unwrap();
    std::fs::write(flat.join("NOTES.md"), "# Notes\norder matters: drbd first, then the file system\n").unwrap();
    let cache = fresh_cache("dirs");
    let run = lint(&flat, &cache);
    assert_ne!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let placed = format!(
        "candidate: placed {} at /var/lib/pacemaker/cib/cib.xml (hacluster:haclient 0600; crm configure show text, converted to a CIB by crmsh)",
        flat.join("nfs-cluster.txt").display()
    );
    assert!(run.stdout.contains(&placed), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("placed {} at /etc/corosync/corosync.conf", flat.join("corosync.conf").display())));
    assert!(run.stdout.contains("NOTES.md` is not a well-known name"), "{}", run.stdout);
    assert!(!run.stdout.contains("no corosync.conf"), "the directory's own corosync.conf is used: {}", run.stdout);
    let (found, _) = primitive(&converted_cib(&cache), "drbd_nfs");
    assert_eq!(found, agent("ocf", Some("linbit"), "drbd"));

    // A manifest's [[file]] entry under any name, placed as the CIB (converted already: the same text).
    let manifest = base.join("manifest");
    std::fs::create_dir_all(&manifest).unwrap();
    std::fs::copy(published("drbd-nfs.txt"), manifest.join("crm-config")).unwrap();
    std::fs::copy(&corosync, manifest.join("corosync.conf")).unwrap();
    std::fs::write(manifest.join("candidate.toml"), "[[file]]\nsource = \"crm-config\"\npath = \"/var/lib/pacemaker/cib/cib.xml\"\n")
        .unwrap();
    let run = lint(&manifest, &cache);
    assert_ne!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(&format!(
            "candidate: placed {} (the CIB crmsh made of it) at /var/lib/pacemaker/cib/cib.xml",
            manifest.join("crm-config").display()
        )),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("candidate: ignored"), "{}", run.stdout);
    assert!(!run.stderr.contains("converting"), "cached: {}", run.stderr);
    let _ = std::fs::remove_dir_all(&cache);
    let _ = std::fs::remove_dir_all(&base);
}
