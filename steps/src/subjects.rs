//! The candidate's own subjects of a scenario, read from its files: the ACL
//! users its CIB gives only read rights, and the users its sudoers rules name.
//! Scenarios judge these, never accounts only a bundled candidate defines.

/// An ACL target (`acl_target`, or `acl_user` in pacemaker-1.x schemas) whose
/// every permission, through its roles or its own, is `read` or `deny`.
pub fn read_only_acl_users(cib: &str) -> Vec<String> {
    let Ok(doc) = pcmk_model::text::parse_xml(cib) else { return Vec::new() };
    let roles: std::collections::BTreeMap<&str, roxmltree::Node> =
        doc.descendants().filter(|n| n.has_tag_name("acl_role")).filter_map(|r| Some((r.attribute("id")?, r))).collect();
    let kinds = |node: roxmltree::Node| -> Vec<String> {
        node.children()
            .filter(|c| c.has_tag_name("acl_permission") || c.has_tag_name("read") || c.has_tag_name("write") || c.has_tag_name("deny"))
            .map(|p| p.attribute("kind").map(str::to_string).unwrap_or_else(|| p.tag_name().name().to_string()))
            .collect()
    };
    let mut users = Vec::new();
    for target in doc.descendants().filter(|n| n.has_tag_name("acl_target") || n.has_tag_name("acl_user")) {
        let Some(id) = target.attribute("name").or(target.attribute("id")) else { continue };
        let mut granted = kinds(target);
        for role in target.children().filter(|c| c.has_tag_name("role") || c.has_tag_name("role_ref")) {
            match role.attribute("id").and_then(|r| roles.get(r)) {
                Some(role) => granted.extend(kinds(*role)),
                None => granted.push("unknown".into()),
            }
        }
        if granted.iter().any(|k| k == "read") && granted.iter().all(|k| k == "read" || k == "deny") {
            users.push(id.to_string());
        }
    }
    users
}

/// A user rule of a sudoers file: who, and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SudoRule {
    pub user: String,
    pub place: String,
    pub commands: String,
}

/// User specifications of sudoers files (sudoers(5): `user host = (runas) commands`);
/// `root`, `%groups` and aliases are left out.
pub fn sudo_rules(files: &[(String, String)]) -> Vec<SudoRule> {
    let mut rules = Vec::new();
    for (path, text) in files {
        let mut logical = String::new();
        let mut start = 0;
        for (index, raw) in text.lines().enumerate() {
            if logical.is_empty() {
                start = index + 1;
            }
            let line = raw.split('#').next().unwrap_or_default();
            // A trailing backslash continues the line.
            if let Some(continued) = line.trim_end().strip_suffix('\\') {
                logical.push_str(continued);
                logical.push(' ');
                continue;
            }
            logical.push_str(line);
            let spec = std::mem::take(&mut logical);
            let spec = spec.trim();
            let first = spec.split_whitespace().next().unwrap_or_default();
            if spec.is_empty()
                || first.starts_with("Defaults")
                || first.ends_with("_Alias")
                || first.starts_with('@')
                || !spec.contains('=')
            {
                continue;
            }
            // The user list runs on while a token ends with a comma (`alice, bob ALL = …`).
            let mut who = String::new();
            for token in spec.split_whitespace() {
                who.push_str(token);
                if !token.ends_with(',') {
                    break;
                }
            }
            let commands = spec.split_once('=').map(|(_, c)| c.trim().to_string()).unwrap_or_default();
            for user in who.split(',').map(str::trim) {
                if user.is_empty()
                    || user == "root"
                    || user.starts_with('%')
                    || user.starts_with('+')
                    || user.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                {
                    continue;
                }
                rules.push(SudoRule { user: user.to_string(), place: format!("{path} line {start}"), commands: commands.clone() });
            }
        }
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_targets_are_found_through_their_roles() {
        let cib = r#"<cib><configuration><acls>
            <acl_role id="ro"><acl_permission id="p1" kind="read" xpath="/cib"/></acl_role>
            <acl_role id="rw"><acl_permission id="p2" kind="write" xpath="/cib"/></acl_role>
            <acl_target id="auditor"><role id="ro"/></acl_target>
            <acl_target id="admin"><role id="rw"/></acl_target>
            <acl_target id="mixed"><role id="ro"/><role id="rw"/></acl_target>
            <acl_user id="legacy"><read id="r" xpath="/cib"/></acl_user>
        </acls></configuration></cib>"#;
        assert_eq!(read_only_acl_users(cib), vec!["auditor", "legacy"]);
    }

    #[test]
    fn user_rules_are_read_as_sudo_reads_them() {
        let files = vec![("/etc/sudoers.d/ops".to_string(), "Defaults env_reset\nCmnd_Alias PCMK = /usr/sbin/crm_mon\n# comment\nalice, bob ALL=(root) NOPASSWD: PCMK, \\\n  /usr/sbin/crm_resource\n%wheel ALL=(ALL) ALL\nroot ALL=(ALL) ALL\n".to_string())];
        let rules = sudo_rules(&files);
        assert_eq!(rules.iter().map(|r| r.user.as_str()).collect::<Vec<_>>(), vec!["alice", "bob"]);
        assert_eq!(rules[0].place, "/etc/sudoers.d/ops line 4");
        assert!(rules[0].commands.contains("/usr/sbin/crm_resource"));
    }
}
