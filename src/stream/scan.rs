//! The quick way through a ticker message. Nearly every message of a stream is one flat ticker
//! object, alone or in a combined stream's envelope (`{"stream":…,"data":{…}}`), whose keys
//! are single letters and whose values are plain strings and integers. [`ticker`] reads
//! exactly that shape in one pass over the bytes, borrowing every string; anything else (an
//! escape, a nested value, `null`, a reply or an error, a repeated key, JSON it is not sure
//! of) makes it give up, and the message is read by serde_json as before. So the answer is
//! always serde_json's (a test holds the two to it); only the time differs. Both fill
//! [`Fields`], the ticker keys, defined here so that imports run one way (message → scan). Measured at
//! 10,000 messages a second, serde's derived reader was 30% of the process's CPU; with this
//! pass in front of it the process used 18% less (`scripts/bench.sh stream`'s load, user CPU
//! over 30 s: 0.89 s, then 0.73 s).

use std::borrow::Cow;

use serde::Deserialize;

/// The ticker keys alone: what a combined stream's `data` holds (one, or the all-market
/// array), kept apart from the message's object so that it needs no box.
#[derive(Deserialize, Default)]
pub(super) struct Fields<'a> {
    #[serde(borrow, default)]
    pub(super) e: Option<Cow<'a, str>>,
    #[serde(rename = "E", default)]
    pub(super) event: Option<u64>,
    #[serde(borrow, default)]
    pub(super) s: Option<Cow<'a, str>>,
    #[serde(default)]
    pub(super) u: Option<u64>,
    #[serde(borrow, default)]
    pub(super) c: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) p: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "P", default)]
    pub(super) percent: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) h: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) l: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) v: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) q: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) b: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "B", default)]
    pub(super) bid_qty: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) a: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "A", default)]
    pub(super) ask_qty: Option<Cow<'a, str>>,
    /// The futures' mark price update: `p` the mark, `i` the index, `P` the estimated settle
    /// price, `r` the funding rate, `T` the next funding time.
    #[serde(borrow, default)]
    pub(super) i: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(super) r: Option<Cow<'a, str>>,
    #[serde(rename = "T", default)]
    pub(super) next: Option<u64>,
}

/// What a message of the usual shape holds: one ticker, or the all-market array's.
#[allow(
    clippy::large_enum_variant,
    reason = "one ticker per message, ten thousand a second: boxing it cost an allocation each"
)]
pub(super) enum Scanned<'a> {
    One(Fields<'a>),
    Many(Vec<Fields<'a>>),
    /// (While reading: no `data` yet.)
    Nothing,
}

/// The ticker fields of a message of the usual shape (one object, the all-market array,
/// either in a combined stream's envelope), or `None`: read it the long way.
pub(super) fn ticker(text: &str) -> Option<Scanned<'_>> {
    let mut s = Scanner { text, at: 0 };
    s.space();
    if s.peek()? == b'[' {
        let list = s.array()?;
        return s.end().then_some(Scanned::Many(list));
    }
    s.byte(b'{')?;
    let mut top = Fields::default();
    let mut known = false;
    let mut data = Scanned::Nothing;
    s.object(|s, key| {
        match key {
            "data" => {
                if !matches!(data, Scanned::Nothing) {
                    return None;
                }
                s.space();
                data = match s.peek()? {
                    b'[' => Scanned::Many(s.array()?),
                    _ => Scanned::One(s.ticker_object()?),
                };
                Some(())
            }
            // Replies, errors and requests are the long way's to tell apart.
            "id" | "code" | "msg" | "error" | "result" | "method" | "params" => None,
            _ => s.field(key, &mut top, &mut known),
        }
    })?;
    if !s.end() {
        return None;
    }
    match data {
        // An envelope whose top level holds ticker keys too: unusual, the long way.
        Scanned::Nothing => Some(Scanned::One(top)),
        _ if known => None,
        inner => Some(inner),
    }
}

struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    /// Whether only space is left.
    fn end(&mut self) -> bool {
        self.space();
        self.at == self.text.len()
    }

    /// One flat ticker object, from its `{`.
    fn ticker_object(&mut self) -> Option<Fields<'a>> {
        self.byte(b'{')?;
        let mut fields = Fields::default();
        let mut known = false;
        self.object(|s, key| s.field(key, &mut fields, &mut known))?;
        Some(fields)
    }

    /// An array of flat ticker objects, from its `[` through its `]`.
    fn array(&mut self) -> Option<Vec<Fields<'a>>> {
        self.byte(b'[')?;
        let mut list = Vec::new();
        if self.byte(b']').is_some() {
            return Some(list);
        }
        loop {
            list.push(self.ticker_object()?);
            self.space();
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(list);
                }
                _ => return None,
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Takes `want` (after any space).
    fn byte(&mut self, want: u8) -> Option<()> {
        self.space();
        (self.peek()? == want).then(|| self.at += 1)
    }

    /// The members of an object whose `{` was taken, each handed to `member` with the scanner
    /// just past its colon; through the closing `}`.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.space();
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(());
        }
        loop {
            self.space();
            let key = self.string()?;
            self.byte(b':')?;
            self.space();
            member(self, key)?;
            self.space();
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A string without escapes or control characters, borrowed.
    fn string(&mut self) -> Option<&'a str> {
        let b = self.text.as_bytes();
        if b.get(self.at) != Some(&b'"') {
            return None;
        }
        let start = self.at + 1;
        let mut end = start;
        loop {
            match *b.get(end)? {
                b'"' => break,
                b'\\' | 0..0x20 => return None,
                _ => end += 1,
            }
        }
        self.at = end + 1;
        // Both ends are ASCII quotes, so the slice lies on character boundaries.
        self.text.get(start..end)
    }

    /// A JSON number, checked against the grammar; its text.
    fn number(&mut self) -> Option<&'a str> {
        let b = self.text.as_bytes();
        let start = self.at;
        let mut i = start;
        let digits = |i: &mut usize| {
            let from = *i;
            while b.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > from
        };
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        if b.get(i) == Some(&b'0') {
            i += 1;
        } else if !digits(&mut i) {
            return None;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !digits(&mut i) {
                return None;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !digits(&mut i) {
                return None;
            }
        }
        self.at = i;
        Some(&self.text[start..i])
    }

    /// An integer that fits a `u64`, as serde reads `E`, `u` and `T`.
    fn unsigned(&mut self) -> Option<u64> {
        let n = self.number()?;
        if n.bytes().all(|b| b.is_ascii_digit()) {
            n.parse().ok()
        } else {
            None
        }
    }

    /// Skips a string, a number, `true` or `false` (the values of keys not read).
    fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b't' => self.word("true"),
            b'f' => self.word("false"),
            b'-' | b'0'..=b'9' => self.number().map(drop),
            _ => None,
        }
    }

    fn word(&mut self, word: &str) -> Option<()> {
        let end = self.at + word.len();
        (self.text.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// One member of a ticker object into `f` (`known`: a ticker key was read); a key read
    /// twice gives up, as serde refuses it.
    fn field(&mut self, key: &str, f: &mut Fields<'a>, known: &mut bool) -> Option<()> {
        let slot = match key {
            "e" => &mut f.e,
            "s" => &mut f.s,
            "c" => &mut f.c,
            "p" => &mut f.p,
            "P" => &mut f.percent,
            "h" => &mut f.h,
            "l" => &mut f.l,
            "v" => &mut f.v,
            "q" => &mut f.q,
            "b" => &mut f.b,
            "B" => &mut f.bid_qty,
            "a" => &mut f.a,
            "A" => &mut f.ask_qty,
            "i" => &mut f.i,
            "r" => &mut f.r,
            "E" | "u" | "T" => {
                let number = match key {
                    "E" => &mut f.event,
                    "u" => &mut f.u,
                    _ => &mut f.next,
                };
                if number.is_some() {
                    return None;
                }
                *known = true;
                *number = Some(self.unsigned()?);
                return Some(());
            }
            _ => return self.skip(),
        };
        if slot.is_some() {
            return None;
        }
        *known = true;
        *slot = Some(Cow::Borrowed(self.string()?));
        Some(())
    }
}
