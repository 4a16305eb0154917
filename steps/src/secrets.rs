//! Which resource parameters hold a credential in plain text. Names alone are
//! not enough: a fence_mpath or fence_scsi `key` is a SCSI reservation key (a
//! public identifier: fence-agents `fence_mpath` metadata, "Replaced by
//! port/-n/--plug"; `fence_scsi`, "Key to use for the current operation"),
//! `identity_file`, `key_file` and `*_script` name where a secret is, and
//! `lrm://` is cibsecret's placeholder (pacemaker lib/common/cib_secrets.c,
//! `pcmk__substitute_secrets()`, an exact, case-sensitive match). A URI's
//! path is not a secret; the password in its user part is.

use crate::facts::InstanceAttribute;

/// Words that name a credential wherever they stand in a parameter's name.
const CREDENTIAL_WORDS: &[&str] = &["password", "passwd", "passphrase", "secret", "token", "apikey", "community", "privkey", "psk"];

/// Whole names (or `_`-separated tails) that are credentials.
const CREDENTIAL_NAMES: &[&str] =
    &["pass", "pw", "pwd", "key", "api_key", "access_key", "secret_key", "private_key", "auth_key", "hexadecimal_kg", "kg"];

/// Suffixes that make a parameter a reference to a secret (a file, a command), not the secret.
const REFERENCE_SUFFIXES: &[&str] =
    &["_script", "_file", "_path", "_dir", "_device", "_devices", "_cmd", "_command", "_env", "_user", "_username"];

/// Agents whose `key` is a reservation key, not a credential.
const RESERVATION_KEY_AGENTS: &[&str] = &["stonith:fence_mpath", "stonith:fence_scsi"];

/// Why an instance attribute is a plaintext credential, or None.
pub fn plaintext_credential(attribute: &InstanceAttribute) -> Option<String> {
    let value = attribute.value.as_str();
    if value.is_empty() || value == "lrm://" {
        return None;
    }
    if uri_with_password(value) {
        return Some("a URI with a password in it".into());
    }
    let name = attribute.name.to_ascii_lowercase();
    if REFERENCE_SUFFIXES.iter().any(|s| name.ends_with(s)) {
        return None;
    }
    if name == "key" && attribute.agent.as_deref().is_some_and(|a| RESERVATION_KEY_AGENTS.contains(&a)) {
        return None;
    }
    let named = CREDENTIAL_WORDS.iter().any(|w| name.contains(w))
        || CREDENTIAL_NAMES.iter().any(|n| name == *n || name.ends_with(&format!("_{n}")) || name.ends_with(&format!("-{n}")));
    if !named {
        return None;
    }
    // A key parameter holding an absolute path names a key file.
    if name.contains("key") && value.starts_with('/') && !value.contains(char::is_whitespace) {
        return None;
    }
    // `crm configure show`, `crm report` and sos print such values as `******` or `****`.
    if value.chars().all(|c| c == '*') {
        return Some(format!("masked as `{value}` in this copy, so the CIB itself holds it in plain text"));
    }
    Some("a credential parameter".into())
}

/// `scheme://user:password@host…`
fn uri_with_password(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once("://") else { return false };
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c)) {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority.rsplit_once('@').is_some_and(|(userinfo, _)| userinfo.split_once(':').is_some_and(|(_, password)| !password.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(agent: Option<&str>, name: &str, value: &str) -> InstanceAttribute {
        InstanceAttribute {
            owner_kind: "primitive".into(),
            owner_id: "r".into(),
            agent: agent.map(str::to_string),
            name: name.into(),
            value: value.into(),
            line: 1,
        }
    }

    #[test]
    fn credentials_are_found_by_what_the_agents_mean() {
        let ipmi = Some("stonith:fence_ipmilan");
        assert!(plaintext_credential(&attr(ipmi, "passwd", "s3cret")).is_some());
        assert!(plaintext_credential(&attr(ipmi, "password", "s3cret")).is_some());
        assert!(plaintext_credential(&attr(Some("stonith:fence_apc_snmp"), "snmp_priv_passwd", "x")).is_some());
        assert!(plaintext_credential(&attr(Some("stonith:fence_ipmilan"), "hexadecimal_kg", "abcd")).is_some());
        assert!(plaintext_credential(&attr(None, "community", "public")).is_some());
        assert!(plaintext_credential(&attr(ipmi, "passwd_script", "/usr/local/bin/pw")).is_none());
        assert!(plaintext_credential(&attr(ipmi, "passwd", "lrm://")).is_none());
        assert!(plaintext_credential(&attr(ipmi, "passwd", "LRM://")).is_some(), "cibsecret matches exactly");
        assert!(plaintext_credential(&attr(ipmi, "login", "admin")).is_none());
    }

    #[test]
    fn keys_that_are_not_credentials_are_left_alone() {
        assert!(plaintext_credential(&attr(Some("stonith:fence_mpath"), "key", "0x1234")).is_none());
        assert!(plaintext_credential(&attr(Some("stonith:fence_scsi"), "key", "1")).is_none());
        assert!(plaintext_credential(&attr(Some("stonith:fence_virt"), "key_file", "/etc/cluster/fence_xvm.key")).is_none());
        assert!(plaintext_credential(&attr(Some("stonith:fence_ssh"), "identity_file", "/root/.ssh/id_rsa")).is_none());
        assert!(plaintext_credential(&attr(Some("stonith:fence_sbd"), "devices", "/dev/sdb")).is_none());
        assert!(plaintext_credential(&attr(Some("ocf:heartbeat:nginx"), "ssl_key", "/etc/ssl/private/site.key")).is_none());
        assert!(
            plaintext_credential(&attr(Some("ocf:heartbeat:apache"), "bypass_mode", "on")).is_none(),
            "`pass` inside a word is not a credential"
        );
        assert!(plaintext_credential(&attr(Some("stonith:fence_other"), "key", "hunter2")).is_some());
    }

    #[test]
    fn a_uri_path_is_not_a_secret_but_its_password_is() {
        assert!(plaintext_credential(&attr(None, "url", "https://bmc.example/redfish/v1/Systems/1")).is_none());
        assert!(plaintext_credential(&attr(None, "url", "https://admin:hunter2@bmc.example/")).is_some());
        assert!(plaintext_credential(&attr(None, "url", "https://admin@bmc.example/a:b")).is_none());
    }
}
