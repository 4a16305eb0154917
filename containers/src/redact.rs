//! Keeps secrets out of what the harness prints: generated keys (raw, hex and
//! base64), candidate passwords, and credential parameters written in the CIB.

use base64::Engine as _;

/// Names of parameters that hold credentials; `password_script` and cibsecret
/// references (`lrm://`) keep them out of the CIB and are fine.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    !name.ends_with("_script")
        && ["pass", "passwd", "password", "secret", "token", "community", "key", "private"].iter().any(|s| name.contains(s))
}

/// Values of credential parameters (`nvpair`s with a secret name) in a CIB.
pub fn cib_secret_values(cib: &str) -> Vec<String> {
    let Ok(doc) = pcmk_model::text::parse_xml(cib) else { return Vec::new() };
    doc.descendants()
        .filter(|n| n.has_tag_name("nvpair"))
        .filter(|n| n.attribute("name").is_some_and(is_secret_name))
        .filter_map(|n| n.attribute("value"))
        .filter(|v| v.len() >= 4 && !v.starts_with("lrm://"))
        .map(str::to_string)
        .collect()
}

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    needles: Vec<String>,
}

impl Redactor {
    /// Adds a secret's printable forms: as text (when it is text), hex and base64.
    pub fn add(&mut self, secret: &[u8]) {
        if secret.len() < 4 {
            return;
        }
        if let Ok(text) = std::str::from_utf8(secret) {
            self.needles.push(text.trim_end_matches('\n').to_string());
        }
        self.needles.push(hex::encode(secret));
        self.needles.push(base64::engine::general_purpose::STANDARD.encode(secret));
        // Longest first, so a secret inside another is not half-replaced.
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        self.needles.dedup();
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for needle in self.needles.iter().filter(|n| !n.is_empty()) {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), "<redacted>");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_printable_form_of_a_secret_is_redacted() {
        let mut r = Redactor::default();
        r.add(b"hunter2-very-secret\n");
        let key = [0xde, 0xad, 0xbe, 0xef, 0x01, 0x02];
        r.add(&key);
        let said = format!("pw hunter2-very-secret, key {} or {}", hex::encode(key), base64::engine::general_purpose::STANDARD.encode(key));
        assert_eq!(r.redact(&said), "pw <redacted>, key <redacted> or <redacted>");
    }

    #[test]
    fn credential_parameters_of_a_cib_are_found() {
        let cib = r#"<cib><configuration><resources><primitive id="f" class="stonith" type="fence_ipmilan">
            <instance_attributes id="a"><nvpair id="a1" name="password" value="s3cr3t-pw"/><nvpair id="a2" name="ip" value="10.0.0.9"/>
            <nvpair id="a3" name="passwd_script" value="/usr/bin/get"/></instance_attributes></primitive></resources></configuration></cib>"#;
        assert_eq!(cib_secret_values(cib), vec!["s3cr3t-pw".to_string()]);
    }
}
