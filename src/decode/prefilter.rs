//! The `--user` prefilter: a byte test that rules out lines that cannot mention any wanted
//! subject, so that they need not be decoded. Built from the selection by
//! [`Filter::prefilter`](crate::request::select::Filter::prefilter).

/// Skips lines that cannot mention any of some subject names, without decoding them.
///
/// A JSON string spells a name either with its raw bytes or with at least one escape
/// sequence that decodes to one of the name's characters. So a line is kept when it holds
/// a name's raw bytes, or any escape that could stand for a character of some name (`\u`
/// escapes are decoded and compared; a surrogate escape and an escaped backslash, which may
/// open an escape inside a JSON string nested in a string, are always kept). Lines not kept
/// cannot contribute to these subjects; they are counted as `prefiltered`.
#[derive(Clone, Debug)]
pub struct Prefilter {
    finders: Vec<memchr::memmem::Finder<'static>>,
    /// Every character of every name.
    chars: Vec<char>,
}

impl Prefilter {
    /// `None` when there is nothing to filter on (no names, or an empty name).
    pub fn new(names: &[String]) -> Option<Prefilter> {
        if names.is_empty() || names.iter().any(|n| n.is_empty()) {
            return None;
        }
        let finders = names
            .iter()
            .map(|n| memchr::memmem::Finder::new(n.as_bytes()).into_owned())
            .collect();
        let mut chars: Vec<char> = names.iter().flat_map(|n| n.chars()).collect();
        chars.sort_unstable();
        chars.dedup();
        Some(Prefilter { finders, chars })
    }

    /// False only when `line` cannot spell any of the names.
    pub fn may_mention(&self, line: &[u8]) -> bool {
        if self.finders.iter().any(|f| f.find(line).is_some()) {
            return true;
        }
        let mut rest = line;
        while let Some(i) = memchr::memchr(b'\\', rest) {
            let Some(&kind) = rest.get(i + 1) else {
                return true;
            };
            let decoded = match kind {
                b'u' => {
                    let Some(hex) = rest.get(i + 2..i + 6) else {
                        return true;
                    };
                    let Some(code) = std::str::from_utf8(hex)
                        .ok()
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                    else {
                        return true;
                    };
                    match char::from_u32(code) {
                        Some(c) => c,
                        None => return true, // a surrogate: part of a pair, keep the line
                    }
                }
                // An escaped backslash may start an escape of a JSON string nested in a
                // string (EKS `message`, AKS `properties.log`): `\\u003c` is `<` there.
                b'\\' => return true,
                other => match super::scan::short_escape(other) {
                    Some(c) => c,
                    None => return true,
                },
            };
            if self.chars.binary_search(&decoded).is_ok() {
                return true;
            }
            let len = if kind == b'u' { 6 } else { 2 };
            rest = &rest[i + len..];
        }
        false
    }
}
