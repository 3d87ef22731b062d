//! Events the app reports in ABCI results (what clients such as cosmjs read back).

use tendermint_proto::v0_38::abci::{Event, EventAttribute};

/// Longest attribute value CometBFT is asked to index.
pub const MAX_INDEXED_VALUE: usize = 256;

/// One event: a type and its attributes, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppEvent {
    pub kind: String,
    pub attrs: Vec<(String, String)>,
}

impl AppEvent {
    pub fn new<const N: usize>(kind: &str, attrs: [(&str, String); N]) -> AppEvent {
        AppEvent {
            kind: kind.to_string(),
            attrs: attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        }
    }

    /// The attribute named `key`, if present.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn to_abci(&self) -> Event {
        Event {
            r#type: self.kind.clone(),
            attributes: self
                .attrs
                .iter()
                .map(|(k, v)| EventAttribute {
                    key: k.clone(),
                    value: v.clone(),
                    // Short values (ids, names, paths) are what clients search by; values
                    // of any size would bloat CometBFT's tx index.
                    index: v.len() <= MAX_INDEXED_VALUE,
                })
                .collect(),
        }
    }
}
