//! Turns a checked `endoZipBase64` archive into the ES modules a vat runtime loads.
//!
//! Upstream runs such an archive in SES compartments: each `pre-mjs-json` module is a
//! *functor* (its code, precompiled by `@endo/module-source`) that the compartment linker
//! calls with `imports` (to wire each imported name to an updater), `onceVar`/`liveVar`
//! (to publish each export) and `importMeta`. Here each module instance becomes one
//! generated ES module that:
//! - `import * as`s every module it imports (so the engine loads, orders and evaluates them
//!   as any ES module graph, cycles included);
//! - declares one variable per exported binding and `export`s it, and re-exports with
//!   `export * from` / `export { a as b } from` (so its namespace is a real module
//!   namespace: the entry's `buildRootObject` and `import * as` read it);
//! - first thing in its body, calls the linker (`js/endo-link.js`) with its imports'
//!   namespaces, its setters and its functor, which wires names to values as upstream's does.
//!
//! A module instance is a (compartment, specifier) pair after following aliases, as in
//! upstream. A bare specifier naming a liveslots-coupled package resolves to the built-in
//! (as in native bundles: the bundle's copy of `@endo/far` or `@agoric/vat-data` could not
//! share liveslots' state); every other import runs the archive's own module.
//!
//! What does not run (refused with the reason when the vat starts, and at install):
//! CommonJS (`pre-cjs-json`), `bytes` modules, and host (`exit`) modules. One semantic
//! difference: an exported `let` that its module reassigns *after* declaring it is live in
//! that module and in `import *` namespaces, but a named importer sees the value it was
//! declared with (upstream's live update goes through a `with` scope, which strict ES
//! module code cannot have).

use std::collections::BTreeMap;

use serde_json::json;

use crate::worker::bundle::{package_of, resolve_specifier, Archive, MjsRecord, ModuleEntry};

/// The modules of one vat's code: an entry and sources, by name under the vat prefix.
pub(crate) struct VatModules {
    pub(crate) entry: String,
    pub(crate) modules: BTreeMap<String, String>,
    /// Whether the vat's modules name one another by full name (`vat/…`), as generated
    /// modules do, rather than only relatively.
    pub(crate) absolute_imports: bool,
}

/// The built-in modules a generated module may use, as the vat runtime provides them.
pub(crate) trait Builtins {
    /// Whether imports of this package always resolve to the built-in.
    fn coupled(&self, package: &str) -> bool;
    /// Whether a built-in module of this exact specifier exists.
    fn has(&self, spec: &str) -> bool;
}

/// The linker module every generated module imports.
pub(crate) const LINKER: &str = "vatchain/endo-link.js";
/// Names the generator introduces: `$h͏_` (with U+034F) is the prefix upstream's module
/// transform reserves, so no module's own code can use or shadow these.
const P: &str = "$h\u{34f}_vc_";
/// Most alias hops followed to reach a module (a longer chain is a cycle).
const MAX_ALIAS_HOPS: usize = 64;

/// What an import resolves to.
#[derive(Clone, PartialEq, Eq)]
enum Target {
    /// A generated module instance, by name (without the vat prefix).
    Instance(String),
    Builtin(String),
}

/// Generates the vat's modules from a checked archive, under `prefix` (`vat/`).
pub(crate) fn vat_modules(
    archive: &Archive,
    builtins: &dyn Builtins,
    prefix: &str,
) -> Result<VatModules, String> {
    let mut g = Generator {
        archive,
        builtins,
        prefix,
        names: BTreeMap::new(),
        modules: BTreeMap::new(),
    };
    let entry = &archive.map.entry;
    let Target::Instance(entry_name) = g.instance(&entry.compartment, &entry.module)? else {
        unreachable!("instance() gives instances");
    };
    let mut todo = vec![(entry.compartment.clone(), entry.module.clone())];
    let mut done = std::collections::BTreeSet::new();
    while let Some((c, spec)) = todo.pop() {
        let (c, spec) = g.follow(&c, &spec)?;
        if !done.insert((c.clone(), spec.clone())) {
            continue;
        }
        let deps = g.generate(&c, &spec)?;
        todo.extend(deps);
    }
    Ok(VatModules {
        entry: entry_name,
        modules: g.modules,
        absolute_imports: true,
    })
}

struct Generator<'a> {
    archive: &'a Archive,
    builtins: &'a dyn Builtins,
    prefix: &'a str,
    /// Instance name → the (compartment, specifier) it was given to, to refuse collisions.
    names: BTreeMap<String, (String, String)>,
    modules: BTreeMap<String, String>,
}

fn is_relative(spec: &str) -> bool {
    spec == "." || spec == ".." || spec.starts_with("./") || spec.starts_with("../")
}

/// Whether `s` can be written as a JavaScript identifier as it stands.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c == '$' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c == '$' || c.is_alphanumeric())
}

/// An export or import name as `export { x as <name> }` takes it.
fn export_name(name: &str) -> String {
    if is_identifier(name) {
        name.to_string()
    } else {
        serde_json::to_string(name).expect("a string serializes")
    }
}

fn lit(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

impl Generator<'_> {
    /// Follows aliases from (`c`, `spec`) to the module instance they name.
    fn follow(&self, c: &str, spec: &str) -> Result<(String, String), String> {
        let (mut c, mut spec) = (c.to_string(), spec.to_string());
        for _ in 0..MAX_ALIAS_HOPS {
            match self.archive.module(&c, &spec)? {
                ModuleEntry::Alias {
                    compartment,
                    module,
                } => (c, spec) = (compartment.clone(), module.clone()),
                _ => return Ok((c, spec)),
            }
        }
        Err(format!(
            "module {spec:?} of package {c:?}: its aliases form a cycle"
        ))
    }

    /// The instance (compartment `c`, `spec`) names, after aliases.
    fn instance(&mut self, c: &str, spec: &str) -> Result<Target, String> {
        let (c, spec) = self.follow(c, spec)?;
        let name = format!("{c}/{}", spec.strip_prefix("./").unwrap_or(&spec));
        match self.names.get(&name) {
            Some(owner) if *owner != (c.clone(), spec.clone()) => Err(format!(
                "modules {spec:?} and {:?} of package {c:?} would share the name {name:?}",
                owner.1
            )),
            Some(_) => Ok(Target::Instance(name)),
            None => {
                self.names.insert(name.clone(), (c, spec));
                Ok(Target::Instance(name))
            }
        }
    }

    /// What `spec`, imported by module `referrer` of compartment `c`, resolves to.
    fn target(&mut self, c: &str, referrer: &str, spec: &str) -> Result<Target, String> {
        if !is_relative(spec) && self.builtins.coupled(package_of(spec)) {
            return if self.builtins.has(spec) {
                Ok(Target::Builtin(spec.to_string()))
            } else {
                Err(format!(
                    "module {referrer:?} of package {c:?} imports {spec:?}, which this kernel \
                     provides only as a built-in (it shares liveslots' state), and it has no \
                     such module"
                ))
            };
        }
        let full = resolve_specifier(spec, referrer)?;
        self.instance(c, &full)
    }

    /// Generates the module of instance (`c`, `spec`); returns the instances it imports.
    fn generate(&mut self, c: &str, spec: &str) -> Result<Vec<(String, String)>, String> {
        let Target::Instance(name) = self.instance(c, spec)? else {
            unreachable!("instance() gives instances");
        };
        let at = || format!("module {spec:?} of package {c:?}");
        let (source, deps) = match self.archive.module(c, spec)? {
            ModuleEntry::File {
                location, parser, ..
            } => {
                let bytes = self.archive.file(c, location);
                match parser.as_str() {
                    "pre-mjs-json" => {
                        let r: MjsRecord =
                            serde_json::from_slice(bytes).map_err(|e| format!("{}: {e}", at()))?;
                        self.esm(&name, c, spec, &r)?
                    }
                    "json" => {
                        let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
                        (
                            value_module(&name, &format!("JSON.parse({})", lit(text))),
                            vec![],
                        )
                    }
                    "text" => {
                        let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
                        (value_module(&name, &lit(text)), vec![])
                    }
                    other => {
                        return Err(format!(
                            "{} is a {other:?} module; vats run ES modules (pre-mjs-json), \
                             json and text",
                            at()
                        ))
                    }
                }
            }
            ModuleEntry::DeferredError { deferred_error } => (
                format!(
                    "import {{ link as {P}link }} from '{LINKER}';\n\
                     {P}link({meta}, [], [], () => {{ throw Error({msg}); }});\n",
                    meta = meta_expr(&json!({"id": name, "specs": [], "targets": [],
                                  "own": {}, "locals": [], "named": {}, "stars": []})),
                    msg = lit(deferred_error),
                ),
                vec![],
            ),
            ModuleEntry::Exit { exit } => {
                return Err(format!("{} is the host module {exit:?}", at()))
            }
            ModuleEntry::Alias { .. } => unreachable!("followed"),
        };
        self.modules.insert(name, source);
        Ok(deps)
    }

    /// The generated module of a `pre-mjs-json` record, and the instances it imports.
    fn esm(
        &mut self,
        name: &str,
        c: &str,
        spec: &str,
        r: &MjsRecord,
    ) -> Result<(String, Vec<(String, String)>), String> {
        let mut out = format!("import {{ link as {P}link }} from '{LINKER}';\n");
        let mut specs: Vec<&str> = Vec::new();
        let mut targets = Vec::new();
        let mut deps = Vec::new();
        let every = r
            .imports
            .iter()
            .chain(&r.reexports)
            .chain(r.reexport_map.keys());
        for s in every {
            if specs.contains(&s.as_str()) {
                continue;
            }
            let t = self.target(c, spec, s)?;
            let (engine_name, meta) = match &t {
                Target::Instance(n) => {
                    let full = resolve_specifier(s, spec)?;
                    deps.push((c.to_string(), full));
                    (format!("{}{n}", self.prefix), json!({"instance": n}))
                }
                Target::Builtin(b) => (b.clone(), json!({"builtin": b})),
            };
            out.push_str(&format!(
                "import * as {P}n{} from {};\n",
                specs.len(),
                lit(&engine_name)
            ));
            specs.push(s.as_str());
            targets.push((engine_name, meta));
        }
        let index = |s: &str| specs.iter().position(|x| *x == s).expect("listed above");

        // One variable per local binding; a live binding the module reassigns from inside
        // (`setProxyTrap`) is referred to by its own name in the functor, so it is declared
        // under that name.
        let mut locals: BTreeMap<&str, (String, &str)> = BTreeMap::new();
        let mut own = serde_json::Map::new();
        for (export, (local,)) in &r.fixed {
            let n = locals.len();
            locals
                .entry(local.as_str())
                .or_insert_with(|| (format!("{P}v{n}"), "once"));
            own.insert(export.clone(), json!(local));
        }
        for (export, (local, trapped)) in &r.live {
            if *trapped && !is_identifier(local) {
                return Err(format!(
                    "module {spec:?} of package {c:?}: {local:?} is not an identifier"
                ));
            }
            let n = locals.len();
            locals.entry(local.as_str()).or_insert_with(|| {
                let var = if *trapped {
                    local.clone()
                } else {
                    format!("{P}v{n}")
                };
                (var, "live")
            });
            own.insert(export.clone(), json!(local));
        }
        if !locals.is_empty() {
            let vars: Vec<&str> = locals.values().map(|(v, _)| v.as_str()).collect();
            out.push_str(&format!("let {};\n", vars.join(", ")));
        }
        let mut exports: Vec<String> = Vec::new();
        for (export, local) in r
            .fixed
            .iter()
            .map(|(e, (l,))| (e, l))
            .chain(r.live.iter().map(|(e, (l, _))| (e, l)))
        {
            exports.push(format!(
                "{} as {}",
                locals[local.as_str()].0,
                export_name(export)
            ));
        }
        if !exports.is_empty() {
            out.push_str(&format!("export {{ {} }};\n", exports.join(", ")));
        }
        let mut named = serde_json::Map::new();
        for (s, pairs) in &r.reexport_map {
            let from = lit(&targets[index(s)].0);
            for (import, export) in pairs {
                if import == "*" {
                    out.push_str(&format!(
                        "export * as {} from {from};\n",
                        export_name(export)
                    ));
                } else {
                    out.push_str(&format!(
                        "export {{ {} as {} }} from {from};\n",
                        export_name(import),
                        export_name(export)
                    ));
                }
                named.insert(export.clone(), json!([index(s), import]));
            }
        }
        let mut stars = Vec::new();
        for s in &r.reexports {
            out.push_str(&format!("export * from {};\n", lit(&targets[index(s)].0)));
            stars.push(index(s));
        }
        let meta = json!({
            "id": name,
            "specs": specs,
            "targets": targets.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>(),
            "own": own,
            "locals": locals.iter().map(|(l, (_, kind))| json!([l, kind])).collect::<Vec<_>>(),
            "named": named,
            "stars": stars,
            "needsImport": r.needs_import,
        });
        let namespaces: Vec<String> = (0..specs.len()).map(|i| format!("{P}n{i}")).collect();
        // In the order of `meta.locals` (both iterate `locals`).
        let setters: Vec<String> = locals
            .values()
            .map(|(var, _)| format!("({P}x) => {{ {var} = {P}x; }}"))
            .collect();
        out.push_str(&format!(
            "{P}link({}, [{}], [{}], (\n{}\n));\n",
            meta_expr(&meta),
            namespaces.join(", "),
            setters.join(", "),
            r.program
        ));
        Ok((out, deps))
    }
}

/// A module whose only export is `default`, the value of `expr`.
fn value_module(name: &str, expr: &str) -> String {
    let meta = meta_expr(&json!({"id": name, "specs": [], "targets": [],
                      "own": {"default": "default"}, "locals": [["default", "once"]],
                      "named": {}, "stars": []}));
    format!(
        "import {{ link as {P}link }} from '{LINKER}';\n\
         let {P}v0;\nexport {{ {P}v0 as default }};\n\
         {P}link({meta}, [], [({P}x) => {{ {P}v0 = {P}x; }}], \
         ({{ onceVar }}) => {{ onceVar.default({expr}); }});\n"
    )
}

/// A module's linker metadata as a JavaScript expression: parsed from a string, since an
/// object literal would treat a `"__proto__"` key (a legal export name) as the prototype.
fn meta_expr(meta: &serde_json::Value) -> String {
    format!("JSON.parse({})", lit(&meta.to_string()))
}
