//! A hand-written decoder for the common line: one audit event as a JSON object. It
//! validates the whole line as strictly as serde_json does and reads the same fields into
//! the same `EventDoc`, skipping everything else with a fast string scan.
//!
//! It answers only when it is sure: anything unusual (an `items` list, an escaped object
//! key, a surrogate escape in a wanted string, a duplicate wanted field, a wrong type, a
//! struct written as an array, deep nesting, any syntax error) gives `None`, and the caller
//! decodes the line with serde_json, which then gives the result or the exact error.
//! So `Some(doc)` implies serde_json would give the same `doc`.

use super::native::{
    Annotations, Decision, EventDoc, MetadataDoc, ObjectRefDoc, StatusDoc, Str, UserDoc,
};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Bytes that end the plain part of a string: quote, backslash, control characters.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// The first quote, backslash or control character in `bytes`: sixteen bytes at a time with
/// SSE2 (part of every x86-64), then eight at a time.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn find_special(bytes: &[u8]) -> Option<usize> {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 16) {
        // SAFETY: SSE2 is always there on x86-64, and the unaligned load reads exactly the
        // sixteen bytes of `chunk`.
        #[allow(unused_unsafe)]
        let m = unsafe {
            let v = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
            let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            // Unsigned c < 0x20 exactly when max(c, 0x1f) == 0x1f.
            let low = _mm_set1_epi8(0x1f);
            let control = _mm_cmpeq_epi8(_mm_max_epu8(v, low), low);
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control))
        };
        if m != 0 {
            return Some(i + m.trailing_zeros() as usize);
        }
        i += 16;
    }
    find_special_swar(&bytes[i..]).map(|k| i + k)
}

#[cfg(not(target_arch = "x86_64"))]
fn find_special(bytes: &[u8]) -> Option<usize> {
    find_special_swar(bytes)
}

/// The first quote, backslash or control character in `bytes`, eight bytes at a time.
fn find_special_swar(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let q = w ^ (ONES * b'"' as u64);
        let b = w ^ (ONES * b'\\' as u64);
        // Bytes equal to zero (in q, b) or below 0x20 (in w) set their high bit. A borrow
        // can only mark bytes above a real match, so the lowest mark is exact.
        let m = ((q.wrapping_sub(ONES) & !q)
            | (b.wrapping_sub(ONES) & !b)
            | (w.wrapping_sub(ONES * 0x20) & !w))
            & HIGH;
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    bytes[i..]
        .iter()
        .position(|&c| SPECIAL[c as usize])
        .map(|k| i + k)
}

/// Deepest nesting handled here (serde_json's limit is 128).
const MAX_DEPTH: u32 = 64;

/// Decodes `text` when it is a plain audit event object; `None` means "ask serde_json".
pub fn scan_event(text: &str) -> Option<EventDoc<'_>> {
    let mut doc = EventDoc::default();
    scan_event_into(text, &mut doc).then_some(doc)
}

/// [`scan_event`] into a document the caller provides (an event document is large: this
/// saves moving it); `false` means "ask serde_json", and `doc` is then left half filled.
pub fn scan_event_into<'a>(text: &'a str, doc: &mut EventDoc<'a>) -> bool {
    let mut p = Parser {
        s: text,
        b: text.as_bytes(),
        i: 0,
        depth: 0,
    };
    p.ws();
    if p.event(doc).is_none() {
        return false;
    }
    p.ws();
    p.i == p.b.len()
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    depth: u32,
}

/// Marks a field seen; `None` when it was seen before (serde reports a duplicate field).
fn first(seen: &mut u32, bit: u32) -> Option<()> {
    if *seen & (1 << bit) != 0 {
        return None;
    }
    *seen |= 1 << bit;
    Some(())
}

impl<'a> Parser<'a> {
    #[inline(always)]
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        if self.peek() == Some(c) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.b.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    /// A string's body, the opening quote already taken: (start, end, has escapes).
    #[inline(always)]
    fn string_span(&mut self) -> Option<(usize, usize, bool)> {
        let start = self.i;
        let mut escaped = false;
        loop {
            let rest = &self.b[self.i..];
            let k = find_special(rest)?;
            if rest[k] < 0x20 {
                return None;
            }
            self.i += k;
            if self.b[self.i] == b'"' {
                self.i += 1;
                return Some((start, self.i - 1, escaped));
            }
            escaped = true;
            match *self.b.get(self.i + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 2,
                b'u' => {
                    let hex = self.b.get(self.i + 2..self.i + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    self.i += 6;
                }
                _ => return None,
            }
        }
    }

    /// A wanted string value (or `None` for anything else).
    fn string(&mut self) -> Option<Str<'a>> {
        self.ws();
        self.eat(b'"')?;
        let (start, end, escaped) = self.string_span()?;
        let raw = &self.s[start..end];
        if !escaped {
            return Some(Cow::Borrowed(raw));
        }
        unescape(raw).map(Cow::Owned)
    }

    /// `null` → `Some(None)`; otherwise `f`'s value.
    fn option<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        self.ws();
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            return Some(None);
        }
        f(self).map(Some)
    }

    fn opt_string(&mut self) -> Option<Option<Str<'a>>> {
        self.option(|p| p.string())
    }

    /// An object key without escapes.
    fn key(&mut self) -> Option<&'a str> {
        self.ws();
        self.eat(b'"')?;
        let (start, end, escaped) = self.string_span()?;
        if escaped {
            return None;
        }
        Some(&self.s[start..end])
    }

    /// An object, calling `field(self, key)` to read each value.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.ws();
        self.eat(b'{')?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        if self.eat(b'}').is_none() {
            loop {
                let key = self.key()?;
                self.ws();
                self.eat(b':')?;
                field(self, key)?;
                self.ws();
                match self.peek()? {
                    b',' => self.i += 1,
                    b'}' => {
                        self.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// An array, calling `item(self)` to read each element.
    fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.ws();
        self.eat(b'[')?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        if self.eat(b']').is_none() {
            loop {
                item(self)?;
                self.ws();
                match self.peek()? {
                    b',' => self.i += 1,
                    b']' => {
                        self.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        self.i - start
    }

    /// A JSON number; returns whether it is an integer (no fraction or exponent).
    fn number(&mut self) -> Option<bool> {
        let _ = self.eat(b'-');
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        let mut integer = true;
        if self.eat(b'.').is_some() {
            integer = false;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            integer = false;
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(integer)
    }

    /// Any value, validated as strictly as the rest and dropped. A loop with the open
    /// containers kept as bits (1 = object), not a recursion: skipped bodies can be large.
    fn skip(&mut self) -> Option<()> {
        let mut objects: u64 = 0;
        let mut depth: u32 = 0;
        loop {
            // A value is expected.
            self.ws();
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    self.string_span()?;
                }
                open @ (b'{' | b'[') => {
                    self.i += 1;
                    depth += 1;
                    if self.depth + depth > MAX_DEPTH {
                        return None;
                    }
                    let object = open == b'{';
                    objects = (objects << 1) | u64::from(object);
                    self.ws();
                    let close = if object { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.i += 1;
                        depth -= 1;
                        objects >>= 1;
                    } else {
                        if object {
                            self.skipped_key()?;
                        }
                        continue;
                    }
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => {
                    self.number()?;
                }
            }
            // After a value: the end, a comma, or the close of its container.
            loop {
                if depth == 0 {
                    return Some(());
                }
                self.ws();
                let object = objects & 1 == 1;
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        if object {
                            self.skipped_key()?;
                        }
                        break;
                    }
                    b'}' if object => {}
                    b']' if !object => {}
                    _ => return None,
                }
                self.i += 1;
                depth -= 1;
                objects >>= 1;
            }
        }
    }

    /// The key and colon of a member of a skipped object (escapes allowed there).
    fn skipped_key(&mut self) -> Option<()> {
        self.ws();
        self.eat(b'"')?;
        self.string_span()?;
        self.ws();
        self.eat(b':')
    }

    fn string_list(&mut self) -> Option<Vec<Str<'a>>> {
        let mut out = Vec::new();
        self.array(|p| {
            out.push(p.string()?);
            Some(())
        })?;
        Some(out)
    }

    fn user(&mut self) -> Option<UserDoc<'a>> {
        let mut u = UserDoc::default();
        let mut seen = 0;
        self.object(|p, key| {
            match key {
                "username" => {
                    first(&mut seen, 0)?;
                    u.username = p.opt_string()?;
                }
                "uid" => {
                    first(&mut seen, 1)?;
                    u.uid = p.opt_string()?;
                }
                "groups" => {
                    first(&mut seen, 2)?;
                    u.groups = p.option(|p| p.string_list())?;
                }
                "extra" => {
                    first(&mut seen, 3)?;
                    u.extra = p.option(|p| {
                        let mut map = BTreeMap::new();
                        p.object(|p, key| {
                            let values = p.string_list()?;
                            map.insert(Cow::Borrowed(key), values);
                            Some(())
                        })?;
                        Some(map)
                    })?;
                }
                _ => p.skip()?,
            }
            Some(())
        })?;
        Some(u)
    }

    fn object_ref(&mut self) -> Option<ObjectRefDoc<'a>> {
        let mut o = ObjectRefDoc::default();
        let mut seen = 0;
        self.object(|p, key| {
            let (bit, slot) = match key {
                "resource" => (0, &mut o.resource),
                "namespace" => (1, &mut o.namespace),
                "name" => (2, &mut o.name),
                "apiGroup" => (3, &mut o.api_group),
                "apiVersion" => (4, &mut o.api_version),
                "subresource" => (5, &mut o.subresource),
                _ => return p.skip(),
            };
            first(&mut seen, bit)?;
            *slot = p.opt_string()?;
            Some(())
        })?;
        Some(o)
    }

    fn status(&mut self) -> Option<StatusDoc> {
        let mut s = StatusDoc::default();
        let mut seen = 0;
        self.object(|p, key| {
            if key != "code" {
                return p.skip();
            }
            first(&mut seen, 0)?;
            s.code = p.option(|p| {
                let start = p.i;
                if !p.number()? {
                    return None; // a float: serde_json reports the type
                }
                let text = &p.s[start..p.i];
                // serde_json reads `-0` as a float.
                text.parse::<i64>()
                    .ok()
                    .filter(|&v| v != 0 || !text.starts_with('-'))
            })?;
            Some(())
        })?;
        Some(s)
    }

    fn metadata(&mut self) -> Option<MetadataDoc<'a>> {
        let mut m = MetadataDoc::default();
        let mut seen = 0;
        self.object(|p, key| {
            if key != "creationTimestamp" {
                return p.skip();
            }
            first(&mut seen, 0)?;
            m.creation_timestamp = p.opt_string()?;
            Some(())
        })?;
        Some(m)
    }

    fn annotations(&mut self) -> Option<Annotations> {
        let mut a = Annotations::default();
        self.object(|p, key| {
            if key != "authorization.k8s.io/decision" {
                return p.skip();
            }
            let value = p.string()?;
            a.decision = match value.as_ref() {
                "allow" => Decision::Allow,
                "forbid" => Decision::Forbid,
                _ => Decision::Unknown,
            };
            Some(())
        })?;
        Some(a)
    }

    fn event(&mut self, e: &mut EventDoc<'a>) -> Option<()> {
        let mut seen = 0;
        self.object(|p, key| {
            let bit = match key {
                "apiVersion" => 0,
                "kind" => 1,
                "stage" => 2,
                "requestURI" => 3,
                "verb" => 4,
                "user" => 5,
                "impersonatedUser" => 6,
                "objectRef" => 7,
                "responseStatus" => 8,
                "requestReceivedTimestamp" => 9,
                "stageTimestamp" => 10,
                "timestamp" => 11,
                "metadata" => 12,
                "annotations" => 13,
                "items" => {
                    // Lists take serde_json's path; `null` is no list.
                    first(&mut seen, 14)?;
                    p.ws();
                    return p.literal(b"null");
                }
                // Cloud wrappers (GKE, EKS, AKS) take serde_json's path too.
                "protoPayload" | "receiveTimestamp" | "labels" | "messageType" | "logEvents"
                | "events" | "message" | "@message" | "records" | "category" | "properties" => {
                    let bit = match key {
                        "protoPayload" => 15,
                        "receiveTimestamp" => 16,
                        "labels" => 17,
                        "messageType" => 18,
                        "logEvents" => 19,
                        "events" => 20,
                        "message" => 21,
                        "@message" => 22,
                        "records" => 23,
                        "category" => 24,
                        _ => 25,
                    };
                    first(&mut seen, bit)?;
                    p.ws();
                    return p.literal(b"null");
                }
                _ => return p.skip(),
            };
            first(&mut seen, bit)?;
            match bit {
                0 => e.api_version = p.opt_string()?,
                1 => e.kind = p.opt_string()?,
                2 => e.stage = p.opt_string()?,
                3 => e.request_uri = p.opt_string()?,
                4 => e.verb = p.opt_string()?,
                5 => e.user = p.option(|p| p.user())?,
                6 => e.impersonated_user = p.option(|p| p.user())?,
                7 => e.object_ref = p.option(|p| p.object_ref())?,
                8 => e.response_status = p.option(|p| p.status())?,
                9 => e.request_received_timestamp = p.opt_string()?,
                10 => e.stage_timestamp = p.opt_string()?,
                11 => e.timestamp = p.opt_string()?,
                12 => e.metadata = p.option(|p| p.metadata())?,
                _ => e.annotations = p.option(|p| p.annotations())?,
            }
            Some(())
        })
    }
}

/// Decodes the escapes of a string body; `None` for a surrogate (left to serde_json).
fn unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(k) = rest.find('\\') {
        out.push_str(&rest[..k]);
        let b = rest.as_bytes();
        let c = match b[k + 1] {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let code = u32::from_str_radix(rest.get(k + 2..k + 6)?, 16).ok()?;
                let c = char::from_u32(code)?; // surrogates are not chars
                rest = &rest[k + 6..];
                out.push(c);
                continue;
            }
            _ => return None,
        };
        out.push(c);
        rest = &rest[k + 2..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::native::parse_value;
    use proptest::prelude::*;

    const LINE: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"x","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/a/pods?watch=1\u0026x=\"y\"","verb":"watch","user":{"username":"a\u003cb","groups":["g1","system:authenticated"],"extra":{"k":["v","w"]},"uid":null},"impersonatedUser":null,"objectRef":{"resource":"pods","namespace":"a","apiVersion":"v1","apiGroup":""},"responseStatus":{"metadata":{},"code":-200},"requestObject":{"deep":[1,2.5e-3,{"x":null,"y":true,"z":false,"s":"\ud800\t"}],"e":[],"o":{}},"annotations":{"authorization.k8s.io/decision":"allow","other":"x"},"requestReceivedTimestamp":"2024-05-01T12:00:00.123456Z","metadata":{"creationTimestamp":"t"},"timestamp":"u","stageTimestamp":"v"}"#;

    /// The scanner must agree with serde_json whenever it answers.
    fn agrees(text: &str) -> bool {
        let Some(doc) = scan_event(text) else {
            return false;
        };
        let want = parse_value(text).expect("scanner accepted what serde_json rejects");
        assert_eq!(want.len(), 1);
        assert_eq!(format!("{doc:?}"), format!("{:?}", want[0]), "{text}");
        true
    }

    #[test]
    fn full_event_agrees() {
        assert!(agrees(LINE));
        assert!(agrees(&format!("  {LINE} \t")));
        assert!(agrees("{}"));
        assert!(agrees(r#"{"verb":"get","items":null}"#));
        assert!(agrees(
            r#"{"verb":"get","protoPayload":null,"message":null,"@message":null,"records":null}"#
        ));
    }

    #[test]
    fn unsure_cases_are_left_to_serde_json() {
        for text in [
            r#"{"verb":5}"#,
            r#"{"user":"alice"}"#,
            r#"{"user":["alice"]}"#,
            r#"{"verb":"a","verb":"b"}"#,
            r#"{"ver\u0062":"get"}"#,
            r#"{"verb":"\ud800"}"#,
            r#"{"items":[]}"#,
            r#"{"responseStatus":{"code":200.0}}"#,
            r#"{"responseStatus":{"code":99999999999999999999}}"#,
            r#"{"verb":"get"} x"#,
            r#"{"verb":"get",}"#,
            "{\"verb\":\"g\tet\"}",
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":"\x"}"#,
            r#"{"user":{"groups":[null]}}"#,
            r#"[{"verb":"get"}]"#,
            r#"{"items":null,"items":null}"#,
            r#"{"responseStatus":{"code":-0}}"#,
            // Cloud export records (GKE, EKS, AKS).
            r#"{"protoPayload":{"serviceName":"k8s.io"}}"#,
            r#"{"messageType":"DATA_MESSAGE","logEvents":[]}"#,
            r#"{"events":[]}"#,
            r#"{"message":"{}"}"#,
            r#"{"@message":"{}"}"#,
            r#"{"records":[]}"#,
            r#"{"category":"kube-audit","properties":{"log":"{}"}}"#,
            r#"{"labels":{},"receiveTimestamp":"t"}"#,
            r#"{"message":null,"message":null}"#,
        ] {
            assert!(scan_event(text).is_none(), "{text}");
        }
    }

    #[test]
    fn find_special_matches_a_plain_scan() {
        let slow = |b: &[u8]| b.iter().position(|&c| SPECIAL[c as usize]);
        let mut bytes: Vec<u8> = (0u8..=255).collect();
        bytes.extend_from_slice("abcé\u{2028}\"x".as_bytes());
        for start in 0..bytes.len() {
            for end in start..bytes.len().min(start + 40) {
                let b = &bytes[start..end];
                assert_eq!(find_special(b), slow(b), "{b:?}");
                assert_eq!(find_special_swar(b), slow(b), "{b:?}");
            }
        }
    }

    proptest! {
        #[test]
        fn mutations_never_disagree(pos in 0usize..LINE.len(), byte in prop::sample::select(
            b"{}[]\":,\\ 0123456789.eE-+tfnulax\tu".to_vec()), delete in any::<bool>()) {
            let mut bytes = LINE.as_bytes().to_vec();
            if delete { bytes.remove(pos); } else { bytes.insert(pos, byte); }
            if let Ok(text) = String::from_utf8(bytes) {
                agrees(&text);
            }
        }
    }
}
