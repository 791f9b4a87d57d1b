//! Text for tables and one-line reasons.

/// The first line of `s`, at most `max` characters (cut on a character boundary, with
/// "…" where it was cut): a reason in a table stays one row; the full text is in the JSON.
pub fn cut(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or("").trim_end();
    if line.chars().count() <= max && line.len() == s.trim_end().len() {
        return line.to_string();
    }
    let kept: String = line.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::cut;

    #[test]
    fn keeps_short_lines_and_cuts_long_ones_on_a_character_boundary() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("two\nlines", 10), "two…");
        assert_eq!(cut("ééééé", 3), "éé…");
        assert_eq!(cut("", 3), "");
    }
}
