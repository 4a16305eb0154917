//! Small readings of text every stage shares: octal file modes, line numbers,
//! and XML parsed with bounds (a CIB or a node's output can be hostile).

/// An octal file mode (`0640`, `0o640`), at most `0o7777`.
pub fn parse_mode(mode: &str) -> Result<u32, String> {
    let digits = mode.strip_prefix("0o").unwrap_or(mode);
    u32::from_str_radix(digits, 8).ok().filter(|m| *m <= 0o7777).ok_or_else(|| format!("mode `{mode}` is not an octal file mode"))
}

/// Most XML nodes a document may have; a real CIB has a few thousand.
pub const MAX_XML_NODES: u32 = 200_000;

/// XML without a DTD (no entity expansion) and with at most `MAX_XML_NODES` nodes.
pub fn parse_xml(text: &str) -> Result<roxmltree::Document<'_>, roxmltree::Error> {
    roxmltree::Document::parse_with_options(text, roxmltree::ParsingOptions { allow_dtd: false, nodes_limit: MAX_XML_NODES })
}

/// Pacemaker's reading of a boolean, or None where it is invalid.
pub fn parse_bool(value: &str) -> Option<bool> {
    const TRUE: [&str; 5] = ["true", "on", "yes", "y", "1"];
    const FALSE: [&str; 5] = ["false", "off", "no", "n", "0"];
    if TRUE.iter().any(|t| t.eq_ignore_ascii_case(value)) {
        Some(true)
    } else if FALSE.iter().any(|f| f.eq_ignore_ascii_case(value)) {
        Some(false)
    } else {
        None
    }
}

/// Pacemaker's score words: INFINITY and its signs (1,000,000), else an integer.
pub fn parse_score(score: Option<&str>) -> i64 {
    const INFINITY: i64 = 1_000_000;
    match score.map(str::trim) {
        None | Some("") => 0,
        Some(s) if s.eq_ignore_ascii_case("INFINITY") || s.eq_ignore_ascii_case("+INFINITY") => INFINITY,
        Some(s) if s.eq_ignore_ascii_case("-INFINITY") => -INFINITY,
        Some(s) => s.parse::<i64>().unwrap_or(0).clamp(-INFINITY, INFINITY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_xml_are_bounded() {
        assert_eq!(parse_mode("0o640"), Ok(0o640));
        assert!(parse_mode("0999").is_err() && parse_mode("17777").is_err());
        assert!(parse_xml("<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>").is_err());
    }
}
