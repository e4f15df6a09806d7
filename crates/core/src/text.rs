//! Text from outside: strings read from YAML with their position (for located errors), and
//! strings made safe to print on a terminal.

/// A string with the position it was read from.
pub type Text = serde_saphyr::Spanned<String>;

/// `text` safe to print on a terminal: control characters that came from outside (ESC, BEL,
/// carriage return, C1 controls, DEL) are shown as `\x1b`-style escapes, so a server's
/// certificate name or a program's output cannot move the cursor, ring or recolour.
/// Newlines and tabs stay.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char =
        |c: char| (c.is_control() && c != '\n' && c != '\t') || ('\u{80}'..='\u{9f}').contains(&c);
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(super::printable("ok\ttab\nline"), "ok\ttab\nline");
        assert_eq!(super::printable("a\x1b[31mred\x07"), "a\\x1b[31mred\\x07");
        assert_eq!(super::printable("cr\r\u{9b}x"), "cr\\x0d\\x9bx");
    }
}
