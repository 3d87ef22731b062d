//! The chain's numbers that JSON would round: coin amounts and fractions. In memory they
//! are integers; in genesis, in host state and in queries they are decimal strings, as
//! Cosmos writes them (a JSON number loses precision past 2^53). A string that does not
//! parse is refused when read, so no arithmetic ever sees a default in its place.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount of the chain's one denomination.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(pub u128);

impl Amount {
    pub const ZERO: Amount = Amount(0);

    /// A non-negative decimal integer, digits only.
    pub fn parse(s: &str) -> Result<Amount, String> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{s:?} is not an amount (a non-negative integer)"));
        }
        s.parse()
            .map(Amount)
            .map_err(|_| format!("amount {s:?} is too large"))
    }

    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    /// Sums cannot exceed the supply, which genesis fixed below `u128::MAX`; saturating
    /// keeps a bug from wrapping round to a small balance.
    pub fn saturating_add(self, other: Amount) -> Amount {
        Amount(self.0.saturating_add(other.0))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        let s = String::deserialize(d)?;
        Amount::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A fraction in [0, 1], exact to parts per billion (Cosmos's `LegacyDec` in the places
/// x/gov uses it, reduced to what those need).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fraction {
    ppb: u64,
}

impl Fraction {
    pub const ONE_PPB: u64 = 1_000_000_000;

    /// A decimal string in [0, 1] with at most nine decimals ("0.334", "1", ".5").
    pub fn parse(s: &str) -> Result<Fraction, String> {
        let bad = || format!("{s:?} is not a decimal fraction between 0 and 1");
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let whole = match int {
            "0" | "" => 0,
            "1" => Fraction::ONE_PPB,
            _ => return Err(bad()),
        };
        let part: u64 = format!("{frac:0<9}").parse().map_err(|_| bad())?;
        let ppb = whole + part;
        if ppb > Fraction::ONE_PPB || (int.is_empty() && frac.is_empty()) {
            return Err(bad());
        }
        Ok(Fraction { ppb })
    }

    /// Parts per billion.
    pub fn ppb(self) -> u64 {
        self.ppb
    }
}

impl fmt::Display for Fraction {
    /// The shortest decimal: "0.334", "0.5", "1", "0".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, part) = (self.ppb / Fraction::ONE_PPB, self.ppb % Fraction::ONE_PPB);
        if part == 0 {
            return write!(f, "{whole}");
        }
        let digits = format!("{part:09}");
        write!(f, "{whole}.{}", digits.trim_end_matches('0'))
    }
}

impl Serialize for Fraction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fraction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Fraction, D::Error> {
        let s = String::deserialize(d)?;
        Fraction::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_parse_exactly_and_print_shortest() {
        let ppb = |s| Fraction::parse(s).map(Fraction::ppb);
        assert_eq!(ppb("0.334"), Ok(334_000_000));
        assert_eq!(ppb("0.5"), Ok(500_000_000));
        assert_eq!(ppb("1"), Ok(1_000_000_000));
        assert_eq!(ppb("1.000"), Ok(1_000_000_000));
        for bad in ["1.5", "-0.1", "0.1234567891", "", ".", "2", "0.x"] {
            assert!(Fraction::parse(bad).is_err(), "{bad:?}");
        }
        for s in ["0.334", "0.25", "0.5", "1", "0", "0.000000001"] {
            assert_eq!(Fraction::parse(s).expect(s).to_string(), s);
        }
        assert_eq!(Fraction::parse("0.50").expect("0.50").to_string(), "0.5");
    }

    #[test]
    fn amounts_are_digits_only_and_round_trip_as_strings() {
        assert_eq!(Amount::parse("10"), Ok(Amount(10)));
        for bad in ["-1", "", "1.0", " 1", "1e3"] {
            assert!(Amount::parse(bad).is_err(), "{bad:?}");
        }
        let big = Amount(u128::MAX);
        let json = serde_json::to_string(&big).expect("json");
        assert_eq!(json, format!("\"{}\"", u128::MAX));
        assert_eq!(serde_json::from_str::<Amount>(&json).expect("back"), big);
        assert!(serde_json::from_str::<Amount>("\"12x\"").is_err());
        assert!(serde_json::from_str::<Amount>("12").is_err());
    }
}
