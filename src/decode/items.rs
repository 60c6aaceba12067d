//! Large lists on one line (an `EventList` of a million items): where the `items` array is
//! and where each item starts and ends, found by structure (strings and brackets) without
//! building any value, so that the decoder can parse and hand on one item at a time instead
//! of holding every item of the line at once.

/// Lines at least this long that hold a top-level `items` array are decoded item by item.
pub const STREAM_AT: usize = 4 << 20;

/// Items nested deeper than this are left to the whole-line parse, whose recursion limit
/// counts the list's own two levels too.
const MAX_ITEM_DEPTH: usize = 100;

/// The byte range of the top-level `items` array's elements in `text` (one JSON object),
/// and the text with that array emptied (`"items":[]`), to be decoded for the list's other
/// fields. `None` when `text` is not an object with such a key (an escaped key, or damage:
/// the caller then decodes the line as a whole).
pub fn split_items(text: &str) -> Option<(Vec<std::ops::Range<usize>>, String)> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = skip_string(b, i)?;
        let key = &b[i + 1..key_end - 1];
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        if key == b"items" && b.get(i) == Some(&b'[') {
            let open = i;
            let (items, close) = elements(b, open)?;
            let mut shell = String::with_capacity(text.len() - (close - open));
            shell.push_str(&text[..open + 1]);
            shell.push_str(&text[close..]);
            return Some((items, shell));
        }
        i = skip_ws(b, skip_value(b, i, &mut 0)?);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            _ => return None,
        }
    }
}

/// The elements of the array opening at `open`, and the position of its closing `]`.
fn elements(b: &[u8], open: usize) -> Option<(Vec<std::ops::Range<usize>>, usize)> {
    let mut items = Vec::new();
    let mut i = skip_ws(b, open + 1);
    if b.get(i) == Some(&b']') {
        return Some((items, i));
    }
    loop {
        let mut depth = 0;
        let end = skip_value(b, i, &mut depth)?;
        if depth > MAX_ITEM_DEPTH {
            return None;
        }
        items.push(i..end);
        i = skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b']') => return Some((items, i)),
            _ => return None,
        }
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The end of the string opening at `i` (after its closing quote).
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        let k = memchr::memchr2(b'"', b'\\', b.get(j..)?)?;
        j += k;
        if b[j] == b'\\' {
            j += 2;
        } else {
            return Some(j + 1);
        }
    }
}

/// The end of the value starting at `i`, by structure only (what it holds is checked when
/// it is parsed); `max_depth` becomes the deepest nesting met.
fn skip_value(b: &[u8], i: usize, max_depth: &mut usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => {
                        depth += 1;
                        *max_depth = (*max_depth).max(depth);
                    }
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_found_by_structure() {
        let text = r#"{"kind":"EventList","metadata":{"x":[1,"]"]},"items":[{"a":"}"} , {"b":[{}]}],"apiVersion":"v1"}"#;
        let (items, shell) = split_items(text).unwrap();
        let got: Vec<&str> = items.iter().map(|r| &text[r.clone()]).collect();
        assert_eq!(got, [r#"{"a":"}"}"#, r#"{"b":[{}]}"#]);
        assert_eq!(
            shell,
            r#"{"kind":"EventList","metadata":{"x":[1,"]"]},"items":[],"apiVersion":"v1"}"#
        );
        assert!(split_items(r#"{"kind":"EventList","items":[{"a":1}"#).is_none());
        assert!(split_items(r#"{"kind":"x"}"#).is_none());
        assert!(split_items(r#"[{"items":[]}]"#).is_none());
        assert_eq!(split_items(r#"{"items":[]}"#).unwrap().0.len(), 0);
    }
}
