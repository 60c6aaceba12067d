//! Text for people on a terminal. Subject, namespace, resource names and URLs come from
//! audit logs, that is from whoever sent requests; printed raw, an escape sequence in a name
//! would drive the terminal, and a line break would forge a line of the report. Everything
//! printed for people goes through [`printable`].

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as it is: C0 and C1 controls, DEL, the Unicode
/// line and paragraph separators, and the bidirectional overrides and isolates that
/// reorder what is shown.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every unsafe character written as an escape (`\n`, `\r`, `\t`, `\x1b`,
/// `\u{202e}`); borrowed when there is none, which is nearly always.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) && (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_plain_text_is_borrowed() {
        let cases = [
            ("alice", "alice"),
            ("système:ü", "système:ü"),
            ("a\x1b[31mred", "a\\x1b[31mred"),
            ("x\nrisk: none", "x\\nrisk: none"),
            ("cr\rover", "cr\\rover"),
            ("tab\there", "tab\\there"),
            ("del\x7f", "del\\x7f"),
            ("c1\u{9b}2J", "c1\\u{9b}2J"),
            ("evil\u{202e}txt", "evil\\u{202e}txt"),
            ("ls\u{2028}", "ls\\u{2028}"),
        ];
        for (raw, shown) in cases {
            assert_eq!(printable(raw), shown, "{raw:?}");
        }
        assert!(matches!(printable("plain"), Cow::Borrowed(_)));
    }
}
