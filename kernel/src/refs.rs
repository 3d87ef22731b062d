//! Names: kernel refs (`koN`, `kpN`), vat ids (`vN`) and vat refs (`o+N`, `p-N`, …).
//!
//! Kernel refs are the kernel's own and always well-formed. Vat refs come from vats, so
//! every one is parsed and checked before the kernel uses it (`VRef::parse`).

use std::fmt;
use std::str::FromStr;

/// A kernel reference: an object or a promise in the kernel tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KRef {
    Object(u64),
    Promise(u64),
}

impl KRef {
    pub fn is_promise(self) -> bool {
        matches!(self, KRef::Promise(_))
    }
    pub fn is_object(self) -> bool {
        matches!(self, KRef::Object(_))
    }
}

impl KRef {
    fn parts(self) -> (&'static str, u64) {
        match self {
            KRef::Object(n) => ("ko", n),
            KRef::Promise(n) => ("kp", n),
        }
    }

    /// Appends the ref's name (as `Display` writes it) to `s`.
    pub(crate) fn write_to(self, s: &mut String) {
        let (prefix, n) = self.parts();
        s.push_str(prefix);
        s.push_str(&decimal(n));
    }
}

impl fmt::Display for KRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (prefix, n) = self.parts();
        f.write_str(prefix)?;
        f.write_str(&decimal(n))
    }
}

/// `n` in decimal, on the stack (a faster path than the formatting machinery, which the
/// kernel would otherwise go through for every key it builds).
pub(crate) fn decimal(mut n: u64) -> Decimal {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    Decimal { buf, start: i }
}

/// Decimal digits made by [`decimal`].
pub(crate) struct Decimal {
    buf: [u8; 20],
    start: usize,
}

impl std::ops::Deref for Decimal {
    type Target = str;
    fn deref(&self) -> &str {
        // Only ASCII digits are ever written into `buf[start..]`.
        std::str::from_utf8(&self.buf[self.start..]).unwrap_or_default()
    }
}

/// A string that is not a kernel ref.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a kernel ref: {0:?}")]
pub struct BadKRef(pub String);

impl FromStr for KRef {
    type Err = BadKRef;
    fn from_str(s: &str) -> Result<KRef, BadKRef> {
        let bad = || BadKRef(s.to_string());
        let (ctor, digits): (fn(u64) -> KRef, &str) = if let Some(d) = s.strip_prefix("ko") {
            (KRef::Object, d)
        } else if let Some(d) = s.strip_prefix("kp") {
            (KRef::Promise, d)
        } else {
            return Err(bad());
        };
        Ok(ctor(parse_decimal(digits).ok_or_else(bad)?))
    }
}

impl serde::Serialize for KRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for KRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<KRef, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A vat id, `vN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VatId(pub u64);

impl VatId {
    /// Appends the id (as `Display` writes it) to `s`.
    pub(crate) fn write_to(self, s: &mut String) {
        s.push('v');
        s.push_str(&decimal(self.0));
    }
}

impl fmt::Display for VatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("v")?;
        f.write_str(&decimal(self.0))
    }
}

impl FromStr for VatId {
    type Err = String;
    fn from_str(s: &str) -> Result<VatId, String> {
        s.strip_prefix('v')
            .and_then(parse_decimal)
            .map(VatId)
            .ok_or_else(|| format!("not a vat id: {s:?}"))
    }
}

impl serde::Serialize for VatId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for VatId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<VatId, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Canonical decimal: digits only, no leading zero (except "0"), fits in u64.
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// What a vat ref names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VKind {
    Object,
    Promise,
}

/// A checked vat ref. `+` refs are allocated by the vat (exports), `-` refs by the kernel
/// (imports).
///
/// # Invariants
/// Only `o` and `p` refs exist (vats may not export device nodes); imports and promises are
/// `±N` in canonical decimal; object exports are `o+N`, `o+vK/I[:F]` or `o+dK/I[:F]`; the
/// whole string is at most [`VRef::MAX_LEN`] bytes and never contains `|`, `,` or spaces.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VRef(String);

impl VRef {
    /// Longest vref a vat may use: bounds the size of c-list keys a hostile vat can make.
    pub const MAX_LEN: usize = 64;

    pub fn parse(s: &str) -> Result<VRef, String> {
        let bad = |why: &str| format!("malformed vref {:?}: {why}", truncate(s, 80));
        if s.len() > Self::MAX_LEN {
            return Err(bad("too long"));
        }
        let b = s.as_bytes();
        if b.len() < 3 {
            return Err(bad("too short"));
        }
        let kind = match b[0] {
            b'o' => VKind::Object,
            b'p' => VKind::Promise,
            b'd' => return Err(bad("device nodes are not supported")),
            _ => return Err(bad("must start with o or p")),
        };
        let export = match b[1] {
            b'+' => true,
            b'-' => false,
            _ => return Err(bad("second character must be + or -")),
        };
        let rest = &s[2..];
        let numeric = parse_decimal(rest).is_some();
        let ok = match (kind, export) {
            (VKind::Object, true) => numeric || valid_virtual(rest),
            _ => numeric,
        };
        if !ok {
            return Err(bad("bad id"));
        }
        Ok(VRef(s.to_string()))
    }

    /// Builds a kernel-allocated import ref (`o-N` / `p-N`).
    pub(crate) fn import(kind: VKind, n: u64) -> VRef {
        VRef(match kind {
            VKind::Object => format!("o-{n}"),
            VKind::Promise => format!("p-{n}"),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn kind(&self) -> VKind {
        if self.0.starts_with('o') {
            VKind::Object
        } else {
            VKind::Promise
        }
    }
    /// Allocated by the vat (`+`).
    pub fn is_export(&self) -> bool {
        self.0.as_bytes()[1] == b'+'
    }
    pub fn is_promise(&self) -> bool {
        self.kind() == VKind::Promise
    }
    /// An export the next incarnation keeps: durable objects and the root `o+0`.
    pub fn is_durable_export(&self) -> bool {
        self.0 == "o+0" || self.0.starts_with("o+d")
    }
}

impl fmt::Display for VRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `vK/I` or `dK/I`, optionally `:F`, all numbers canonical.
fn valid_virtual(rest: &str) -> bool {
    let Some(body) = rest.strip_prefix('v').or_else(|| rest.strip_prefix('d')) else {
        return false;
    };
    let (base, facet) = match body.split_once(':') {
        Some((b, f)) => (b, Some(f)),
        None => (body, None),
    };
    let Some((k, i)) = base.split_once('/') else {
        return false;
    };
    parse_decimal(k).is_some()
        && parse_decimal(i).is_some()
        && facet.is_none_or(|f| parse_decimal(f).is_some())
}

/// At most `n` bytes of `s`, cut on a character boundary (for error messages).
pub(crate) fn truncate(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vrefs_parse_strictly() {
        for ok in ["o+0", "o+12", "o-50", "p+5", "p-60", "o+v10/3", "o+d11/2:1"] {
            assert!(VRef::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "o", "o+", "x+1", "o*1", "o-01", "p+v1/2", "o-d1/1", "d-70", "o+1,2", "o+d1",
            "o+d1/2:",
        ] {
            assert!(VRef::parse(bad).is_err(), "{bad}");
        }
        assert!(VRef::parse(&format!("o+{}", "1".repeat(100))).is_err());
    }

    #[test]
    fn krefs_round_trip() {
        for s in ["ko20", "kp40", "ko0"] {
            assert_eq!(s.parse::<KRef>().map(|k| k.to_string()).as_deref(), Ok(s));
        }
        assert!("ko".parse::<KRef>().is_err());
        assert!("kx1".parse::<KRef>().is_err());
        assert!("ko01".parse::<KRef>().is_err());
    }
}
