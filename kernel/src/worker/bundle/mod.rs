//! Bundles: the code of a vat, in one of two module formats.
//!
//! - `vatchain-bundle-v1` ([`Bundle`]): a JSON document naming an entry module and its ES
//!   module sources, as `vatd bundle` makes them from a directory.
//! - `endoZipBase64` ([`EndoZipBundle`]): what upstream's `@endo/bundle-source` makes.
//!
//! [`AnyBundle`] takes either; both kinds give the worker a [`ModuleGraph`] to load.
//!
//! The native format:
//! ```json
//! {"moduleFormat":"vatchain-bundle-v1","entry":"main.js","modules":{"main.js":"…","lib/util.js":"…"}}
//! ```
//! `bundleID = "b1-" + hex(sha512(canonical bytes))`, where the canonical bytes are the JSON
//! above with keys sorted and no whitespace: two bundles with the same modules have the
//! same id however their JSON was laid out.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};

mod endo_zip;
mod zip_archive;

pub use endo_zip::{
    resolve_specifier, Archive, EndoZipBundle, MjsRecord, ModuleEntry, ModuleRef, ENDO_ZIP_FORMAT,
};

/// The native module format.
pub const MODULE_FORMAT: &str = "vatchain-bundle-v1";
/// Largest bundle accepted (canonical bytes).
pub const MAX_BUNDLE_BYTES: usize = 8 << 20;

/// A checked bundle.
///
/// # Invariants
/// `entry` names a module in `modules`; every module path is relative, `/`-separated,
/// without `.` or `..` segments, and ends in `.js`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Bundle {
    pub module_format: String,
    pub entry: String,
    pub modules: BTreeMap<String, String>,
}

/// Why a bundle was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("bundle is not valid JSON of the expected shape: {0}")]
    Malformed(String),
    #[error(
        "bundle module format is {0:?}; this kernel loads {MODULE_FORMAT:?} and {ENDO_ZIP_FORMAT:?}"
    )]
    Format(String),
    #[error("endoZipBase64 bundle refused: {0}")]
    Archive(String),
    #[error("bundle cannot run on this kernel: {0}")]
    Unrunnable(String),
    #[error("bundle entry module {0:?} is not among its modules")]
    MissingEntry(String),
    #[error("bundle module path {0:?} is not a relative .js path without . or .. segments")]
    BadPath(String),
    #[error("bundle is {0} bytes, over the {MAX_BUNDLE_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("cannot read bundle sources from {path}: {reason}")]
    Read { path: String, reason: String },
}

fn valid_path(p: &str) -> bool {
    !p.is_empty()
        && p.ends_with(".js")
        && !p.starts_with('/')
        && p.split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

impl Bundle {
    /// A bundle from an entry module and sources.
    pub fn new(entry: &str, modules: BTreeMap<String, String>) -> Result<Bundle, BundleError> {
        let b = Bundle {
            module_format: MODULE_FORMAT.into(),
            entry: entry.into(),
            modules,
        };
        b.check()?;
        Ok(b)
    }

    /// Parses and checks bundle bytes.
    pub fn parse(bytes: &[u8]) -> Result<Bundle, BundleError> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(BundleError::TooLarge(bytes.len()));
        }
        let b: Bundle =
            serde_json::from_slice(bytes).map_err(|e| BundleError::Malformed(e.to_string()))?;
        b.check()?;
        Ok(b)
    }

    fn check(&self) -> Result<(), BundleError> {
        if self.module_format != MODULE_FORMAT {
            return Err(BundleError::Format(self.module_format.clone()));
        }
        if let Some(bad) = self.modules.keys().find(|p| !valid_path(p)) {
            return Err(BundleError::BadPath(bad.clone()));
        }
        if !self.modules.contains_key(&self.entry) {
            return Err(BundleError::MissingEntry(self.entry.clone()));
        }
        let n = self.canonical_bytes().len();
        if n > MAX_BUNDLE_BYTES {
            return Err(BundleError::TooLarge(n));
        }
        Ok(())
    }

    /// Sorted keys, no whitespace (serde_json keeps struct field order, so the fields are
    /// declared in sorted order: entry, moduleFormat, modules).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Canonical<'a> {
            entry: &'a str,
            module_format: &'a str,
            modules: &'a BTreeMap<String, String>,
        }
        serde_json::to_vec(&Canonical {
            entry: &self.entry,
            module_format: &self.module_format,
            modules: &self.modules,
        })
        .expect("a bundle always serializes")
    }

    /// `"b1-" + hex(sha512(canonical bytes))`.
    pub fn id(&self) -> String {
        format!("b1-{}", hex::encode(Sha512::digest(self.canonical_bytes())))
    }

    /// Builds a bundle from every `.js` file under `dir` (paths relative to it).
    pub fn from_dir(dir: &Path, entry: &str) -> Result<Bundle, BundleError> {
        let mut modules = BTreeMap::new();
        let mut stack = vec![dir.to_path_buf()];
        let read_err = |p: &Path, e: std::io::Error| BundleError::Read {
            path: p.display().to_string(),
            reason: e.to_string(),
        };
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).map_err(|e| read_err(&d, e))? {
                let path = entry.map_err(|e| read_err(&d, e))?.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|x| x == "js") {
                    let rel = path
                        .strip_prefix(dir)
                        .map_err(|_| BundleError::BadPath(path.display().to_string()))?
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/");
                    let src = std::fs::read_to_string(&path).map_err(|e| read_err(&path, e))?;
                    modules.insert(rel, src);
                }
            }
        }
        Bundle::new(entry, modules)
    }
}

/// A bundle of either module format.
#[derive(Clone, Debug)]
pub enum AnyBundle {
    Source(Bundle),
    EndoZip(EndoZipBundle),
}

impl AnyBundle {
    /// Parses and checks bundle bytes of either format, told apart by `moduleFormat`.
    pub fn parse(bytes: &[u8]) -> Result<AnyBundle, BundleError> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(BundleError::TooLarge(bytes.len()));
        }
        #[derive(Deserialize)]
        struct Format {
            #[serde(rename = "moduleFormat")]
            module_format: String,
        }
        let f: Format =
            serde_json::from_slice(bytes).map_err(|e| BundleError::Malformed(e.to_string()))?;
        match f.module_format.as_str() {
            MODULE_FORMAT => Bundle::parse(bytes).map(AnyBundle::Source),
            ENDO_ZIP_FORMAT => EndoZipBundle::parse(bytes).map(AnyBundle::EndoZip),
            _ => Err(BundleError::Format(f.module_format)),
        }
    }

    /// The bundle's id (`b1-…`), by its format's rule.
    pub fn id(&self) -> String {
        match self {
            AnyBundle::Source(b) => b.id(),
            AnyBundle::EndoZip(b) => b.id(),
        }
    }

    /// The bytes the kernel stores: the bundle's JSON, keys sorted, no whitespace.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        match self {
            AnyBundle::Source(b) => b.canonical_bytes(),
            AnyBundle::EndoZip(b) => b.canonical_bytes(),
        }
    }
}

/// Resolves an import specifier written in module `base` (relative `./`, `../`), giving
/// the bundle path it names, or `None` if it climbs out of the bundle.
pub fn resolve_relative(base: &str, spec: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').collect();
    parts.pop(); // the importing file itself
    for seg in spec.split('/') {
        match seg {
            "." | "" => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// The package a bare specifier names (`@scope/pkg` or `pkg`).
pub fn package_of(spec: &str) -> &str {
    let end = if spec.starts_with('@') {
        spec.match_indices('/').nth(1).map(|(i, _)| i)
    } else {
        spec.find('/')
    };
    end.map_or(spec, |i| &spec[..i])
}

/// Where a bare specifier (`pkg`, `pkg/sub/path.js`, `@scope/pkg/…`) imported by bundle
/// module `importer` may be found inside the bundle, in the order to try: the package's
/// directory under `node_modules/` in the importer's directory and each directory above it
/// (as Node looks), the subpath (or `index.js` for the package itself, with `.js` and
/// `/index.js` added to a subpath that has neither). `None` for a specifier that is not a
/// package name.
pub fn package_candidates(importer: &str, spec: &str) -> Option<Vec<String>> {
    let mut segs = spec.split('/');
    let first = segs.next()?;
    let pkg = if first.starts_with('@') {
        format!("{first}/{}", segs.next()?)
    } else {
        first.to_string()
    };
    let sub: Vec<&str> = segs.collect();
    let valid = |s: &str| !s.is_empty() && s != "." && s != "..";
    if !pkg.split('/').all(valid) || !sub.iter().all(|s| valid(s)) {
        return None;
    }
    let tails: Vec<String> = if sub.is_empty() {
        vec!["index.js".to_string()]
    } else {
        let sub = sub.join("/");
        if sub.ends_with(".js") {
            vec![sub]
        } else {
            vec![format!("{sub}.js"), format!("{sub}/index.js")]
        }
    };
    let mut dirs: Vec<&str> = importer.split('/').collect();
    dirs.pop(); // the importing file itself
    let mut out = Vec::new();
    loop {
        // Not inside `node_modules/node_modules/…`: Node skips those directories.
        if dirs.last() != Some(&"node_modules") {
            let prefix: String = dirs.iter().map(|d| format!("{d}/")).collect();
            for t in &tails {
                out.push(format!("{prefix}node_modules/{pkg}/{t}"));
            }
        }
        if dirs.pop().is_none() {
            break;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_are_looked_up_in_node_modules_from_the_importer_upward() {
        assert_eq!(
            package_candidates("main.js", "lodash").expect("a package"),
            ["node_modules/lodash/index.js"]
        );
        assert_eq!(
            package_candidates("node_modules/a/lib/x.js", "@s/b/util").expect("a package"),
            [
                "node_modules/a/lib/node_modules/@s/b/util.js",
                "node_modules/a/lib/node_modules/@s/b/util/index.js",
                "node_modules/a/node_modules/@s/b/util.js",
                "node_modules/a/node_modules/@s/b/util/index.js",
                "node_modules/@s/b/util.js",
                "node_modules/@s/b/util/index.js",
            ]
        );
        assert_eq!(package_candidates("main.js", "@scope"), None);
        assert_eq!(package_candidates("main.js", "a/../../etc.js"), None);
    }

    fn modules(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn ids_depend_only_on_content() {
        let a = Bundle::new(
            "main.js",
            modules(&[("main.js", "export {}"), ("lib/x.js", "")]),
        )
        .expect("ok");
        let json = r#"{ "modules": {"lib/x.js": "", "main.js": "export {}"}, "entry": "main.js", "moduleFormat": "vatchain-bundle-v1" }"#;
        let b = Bundle::parse(json.as_bytes()).expect("ok");
        assert_eq!(a.id(), b.id());
        assert!(a.id().starts_with("b1-") && a.id().len() == 3 + 128);
        let c = Bundle::new("main.js", modules(&[("main.js", "export {};")])).expect("ok");
        assert_ne!(a.id(), c.id());
    }

    #[test]
    fn malformed_bundles_are_refused_with_the_reason() {
        assert!(matches!(
            Bundle::parse(b"nope"),
            Err(BundleError::Malformed(_))
        ));
        assert!(matches!(
            Bundle::new("main.js", modules(&[("other.js", "")])),
            Err(BundleError::MissingEntry(_))
        ));
        assert!(matches!(
            Bundle::new("../main.js", modules(&[("../main.js", "")])),
            Err(BundleError::BadPath(_))
        ));
        let wrong = r#"{"moduleFormat":"x","entry":"a.js","modules":{"a.js":""}}"#;
        assert!(matches!(
            Bundle::parse(wrong.as_bytes()),
            Err(BundleError::Format(_))
        ));
    }

    #[test]
    fn relative_imports_resolve_within_the_bundle() {
        assert_eq!(
            resolve_relative("main.js", "./lib/x.js").as_deref(),
            Some("lib/x.js")
        );
        assert_eq!(
            resolve_relative("lib/x.js", "../main.js").as_deref(),
            Some("main.js")
        );
        assert_eq!(
            resolve_relative("lib/x.js", "./y.js").as_deref(),
            Some("lib/y.js")
        );
        assert_eq!(resolve_relative("main.js", "../../etc.js"), None);
    }
}
