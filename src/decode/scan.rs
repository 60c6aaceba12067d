//! A hand-written decoder for the common line: one audit event as a JSON object. It reads
//! the same fields as serde_json into the same `EventDoc`, validating them as strictly,
//! and skips everything else with fast scans.
//!
//! It answers only when it is sure: anything unusual (an `items` list, an escaped object
//! key, a surrogate escape in a wanted string, a duplicate wanted field, a wrong type, a
//! struct written as an array, deep nesting, any syntax error) gives `None`, and the caller
//! decodes the line with serde_json, which then gives the result or the exact error.
//!
//! Two levels: the strict scan ([`scan_event_strict`], `--strict-input`) validates every
//! token, so `Some(doc)` implies serde_json would give the same `doc`. The lax scan
//! ([`scan_event`], the default) skips object and array values of unread top-level fields
//! (the request and response bodies) by structure only; whenever serde_json accepts a line
//! it gives the same `doc`, and it may also accept a line whose only fault is inside such
//! a body.

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

/// For sixteen bytes: bit i set in the first mask when byte i is a quote, backslash or
/// control character, in the second when it is a quote.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn special_masks(chunk: &[u8; 16]) -> (i32, i32) {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // SAFETY: SSE2 is always there on x86-64, and the unaligned load reads exactly the
    // sixteen bytes of `chunk`.
    #[allow(unused_unsafe)]
    unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // Unsigned c < 0x20 exactly when max(c, 0x1f) == 0x1f.
        let low = _mm_set1_epi8(0x1f);
        let control = _mm_cmpeq_epi8(_mm_max_epu8(v, low), low);
        let special = _mm_or_si128(_mm_or_si128(quote, backslash), control);
        (_mm_movemask_epi8(special), _mm_movemask_epi8(quote))
    }
}

/// The first quote, backslash or control character in `bytes`, and whether it is a quote
/// (then a string without escapes ends there): sixteen bytes at a time with SSE2 (part of
/// every x86-64), then eight at a time.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn find_special(bytes: &[u8]) -> Option<(usize, bool)> {
    let mut i = 0;
    while let Some(chunk) = bytes[i..].first_chunk::<16>() {
        let (special, quote) = special_masks(chunk);
        if special != 0 {
            let first = special & special.wrapping_neg();
            return Some((i + first.trailing_zeros() as usize, first & quote != 0));
        }
        i += 16;
    }
    find_special_swar(&bytes[i..]).map(|k| (i + k, bytes[i + k] == b'"'))
}

#[cfg(not(target_arch = "x86_64"))]
fn find_special(bytes: &[u8]) -> Option<(usize, bool)> {
    find_special_swar(bytes).map(|k| (k, bytes[k] == b'"'))
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

/// Where the bytes that matter to [`Parser::skip_structure`] are in a block of 64 bytes
/// (bit i for byte i; past the end of the input, nothing is set).
struct Masks {
    quote: u64,
    backslash: u64,
    /// `{` or `[`.
    open: u64,
    /// `}` or `]`.
    close: u64,
    /// Bytes below 0x20.
    control: u64,
}

impl Masks {
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn of(bytes: &[u8]) -> Masks {
        match bytes.first_chunk::<64>() {
            Some(block) => Masks::of_block(block),
            None => {
                // The last, partial block: padded with spaces, which matter to nothing.
                let mut padded = [b' '; 64];
                padded[..bytes.len()].copy_from_slice(bytes);
                Masks::of_block(&padded)
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn of_block(block: &[u8; 64]) -> Masks {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };
        let mut m = Masks {
            quote: 0,
            backslash: 0,
            open: 0,
            close: 0,
            control: 0,
        };
        for (k, chunk) in block.chunks_exact(16).enumerate() {
            let shift = 16 * k as u32;
            // SAFETY: SSE2 is always there on x86-64, and the unaligned load reads exactly
            // the sixteen bytes of `chunk`.
            #[allow(unused_unsafe)]
            unsafe {
                let v = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
                let bit = |c: u8| {
                    _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8))) as u16 as u64
                };
                // `{` 0x7b and `[` 0x5b differ only in bit 0x20, as do `}` and `]`.
                let folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
                let fbit = |c: u8| {
                    _mm_movemask_epi8(_mm_cmpeq_epi8(folded, _mm_set1_epi8(c as i8))) as u16 as u64
                };
                let low = _mm_set1_epi8(0x1f);
                let control =
                    _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(v, low), low)) as u16 as u64;
                m.quote |= bit(b'"') << shift;
                m.backslash |= bit(b'\\') << shift;
                m.open |= fbit(b'{') << shift;
                m.close |= fbit(b'}') << shift;
                m.control |= control << shift;
            }
        }
        m
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn of(bytes: &[u8]) -> Masks {
        let mut m = Masks {
            quote: 0,
            backslash: 0,
            open: 0,
            close: 0,
            control: 0,
        };
        for (k, &c) in bytes.iter().take(64).enumerate() {
            let bit = 1u64 << k;
            match c | 0x20 {
                b'{' => m.open |= bit,
                b'}' => m.close |= bit,
                _ => {}
            }
            match c {
                b'"' => m.quote |= bit,
                b'\\' => m.backslash |= bit,
                0..=0x1f => m.control |= bit,
                _ => {}
            }
        }
        m
    }
}

/// Bit i of the result: the xor of bits 0..=i of `x` (so between a quote and the next one,
/// the first included, bits are set).
#[inline(always)]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// The bytes escaped by a backslash in a block whose backslashes are `backslash`; `carry`
/// says whether byte 0 is escaped by the previous block, and is set for the next one. A
/// backslash escapes the next byte unless it is escaped itself. Backslashes are rare, so
/// they are walked one by one.
#[inline(always)]
fn escaped_bits(backslash: u64, carry: &mut bool) -> u64 {
    let mut escaped = u64::from(*carry);
    *carry = false;
    let mut rest = backslash & !escaped;
    while rest != 0 {
        let bit = rest.trailing_zeros();
        if bit == 63 {
            *carry = true;
            break;
        }
        escaped |= 1 << (bit + 1);
        // The escaped byte, if a backslash, escapes nothing.
        rest &= !(1u64 << bit) & !(1 << (bit + 1));
    }
    escaped
}

/// Deepest nesting handled here (serde_json's limit is 128).
const MAX_DEPTH: u32 = 64;

/// Decodes `text` when it is a plain audit event object; `None` means "ask serde_json".
/// Object and array values of top-level fields that are not read (request and response
/// bodies above all) are checked for structure only: see [`Parser::skip_structure`].
pub fn scan_event(text: &str) -> Option<EventDoc<'_>> {
    let mut doc = EventDoc::default();
    scan_event_into(text, &mut doc, false).then_some(doc)
}

/// [`scan_event`] validating every value token by token, as strictly as serde_json: when it
/// answers, serde_json gives the same document (`--strict-input`, and the reference for the
/// lax scan in tests).
pub fn scan_event_strict(text: &str) -> Option<EventDoc<'_>> {
    let mut doc = EventDoc::default();
    scan_event_into(text, &mut doc, true).then_some(doc)
}

/// [`scan_event`] (or with `validate_bodies`, [`scan_event_strict`]) into a document the
/// caller provides (an event document is large: this saves moving it); `false` means "ask
/// serde_json", and `doc` is then left half filled.
pub fn scan_event_into<'a>(text: &'a str, doc: &mut EventDoc<'a>, validate_bodies: bool) -> bool {
    let lax = !validate_bodies;
    let mut p = Parser {
        s: text,
        b: text.as_bytes(),
        i: 0,
        depth: 0,
        lax,
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
    /// Whether object and array values of unread top-level fields are skipped by their
    /// structure only ([`Parser::skip_structure`]) instead of token by token.
    lax: bool,
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
        let b = self.b;
        let start = self.i;
        // Kept local, stored once: the position of the next byte to look at.
        let mut i = start;
        let mut escaped = false;
        loop {
            let (k, quote) = find_special(b.get(i..)?)?;
            i += k;
            if quote {
                self.i = i + 1;
                return Some((start, i, escaped));
            }
            if b[i] < 0x20 {
                return None;
            }
            escaped = true;
            match *b.get(i + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                b'u' => {
                    let hex = b.get(i + 2..i + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    i += 6;
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
        self.container(b'{', b'}', |p| {
            let key = p.key()?;
            p.ws();
            p.eat(b':')?;
            field(p, key)
        })
    }

    /// An array, calling `item(self)` to read each element.
    fn array(&mut self, item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.container(b'[', b']', item)
    }

    /// An object or array between `open` and `close`, calling `member(self)` to read each
    /// member, nested at most `MAX_DEPTH` deep.
    fn container(
        &mut self,
        open: u8,
        close: u8,
        mut member: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.ws();
        self.eat(open)?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        if self.eat(close).is_none() {
            loop {
                member(self)?;
                self.ws();
                match self.peek()? {
                    b',' => self.i += 1,
                    c if c == close => {
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

    /// The value of a top-level field that is not read. Bodies are most of the bytes of a
    /// log and are token-dense, so when lax an object or array is skipped by structure.
    fn skip_unread(&mut self) -> Option<()> {
        self.ws();
        if self.lax && matches!(self.peek(), Some(b'{' | b'[')) {
            self.skip_structure()
        } else {
            self.skip()
        }
    }

    /// Skips the object or array opening at `self.i` by its structure alone, 64 bytes at a
    /// time: strings must close (escapes are honoured, control characters in them refused)
    /// and brackets must balance, but tokens between them are not checked, nor whether a
    /// `]` closes a `[` or a `{`. A line that serde_json accepts is read exactly as it
    /// would read it; one with garbage inside an unread body may be accepted.
    fn skip_structure(&mut self) -> Option<()> {
        let mut at = self.i;
        // Depth of brackets outside strings, counted from the opening one.
        let mut depth: u32 = 0;
        let limit = MAX_DEPTH.saturating_sub(self.depth);
        // Whether the previous block ended inside a string / with an escaping backslash.
        let mut in_string = 0u64;
        let mut escape_carry = false;
        while at < self.b.len() {
            let masks = Masks::of(&self.b[at..]);
            let escaped = escaped_bits(masks.backslash, &mut escape_carry);
            let quotes = masks.quote & !escaped;
            // Bit i set when byte i is inside a string (opening quote included).
            let inside = prefix_xor(quotes) ^ in_string;
            in_string = 0u64.wrapping_sub(inside >> 63);
            if masks.control & inside != 0 {
                return None;
            }
            let opens = masks.open & !inside;
            let closes = masks.close & !inside;
            if depth > closes.count_ones() {
                // The value cannot end in this block.
                depth = depth + opens.count_ones() - closes.count_ones();
            } else {
                let mut brackets = opens | closes;
                while brackets != 0 {
                    let bit = brackets.trailing_zeros();
                    brackets &= brackets - 1;
                    if opens >> bit & 1 == 1 {
                        depth += 1;
                    } else {
                        depth -= 1;
                        if depth == 0 {
                            self.i = at + bit as usize + 1;
                            return Some(());
                        }
                    }
                }
            }
            if depth > limit {
                return None;
            }
            at += 64;
        }
        None
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
                _ => return p.skip_unread(),
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

/// The character a two-byte JSON escape (a backslash, then `c`) stands for; `None` when `c`
/// does not make one (`u` starts a `\uXXXX` escape).
pub(crate) fn short_escape(c: u8) -> Option<char> {
    Some(match c {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        _ => return None,
    })
}

/// Decodes the escapes of a string body; `None` for a surrogate (left to serde_json).
fn unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(k) = rest.find('\\') {
        out.push_str(&rest[..k]);
        let b = rest.as_bytes();
        let c = match b[k + 1] {
            b'u' => {
                let code = u32::from_str_radix(rest.get(k + 2..k + 6)?, 16).ok()?;
                let c = char::from_u32(code)?; // surrogates are not chars
                rest = &rest[k + 6..];
                out.push(c);
                continue;
            }
            other => short_escape(other)?,
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
    use crate::decode::record::parse_events as parse_value;
    use proptest::prelude::*;

    const LINE: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"x","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/a/pods?watch=1\u0026x=\"y\"","verb":"watch","user":{"username":"a\u003cb","groups":["g1","system:authenticated"],"extra":{"k":["v","w"]},"uid":null},"impersonatedUser":null,"objectRef":{"resource":"pods","namespace":"a","apiVersion":"v1","apiGroup":""},"responseStatus":{"metadata":{},"code":-200},"requestObject":{"deep":[1,2.5e-3,{"x":null,"y":true,"z":false,"s":"\ud800\t"}],"e":[],"o":{}},"annotations":{"authorization.k8s.io/decision":"allow","other":"x"},"requestReceivedTimestamp":"2024-05-01T12:00:00.123456Z","metadata":{"creationTimestamp":"t"},"timestamp":"u","stageTimestamp":"v"}"#;

    /// The strict scanner must agree with serde_json whenever it answers, and the lax one
    /// must then give the same document; the lax one may accept more, but whenever
    /// serde_json accepts, it must read the same.
    fn agrees(text: &str) -> bool {
        let lax = scan_event(text).map(|doc| format!("{doc:?}"));
        let serde = parse_value(text).ok().map(|docs| {
            assert_eq!(docs.len(), 1);
            format!("{:?}", docs[0])
        });
        if let (Some(lax), Some(serde)) = (&lax, &serde) {
            assert_eq!(lax, serde, "{text}");
        }
        let Some(doc) = scan_event_strict(text) else {
            return false;
        };
        let strict = format!("{doc:?}");
        assert_eq!(Some(&strict), serde.as_ref(), "strict accepted: {text}");
        assert_eq!(Some(&strict), lax.as_ref(), "lax declined: {text}");
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
            r#"{"requestObject":{"a":"b}"#,
            r#"{"requestObject":{"a":"b\"}"}"#,
            r#"{"requestObject":[[[]]"#,
            "{\"requestObject\":{\"a\":\"b\tc\"}}",
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
        bytes.extend_from_slice(b"plain text of some length\" then \\\" and more plain text\"");
        for start in 0..bytes.len() {
            for end in start..bytes.len().min(start + 40) {
                let b = &bytes[start..end];
                let first = slow(b);
                assert_eq!(find_special(b), first.map(|k| (k, b[k] == b'"')), "{b:?}");
                assert_eq!(find_special_swar(b), slow(b), "{b:?}");
            }
        }
    }

    /// Bodies that stress the structural skip: escapes at and across 64-byte boundaries,
    /// brackets and quotes inside strings, deep and wide nesting.
    fn tricky_bodies() -> Vec<String> {
        let mut bodies = vec![
            r#"{}"#.to_string(),
            r#"[]"#.to_string(),
            r#"{"a":"}]{[","b":["\"]",{"c":"\\"}],"d":"\\\""}"#.to_string(),
            r#"[1,-2.5e3,true,false,null,"x",{"y":[{}]}]"#.to_string(),
            format!("{}{}", "[".repeat(60), "]".repeat(60)),
        ];
        for pad in 0..130 {
            let fill = "x".repeat(pad);
            bodies.push(format!(r#"{{"{fill}":"\\","k":"{fill}\"}}{{"}}"#));
            bodies.push(format!(r#"["{fill}\\\\","\"{fill}",{{"z":"\u0022]"}}]"#));
        }
        bodies
    }

    #[test]
    fn structural_skip_finds_the_end_of_every_body() {
        for body in tricky_bodies() {
            for key in ["requestObject", "responseObject", "unknownField"] {
                let text = format!(r#"{{"verb":"get",{key}:{body},"stage":"ResponseComplete"}}"#);
                let text = text.replacen(&format!("{key}:"), &format!("\"{key}\":"), 1);
                assert!(agrees(&text), "{text}");
                let doc = scan_event(&text).expect("lax scan");
                assert_eq!(doc.stage.as_deref(), Some("ResponseComplete"), "{text}");
            }
        }
    }

    #[test]
    fn escaped_bits_follow_backslash_runs() {
        let slow = |bytes: &[u8], carry_in: bool| {
            let mut escaped = 0u64;
            let mut next_escaped = carry_in;
            for (k, &c) in bytes.iter().enumerate() {
                if next_escaped {
                    escaped |= 1 << k;
                    next_escaped = false;
                } else if c == b'\\' {
                    next_escaped = true;
                }
            }
            (escaped, next_escaped)
        };
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Runs of backslashes, denser in some blocks than others.
            let density = (state >> 60) as u32;
            let mut bytes = [b'a'; 64];
            let mut bits = 0u64;
            for (k, b) in bytes.iter_mut().enumerate() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                if (state % 16) < u64::from(density) {
                    *b = b'\\';
                    bits |= 1 << k;
                }
            }
            for carry_in in [false, true] {
                let mut carry = carry_in;
                let fast = escaped_bits(bits, &mut carry);
                assert_eq!(
                    (fast, carry),
                    slow(&bytes, carry_in),
                    "{bits:064b} {carry_in}"
                );
            }
        }
    }

    proptest! {
        #[test]
        fn mutations_inside_a_body_never_change_what_is_read(
            body in 0usize..130, pos in 0usize..400, byte in prop::sample::select(
            b"{}[]\":,\\ 0ax\t".to_vec()), delete in any::<bool>()) {
            let bodies = tricky_bodies();
            let body = &bodies[body % bodies.len()];
            let text = format!(r#"{{"verb":"get","requestObject":{body},"stage":"x"}}"#);
            let start = text.find("requestObject").unwrap_or(0) + 16;
            let end = start + body.len() - 1;
            let pos = start + pos % (end - start);
            let mut bytes = text.as_bytes().to_vec();
            if delete { bytes.remove(pos); } else { bytes.insert(pos, byte); }
            if let Ok(mutated) = String::from_utf8(bytes) {
                agrees(&mutated);
                if let Some(doc) = scan_event(&mutated) {
                    // Whatever the body became, the fields around it read the same.
                    prop_assert_eq!(doc.verb.as_deref(), Some("get"));
                    prop_assert_eq!(doc.stage.as_deref(), Some("x"));
                }
            }
        }

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
