//! The module graph a vat runtime can import: liveslots and the upstream-named built-ins
//! (`@endo/far`, `@endo/promise-kit`, `@endo/errors`, `@endo/eventual-send`,
//! `@endo/pass-style`, `@endo/marshal`, `@agoric/vat-data`, `@agoric/store`, `@endo/exo`,
//! `@endo/patterns`, `@agoric/zone`), plus the vat's own bundle under `vat/`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use sha2::{Digest, Sha256};

use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::module::Declared;
use rquickjs::{Ctx, Error, Module, WriteOptions};

use crate::worker::bundle::{package_candidates, package_of, resolve_relative, AnyBundle, Bundle};

use super::endo_modules::{self, Builtins, VatModules, LINKER};

pub(crate) const INSTANCE: &str = "vatchain/instance.js";

/// Built-in packages that share liveslots' state (its marshal's remotables, its virtual
/// object manager, its eventual send): a bundle's own copy of one could not work, so these
/// always resolve to the built-in. Every other bare specifier resolves inside the bundle
/// first (`node_modules/`, see [`package_candidates`]), then to a built-in of that name.
const LIVESLOTS_COUPLED: &[&str] = &[
    "@agoric/store",
    "@agoric/vat-data",
    "@agoric/zone",
    "@endo/eventual-send",
    "@endo/exo",
    "@endo/far",
    "@endo/marshal",
    "@endo/pass-style",
    "@endo/patterns",
];

const BUNDLE_PREFIX: &str = "vat/";

const FAR: &str = r#"import { ls } from 'vatchain/instance.js';
export const E = ls.E;
export const Far = ls.Far;
export const Remotable = ls.Remotable;
export const passStyleOf = ls.passStyleOf;
export const getInterfaceOf = ls.getInterfaceOf;
"#;

/// `export const name = vd.name;` for each name, from liveslots' vat-data API.
fn vat_data_module(names: &[&str]) -> String {
    let mut s =
        String::from("import { ls } from 'vatchain/instance.js';\nconst vd = ls.vatData;\n");
    for n in names {
        s.push_str(&format!("export const {n} = vd.{n};\n"));
    }
    s
}

const VAT_DATA: &[&str] = &[
    "defineKind",
    "defineKindMulti",
    "makeKindHandle",
    "defineDurableKind",
    "defineDurableKindMulti",
    "provideKindHandle",
    "prepareKind",
    "prepareKindMulti",
    "prepareExoClass",
    "prepareExoClassKit",
    "prepareExo",
    "prepareSingleton",
    "defineVirtualExoClass",
    "defineVirtualExoClassKit",
    "defineDurableExoClass",
    "defineDurableExoClassKit",
    "pickFacet",
    "partialAssign",
    "ignoreContext",
    "makeScalarMapStore",
    "makeScalarSetStore",
    "makeScalarWeakMapStore",
    "makeScalarWeakSetStore",
    "makeScalarBigMapStore",
    "makeScalarBigSetStore",
    "makeScalarBigWeakMapStore",
    "makeScalarBigWeakSetStore",
    "provideDurableMapStore",
    "provideDurableSetStore",
    "provideDurableWeakMapStore",
    "provideDurableWeakSetStore",
    "provide",
    "watchPromise",
    "providePromiseWatcher",
    "canBeDurable",
    "isStorable",
    "M",
];
const STORE: &[&str] = &[
    "makeScalarMapStore",
    "makeScalarSetStore",
    "makeScalarWeakMapStore",
    "makeScalarWeakSetStore",
    "provide",
    "provideLazy",
    "initEmpty",
    "defineExoClass",
    "defineExoClassKit",
    "makeExo",
];
const EXO: &[&str] = &[
    "defineExoClass",
    "defineExoClassKit",
    "makeExo",
    "initEmpty",
];

/// What `@endo/patterns` exports that we have (`js/patterns.js`, `js/copy.js`), which
/// `@agoric/store` re-exports as upstream's does.
const PATTERNS_MODULE: &str = r#"export {
  M, matches, mustMatch, isPattern, assertPattern, kindOf, isRawGuard, isAwaitArgGuard,
  isMethodGuard, isInterfaceGuard, assertMethodGuard, assertInterfaceGuard,
  getInterfaceGuardPayload, getMethodGuardPayload, getAwaitArgGuardPayload,
  getInterfaceMethodKeys,
} from 'vatchain/patterns.js';
export {
  isKey, assertKey, isScalarKey, assertScalarKey, keyEQ, keyLT, keyLTE, keyGT, keyGTE,
  compareKeys, makeCopySet, makeCopyBag, makeCopyBagFromElements, makeCopyMap, isCopySet,
  isCopyBag, isCopyMap, assertCopySet, assertCopyBag, assertCopyMap, getCopySetKeys,
  getCopyBagEntries, getCopyMapKeys, getCopyMapValues, getCopyMapEntryArray,
  getCopyMapEntries, everyCopySetKey, everyCopyBagEntry, everyCopyMapKey, everyCopyMapValue,
  copyMapKeySet,
} from 'vatchain/copy.js';
export {
  coerceToElements, coerceToBagEntries, elementsIsSuperset, elementsIsDisjoint, elementsCompare,
  elementsUnion, elementsDisjointUnion, elementsIntersection, elementsDisjointSubtract,
  setIsSuperset, setIsDisjoint, setCompare, setUnion, setDisjointUnion, setIntersection,
  setDisjointSubtract, bagIsSuperbag, bagIsDisjoint, bagCompare, bagUnion, bagIntersection,
  bagDisjointSubtract,
} from 'vatchain/set-ops.js';
"#;

/// `@agoric/store`'s helpers beyond its stores (`js/store-utils.js`).
const STORE_UTILS: &str = "export { makeAtomicProvider, appendToStoredArray, makeLegacyMap, \
     makeLegacyWeakMap } from 'vatchain/store-utils.js';\n";
const ZONE: &[&str] = &["makeHeapZone", "makeDurableZone"];

/// `@endo/errors`: the whole module (`js/errors.js`).
const ERRORS: &str = r#"export {
  assert, Fail, q, X, b, quote, details, bare, makeError, note, annotateError, redacted,
  throwRedacted, hideAndHardenFunction,
} from 'vatchain/errors.js';
"#;

/// `@agoric/internal`'s commonly used helpers (`js/internal.js`).
const INTERNAL: &str = r#"export {
  Fail, makeUpgradeDisconnection, isUpgradeDisconnection, isAbandonedError, objectMap,
  fromUniqueEntries, deeplyFulfilledObject, allValues, zip, assertAllDefined, deepCopyJsonable,
  naiveCompare, stripPrefix, PromiseAllOrErrors, aggregateTryFinally, makeTracer,
} from 'vatchain/internal.js';
"#;

/// What `@endo/pass-style` exports that we have (`js/passstyle.js`).
const PASS_STYLE_NAMES: &str =
    "Far, Remotable, getInterfaceOf, passStyleOf, PASS_STYLE, makeTagged, getTag, isPrimitive, \
  isObject, isRemotable, isRecord, isCopyArray, assertRemotable, assertRecord, assertCopyArray, \
  isPassable, assertPassable, isErrorLike, getErrorConstructor, toPassableError, toThrowable, \
  deeplyFulfilled";

const EVENTUAL_SEND: &str = r#"import { ls } from 'vatchain/instance.js';
export const E = ls.E;
export const HandledPromise = ls.HandledPromise;
"#;

const PROMISE_KIT: &str = r#"export function makePromiseKit() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return harden({ promise, resolve, reject });
}
"#;

impl VatModules {
    /// A native bundle's modules, as they are.
    pub(crate) fn of_bundle(bundle: &Bundle) -> VatModules {
        VatModules {
            entry: bundle.entry.clone(),
            modules: bundle.modules.clone(),
            absolute_imports: false,
        }
    }

    /// The modules of a bundle of either format: an `endoZipBase64` archive's are
    /// generated from it (`endo_modules`), and this is where one that cannot run here is
    /// refused.
    pub(crate) fn of_any(bundle: &AnyBundle) -> Result<VatModules, String> {
        match bundle {
            AnyBundle::Source(b) => Ok(VatModules::of_bundle(b)),
            AnyBundle::EndoZip(z) => {
                let builtins = builtin_sources();
                endo_modules::vat_modules(z.archive(), &RuntimeBuiltins(&builtins), BUNDLE_PREFIX)
            }
        }
    }
}

/// The built-ins of [`builtin_sources`], as generated modules see them.
struct RuntimeBuiltins<'a>(&'a BTreeMap<String, String>);

impl Builtins for RuntimeBuiltins<'_> {
    fn coupled(&self, package: &str) -> bool {
        LIVESLOTS_COUPLED.contains(&package)
    }
    fn has(&self, spec: &str) -> bool {
        !spec.starts_with("vatchain/") && self.0.contains_key(spec)
    }
}

/// Every module source of one vat runtime, by the name the engine knows it by.
pub(crate) struct Sources {
    modules: BTreeMap<String, String>,
    /// See [`VatModules::absolute_imports`].
    absolute_imports: bool,
}

/// The modules every vat runtime has (liveslots' own and the upstream-named built-ins),
/// without the vat's entry.
fn builtin_sources() -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert(
        "vatchain/marshal.js".into(),
        include_str!("../js/marshal.js").into(),
    );
    m.insert(
        "vatchain/liveslots.js".into(),
        include_str!("../js/liveslots.js").into(),
    );
    m.insert("@endo/far".into(), FAR.into());
    m.insert("@endo/promise-kit".into(), PROMISE_KIT.into());
    m.insert("@endo/errors".into(), ERRORS.into());
    for name in ["@agoric/internal", "@agoric/internal/src/upgrade-api.js"] {
        m.insert(name.into(), INTERNAL.into());
    }
    m.insert("@endo/eventual-send".into(), EVENTUAL_SEND.into());
    m.insert(
        "@endo/pass-style".into(),
        format!("export {{ {PASS_STYLE_NAMES} }} from 'vatchain/passstyle.js';\n"),
    );
    m.insert(
        "@endo/marshal".into(),
        format!(
            "export {{ {PASS_STYLE_NAMES}, makeMarshal, stringify, parse, QCLASS }} \
                 from 'vatchain/passstyle.js';\n\
             export {{ compareRank, compareAntiRank, isRankSorted, sortByRank, recordNames }} \
                 from 'vatchain/rank.js';\n"
        ),
    );
    m.insert("@agoric/vat-data".into(), vat_data_module(VAT_DATA));
    m.insert(
        "@agoric/store".into(),
        format!("{}{PATTERNS_MODULE}{STORE_UTILS}", vat_data_module(STORE)),
    );
    m.insert(
        "@endo/exo".into(),
        format!(
            "{}export {{ GET_INTERFACE_GUARD }} from 'vatchain/guards.js';\n",
            vat_data_module(EXO)
        ),
    );
    m.insert("@endo/patterns".into(), PATTERNS_MODULE.into());
    for z in [
        "@agoric/zone",
        "@agoric/zone/durable.js",
        "@agoric/zone/heap.js",
    ] {
        m.insert(z.into(), vat_data_module(ZONE));
    }
    for (name, src) in [
        ("console.js", include_str!("../js/console.js")),
        ("copy.js", include_str!("../js/copy.js")),
        ("guards.js", include_str!("../js/guards.js")),
        ("heap-exo.js", include_str!("../js/heap-exo.js")),
        (
            "legacy-patterns.js",
            include_str!("../js/legacy-patterns.js"),
        ),
        (
            "handled-promise.js",
            include_str!("../js/handled-promise.js"),
        ),
        ("rank.js", include_str!("../js/rank.js")),
        ("set-ops.js", include_str!("../js/set-ops.js")),
        ("store-utils.js", include_str!("../js/store-utils.js")),
        ("errors.js", include_str!("../js/errors.js")),
        ("gc.js", include_str!("../js/gc.js")),
        ("internal.js", include_str!("../js/internal.js")),
        ("passstyle.js", include_str!("../js/passstyle.js")),
        ("patterns.js", include_str!("../js/patterns.js")),
        ("keys.js", include_str!("../js/keys.js")),
        ("kinds.js", include_str!("../js/kinds.js")),
        ("stores.js", include_str!("../js/stores.js")),
        ("watchers.js", include_str!("../js/watchers.js")),
    ] {
        m.insert(format!("vatchain/{name}"), src.into());
    }
    m.insert(LINKER.into(), include_str!("../js/endo-link.js").into());
    m
}

impl Sources {
    pub(crate) fn new(vat: &VatModules) -> Sources {
        let mut m = builtin_sources();
        let entry = serde_json::to_string(&format!("{BUNDLE_PREFIX}{}", vat.entry))
            .expect("a string serializes");
        m.insert(
            INSTANCE.into(),
            format!(
                "const ENTRY = {entry};\n{}",
                include_str!("../js/instance.js")
            ),
        );
        for (path, src) in &vat.modules {
            m.insert(format!("{BUNDLE_PREFIX}{path}"), src.clone());
        }
        Sources {
            modules: m,
            absolute_imports: vat.absolute_imports,
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&String> {
        self.modules.get(name)
    }
}

pub(crate) struct BundleResolver(pub(crate) Rc<Sources>);

impl Resolver for BundleResolver {
    fn resolve<'js>(
        &mut self,
        _ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _a: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<String> {
        let from_vat = base.starts_with(BUNDLE_PREFIX);
        let resolved = if name.starts_with("./") || name.starts_with("../") {
            // Relative imports stay on their side: bundle code cannot reach liveslots.
            resolve_relative(base, name).filter(|p| p.starts_with(BUNDLE_PREFIX) == from_vat)
        } else if name.starts_with(BUNDLE_PREFIX) {
            // The liveslots instance names the vat's entry module directly, and generated
            // modules name one another so.
            (base == INSTANCE || (from_vat && self.0.absolute_imports)).then(|| name.to_string())
        } else if from_vat && name == LINKER && self.0.absolute_imports {
            Some(name.to_string())
        } else if from_vat && name.starts_with("vatchain/") {
            None
        } else if from_vat && !LIVESLOTS_COUPLED.contains(&package_of(name)) {
            let importer = &base[BUNDLE_PREFIX.len()..];
            package_candidates(importer, name)
                .into_iter()
                .flatten()
                .map(|p| format!("{BUNDLE_PREFIX}{p}"))
                .find(|p| self.0.get(p).is_some())
                .or_else(|| Some(name.to_string()))
        } else {
            Some(name.to_string())
        };
        match resolved {
            Some(p) if self.0.get(&p).is_some() => Ok(p),
            _ => Err(Error::new_resolving(base, name)),
        }
    }
}

/// Compiled module bytecode, by `sha256(name ‖ 0 ‖ source)`: a module is parsed once per
/// process however many vats (or replays) load it. Shared by every worker of a factory.
pub type BytecodeCache = Rc<RefCell<BTreeMap<[u8; 32], Vec<u8>>>>;

pub(crate) struct BundleLoader {
    pub(crate) sources: Rc<Sources>,
    pub(crate) cache: BytecodeCache,
}

fn cache_key(name: &str, src: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0u8]);
    h.update(src.as_bytes());
    h.finalize().into()
}

impl Loader for BundleLoader {
    // Serving bytecode from the loader (rather than `Module::load(..).eval()`) lets the
    // engine resolve the module's imports itself (quickjs-ng #912).
    #[allow(unsafe_code)]
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _a: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<Module<'js, Declared>> {
        let Some(src) = self.sources.get(name) else {
            return Err(Error::new_loading(name));
        };
        let key = cache_key(name, src);
        let cached = self.cache.borrow().get(&key).cloned();
        let bytes = match cached {
            Some(b) => b,
            None => {
                let b = compile(name, src).map_err(|e| e.throw_in(ctx))?;
                self.cache.borrow_mut().insert(key, b.clone());
                b
            }
        };
        // SAFETY: these bytes were written by `Module::write` in this process, by this
        // engine, from exactly this source (`compile`); bytecode never comes from outside.
        unsafe { Module::load(ctx.clone(), &bytes) }
    }
}

/// Compiles module `name` to bytecode in a scratch runtime of its own.
///
/// # Invariant
/// A vat runtime only ever *loads* bytecode, never parses source: a module compiled in the
/// vat's own runtime leaves a different heap behind (parser leftovers, source-position
/// tables) than one loaded from bytes, and compiling costs heap the vat would be charged
/// for. Whether a module is in this process's cache depends on the node's own history
/// (restarts, evictions, other vats of the bundle), so charging either to the vat would make
/// its heap figures, and so the point where it runs out of memory, differ between nodes
/// (`kernel/tests/bytecode_cache_leaves_heap_figures_alone.rs`).
fn compile(name: &str, src: &str) -> Result<Vec<u8>, CompileError> {
    let internal = |e: rquickjs::Error| CompileError {
        class: "Error".into(),
        message: format!("cannot compile {name}: {e}"),
        stack: String::new(),
    };
    let rt = rquickjs::Runtime::new().map_err(internal)?;
    // quickjs-ng loads a module's imports even when only compiling it; the bytecode keeps
    // the specifiers as written, so empty stand-ins serve (the vat runtime resolves and
    // links the real ones when it loads the bytecode).
    rt.set_loader(AnySpecifier, EmptyModules);
    let ctx = rquickjs::Context::custom::<super::VatIntrinsics>(&rt).map_err(internal)?;
    ctx.with(|ctx| {
        let declared = Module::declare(ctx.clone(), name, src.to_string());
        match declared.and_then(|m| m.write(WriteOptions::default())) {
            Ok(bytes) => Ok(bytes),
            Err(rquickjs::Error::Exception) => {
                let x = ctx.catch();
                let get = |k: &str| {
                    x.as_object()
                        .and_then(|o| o.get::<_, Option<String>>(k).ok().flatten())
                };
                Err(CompileError {
                    class: get("name").unwrap_or_else(|| "SyntaxError".into()),
                    message: get("message").unwrap_or_else(|| format!("{x:?}")),
                    stack: get("stack").unwrap_or_default(),
                })
            }
            Err(e) => Err(internal(e)),
        }
    })
}

/// Why a module did not compile, as the scratch runtime's exception said it.
struct CompileError {
    /// The error's class (`SyntaxError`, mostly).
    class: String,
    message: String,
    /// Where (`at vat/main.js:3:7`): liveslots names the module and line from it.
    stack: String,
}

impl CompileError {
    /// The same error, thrown in the vat's runtime.
    fn throw_in(self, ctx: &Ctx<'_>) -> Error {
        let made = (|| -> rquickjs::Result<rquickjs::Value<'_>> {
            let class = match self.class.as_str() {
                c @ ("SyntaxError" | "ReferenceError" | "RangeError" | "TypeError") => c,
                _ => "Error",
            };
            let ctor: rquickjs::function::Constructor = ctx.globals().get(class)?;
            let e: rquickjs::Object = ctor.construct((self.message.clone(),))?;
            e.set("stack", self.stack.clone())?;
            Ok(e.into_value())
        })();
        match made {
            Ok(e) => ctx.throw(e),
            Err(_) => rquickjs::Exception::throw_syntax(ctx, &self.message),
        }
    }
}

/// The scratch runtime's resolver: every specifier names itself.
struct AnySpecifier;

impl Resolver for AnySpecifier {
    fn resolve<'js>(
        &mut self,
        _ctx: &Ctx<'js>,
        _base: &str,
        name: &str,
        _a: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<String> {
        Ok(name.to_string())
    }
}

/// The scratch runtime's loader: an empty module for every import.
struct EmptyModules;

impl Loader for EmptyModules {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _a: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<Module<'js, Declared>> {
        Module::declare(ctx.clone(), name, "")
    }
}
