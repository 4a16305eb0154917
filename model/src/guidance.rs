//! Rationale and remediation: every scenario's description says why it
//! matters and, on a line starting `Remediation:`, the change that fixes it.

/// A scenario's description split into why and how to fix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guidance {
    pub rationale: String,
    pub remediation: Option<String>,
}

impl Guidance {
    pub fn from_description(description: Option<&str>) -> Guidance {
        let mut guidance = Guidance::default();
        let mut rationale = Vec::new();
        for line in description.unwrap_or_default().lines().map(str::trim).filter(|l| !l.is_empty()) {
            match line.strip_prefix("Remediation:") {
                Some(fix) => guidance.remediation = Some(fix.trim().to_string()),
                None => rationale.push(line),
            }
        }
        guidance.rationale = rationale.join(" ");
        guidance
    }
}
