//! `endoZipBase64` bundles, as `@endo/bundle-source` makes them by default:
//!
//! ```json
//! {"moduleFormat":"endoZipBase64","endoZipBase64":"UEsDBAo…","endoZipBase64Sha512":"a6db…"}
//! ```
//! The base64 is a zip (stored members) holding `compartment-map.json` and one file per
//! module, under its compartment's location. The compartment map names the entry module
//! and, per compartment (one per package), what each module specifier is: a file (its
//! location, parser and SHA-512), an alias to a module of another compartment, or an error
//! deferred to whoever imports it.
//!
//! The id is upstream's: `"b1-" + endoZipBase64Sha512`, where that hash is of the
//! compartment map's bytes. The check is upstream's `checkBundle` (so every bundle
//! upstream accepts, this accepts, under the same id): the map's hash matches, every module
//! reachable from the entry is present and matches its hash, and the zip holds nothing
//! else. Stricter than upstream in one way: every file module must carry a hash, since a
//! module without one would not be pinned by the id.
//!
//! What the kernel can *run* is narrower (ES modules and JSON/text, no CommonJS, no host
//! modules): `worker::quickjs::endo_modules` turns a checked archive into the ES modules a
//! vat runtime loads, and says what it cannot.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};

use super::{zip_archive, BundleError};

/// The `moduleFormat` of these bundles.
pub const ENDO_ZIP_FORMAT: &str = "endoZipBase64";
const COMPARTMENT_MAP: &str = "compartment-map.json";

/// A bundle on the wire (and, with its keys in this order, its canonical bytes).
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Wire {
    endo_zip_base64: String,
    endo_zip_base64_sha512: String,
    module_format: String,
}

/// A checked `endoZipBase64` bundle.
#[derive(Clone, Debug)]
pub struct EndoZipBundle {
    base64: String,
    sha512: String,
    archive: Archive,
}

/// What a checked archive holds: its compartment map and the files of the modules
/// reachable from its entry (nothing else: see the module docs).
#[derive(Clone, Debug)]
pub struct Archive {
    pub map: CompartmentMap,
    /// By zip member name: `<compartment>/<module location>`.
    pub files: BTreeMap<String, Vec<u8>>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CompartmentMap {
    pub entry: ModuleRef,
    /// By compartment name (upstream: the compartment's location in the archive).
    pub compartments: BTreeMap<String, Compartment>,
}

/// A module of a compartment.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct ModuleRef {
    pub compartment: String,
    pub module: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Compartment {
    /// The package's name (`@endo/far`), as its importers know it.
    #[serde(default)]
    pub name: String,
    /// By module specifier as the compartment's own modules import it (`./src/x.js`,
    /// `@endo/far`).
    pub modules: BTreeMap<String, ModuleEntry>,
}

/// What one module specifier of a compartment is.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum ModuleEntry {
    File {
        location: String,
        parser: String,
        sha512: Option<String>,
    },
    Alias {
        compartment: String,
        module: String,
    },
    DeferredError {
        #[serde(rename = "deferredError")]
        deferred_error: String,
    },
    Exit {
        exit: String,
    },
}

/// A `pre-mjs-json` module: an ES module as `@endo/module-source` precompiles it, a
/// functor program plus what the linker needs to wire its imports and exports.
#[derive(Clone, Debug, Deserialize)]
pub struct MjsRecord {
    /// Every specifier the module imports or re-exports from, as written.
    pub imports: Vec<String>,
    /// Specifiers of `export * from …`.
    #[serde(default)]
    pub reexports: Vec<String>,
    /// `({ imports, liveVar, onceVar, import, importMeta }) => …`
    #[serde(rename = "__syncModuleProgram__")]
    pub program: String,
    /// Export name → `[local name]`: bindings set once.
    #[serde(rename = "__fixedExportMap__", default)]
    pub fixed: BTreeMap<String, (String,)>,
    /// Export name → `[local name, assigned from outside]`: bindings that may change.
    #[serde(rename = "__liveExportMap__", default)]
    pub live: BTreeMap<String, (String, bool)>,
    /// Specifier → `[[imported name, exported name]]`: `export { a as b } from …`.
    #[serde(rename = "__reexportMap__", default)]
    pub reexport_map: BTreeMap<String, Vec<(String, String)>>,
    #[serde(rename = "__needsImport__", default)]
    pub needs_import: bool,
    #[serde(rename = "__needsImportMeta__", default)]
    pub needs_import_meta: bool,
}

/// A `pre-cjs-json` module (checked, not run: see `endo_modules`).
#[derive(Deserialize)]
struct CjsRecord {
    imports: Vec<String>,
}

fn hex_sha512(bytes: &[u8]) -> String {
    hex::encode(Sha512::digest(bytes))
}

/// Upstream's module specifier resolution (`@endo/compartment-mapper`'s `resolve`):
/// a relative specifier joins the referrer's directory (the result keeps its `./`); any
/// other is normalized as it stands. Climbing out of the package is an error.
pub fn resolve_specifier(spec: &str, referrer: &str) -> Result<String, String> {
    if spec.starts_with('/') {
        return Err(format!(
            "module specifier {spec:?} must not begin with \"/\""
        ));
    }
    let parts: Vec<&str> = spec.split('/').collect();
    let mut solution: Vec<&str> = Vec::new();
    let mut problem: Vec<&str> = Vec::new();
    if parts[0] == "." || parts[0] == ".." {
        if !referrer.starts_with("./") {
            return Err(format!(
                "module referrer {referrer:?} must begin with \"./\""
            ));
        }
        problem.extend(referrer.split('/'));
        problem.pop();
        solution.push(".");
    }
    problem.extend(parts);
    for part in problem {
        match part {
            "." | "" => {}
            ".." => {
                if solution.pop().is_none() {
                    return Err(format!(
                        "module specifier {spec:?} via referrer {referrer:?} must not \
                         traverse behind an empty path"
                    ));
                }
            }
            p => solution.push(p),
        }
    }
    Ok(solution.join("/"))
}

impl EndoZipBundle {
    /// Parses and checks a bundle (its JSON already known to name this format).
    pub fn parse(bytes: &[u8]) -> Result<EndoZipBundle, BundleError> {
        let w: Wire =
            serde_json::from_slice(bytes).map_err(|e| BundleError::Malformed(e.to_string()))?;
        if w.module_format != ENDO_ZIP_FORMAT {
            return Err(BundleError::Format(w.module_format));
        }
        let zip = base64::engine::general_purpose::STANDARD
            .decode(&w.endo_zip_base64)
            .map_err(|e| BundleError::Archive(format!("endoZipBase64 is not base64: {e}")))?;
        let mut members = zip_archive::read_members(&zip)?;
        let map_bytes = members
            .remove(COMPARTMENT_MAP)
            .ok_or_else(|| BundleError::Archive(format!("the zip has no {COMPARTMENT_MAP}")))?;
        let sha512 = hex_sha512(&map_bytes);
        if sha512 != w.endo_zip_base64_sha512 {
            return Err(BundleError::Archive(format!(
                "the compartment map failed its SHA-512 check: expected {}, got {sha512}",
                w.endo_zip_base64_sha512
            )));
        }
        let map: CompartmentMap = serde_json::from_slice(&map_bytes)
            .map_err(|e| BundleError::Archive(format!("{COMPARTMENT_MAP}: {e}")))?;
        let files = reachable_files(&map, members)?;
        Ok(EndoZipBundle {
            base64: w.endo_zip_base64,
            sha512,
            archive: Archive { map, files },
        })
    }

    /// `"b1-" + endoZipBase64Sha512`, as upstream's kernel names it.
    pub fn id(&self) -> String {
        format!("b1-{}", self.sha512)
    }

    /// The bundle's JSON with sorted keys and no whitespace.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&Wire {
            endo_zip_base64: self.base64.clone(),
            endo_zip_base64_sha512: self.sha512.clone(),
            module_format: ENDO_ZIP_FORMAT.into(),
        })
        .expect("a bundle always serializes")
    }

    pub fn archive(&self) -> &Archive {
        &self.archive
    }
}

impl Archive {
    /// The entry of `spec` in compartment `c`.
    pub fn module(&self, c: &str, spec: &str) -> Result<&ModuleEntry, String> {
        let comp = self
            .map
            .compartments
            .get(c)
            .ok_or_else(|| format!("the compartment map has no compartment {c:?}"))?;
        comp.modules
            .get(spec)
            .ok_or_else(|| format!("cannot find module {spec:?} in package {c:?}"))
    }

    /// A file module's bytes (present: the archive was checked).
    pub fn file(&self, c: &str, location: &str) -> &[u8] {
        self.files
            .get(&format!("{c}/{location}"))
            .map_or(&[][..], Vec::as_slice)
    }
}

/// Walks every module reachable from the entry as upstream's loader would (through every
/// compartment), checking each file against its hash; returns the files so reached, and
/// refuses an archive holding any other.
fn reachable_files(
    map: &CompartmentMap,
    mut members: BTreeMap<String, Vec<u8>>,
) -> Result<BTreeMap<String, Vec<u8>>, BundleError> {
    let bad = BundleError::Archive;
    let archive = Archive {
        map: map.clone(),
        files: BTreeMap::new(),
    };
    let mut files = BTreeMap::new();
    let mut visited: BTreeSet<(String, String)> = BTreeSet::new();
    let mut todo = vec![(map.entry.compartment.clone(), map.entry.module.clone())];
    while let Some((c, spec)) = todo.pop() {
        if !visited.insert((c.clone(), spec.clone())) {
            continue;
        }
        let imports = match archive.module(&c, &spec).map_err(bad)? {
            ModuleEntry::Alias {
                compartment,
                module,
            } => {
                todo.push((compartment.clone(), module.clone()));
                continue;
            }
            ModuleEntry::DeferredError { .. } => continue,
            ModuleEntry::Exit { exit } => {
                return Err(bad(format!(
                    "module {spec:?} of package {c:?} is the host module {exit:?}: a vat \
                     has no host modules"
                )))
            }
            ModuleEntry::File {
                location,
                parser,
                sha512,
            } => {
                let path = format!("{c}/{location}");
                let bytes = match (members.remove(&path), files.get(&path)) {
                    (Some(b), _) => b,
                    (None, Some(b)) => Vec::clone(b),
                    (None, None) => {
                        return Err(bad(format!(
                            "module {spec:?} of package {c:?} is missing from the zip \
                             ({path:?})"
                        )))
                    }
                };
                match sha512 {
                    Some(h) if *h == hex_sha512(&bytes) => {}
                    Some(_) => {
                        return Err(bad(format!(
                            "module {location:?} of package {c:?} failed its SHA-512 check"
                        )))
                    }
                    None => {
                        return Err(bad(format!(
                            "module {location:?} of package {c:?} has no SHA-512, so the \
                             bundle id would not pin it"
                        )))
                    }
                }
                let imports = record_imports(parser, &bytes).map_err(|why| {
                    bad(format!(
                        "module {location:?} of package {c:?} ({parser}): {why}"
                    ))
                })?;
                files.insert(path, bytes);
                imports
            }
        };
        for i in imports {
            let full = resolve_specifier(&i, &spec).map_err(bad)?;
            todo.push((c.clone(), full));
        }
    }
    if let Some(extra) = members.keys().next() {
        return Err(bad(format!(
            "the zip holds {} file(s) no module uses, such as {extra:?}",
            members.len()
        )));
    }
    Ok(files)
}

/// What a module of this parser imports; an error for bytes the parser would refuse.
fn record_imports(parser: &str, bytes: &[u8]) -> Result<Vec<String>, String> {
    match parser {
        "pre-mjs-json" => serde_json::from_slice::<MjsRecord>(bytes)
            .map(|r| r.imports)
            .map_err(|e| e.to_string()),
        "pre-cjs-json" => serde_json::from_slice::<CjsRecord>(bytes)
            .map(|r| r.imports)
            .map_err(|e| e.to_string()),
        "json" => serde_json::from_slice::<serde_json::Value>(bytes)
            .map(|_| Vec::new())
            .map_err(|e| e.to_string()),
        "text" => std::str::from_utf8(bytes)
            .map(|_| Vec::new())
            .map_err(|e| e.to_string()),
        "bytes" => Ok(Vec::new()),
        other => Err(format!("unknown parser {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specifiers_resolve_as_upstreams_do() {
        let r = |s, base| resolve_specifier(s, base);
        assert_eq!(
            r("./exports.js", "./src/index.js").as_deref(),
            Ok("./src/exports.js")
        );
        assert_eq!(r("../a.js", "./src/x/b.js").as_deref(), Ok("./src/a.js"));
        assert_eq!(r("@endo/far", "./src/index.js").as_deref(), Ok("@endo/far"));
        assert_eq!(
            r("pkg//sub/./x.js", "./a.js").as_deref(),
            Ok("pkg/sub/x.js")
        );
        assert!(r("../../x.js", "./a.js").is_err());
        assert!(r("/etc/passwd", "./a.js").is_err());
    }
}
