// The linker for the modules of an endoZipBase64 bundle (see
// kernel/src/worker/quickjs/endo_modules.rs, which generates them). Each generated module
// calls `link` once, first thing in its body, with:
//   meta        { id, specs, targets, own, locals, named, stars, needsImport }: its name;
//               the specifiers it imports, as its functor writes them, and what each
//               resolved to ({ instance: name } or { builtin: spec }); own exports (export
//               name -> local binding); its local bindings ([local, 'once' | 'live']);
//               named re-exports (export name -> [import index, imported name]); the import
//               indices it re-exports all of
//   namespaces  the module namespace of each import, by index
//   setters     for each of meta.locals, in order, the function that sets the generated
//               module's variable for it (the one its ES `export` names)
//   functor     the module's code, as upstream's module transform made it
// and calls the functor as upstream's compartment linker does: `imports(updateRecord)`
// wires each imported name to updater functions, `onceVar.x(v)` / `liveVar.x(v)` publish
// a binding.
//
// Invariant: an updater is called with a binding's value once it is initialized and again
// at each later publication (`liveVar`), whichever of the importer or the exporter runs
// first: in an import cycle an importer may subscribe before the exporter's body has
// started, and is connected when it does.

const { create, freeze, hasOwn } = Object;

// Module name -> { meta, namespaces, bindings: Map(local -> binding), pending }.
const records = new Map();

const recordOf = (id) => {
  let r = records.get(id);
  if (r === undefined) {
    r = { meta: undefined, namespaces: undefined, bindings: new Map(), pending: [] };
    records.set(id, r);
  }
  return r;
};

const bindingOf = (r, local) => {
  let b = r.bindings.get(local);
  if (b === undefined) {
    b = { initialized: false, value: undefined, updaters: [] };
    r.bindings.set(local, b);
  }
  return b;
};

// Connects `updater` to export `name` of generated module `id`: now if its body has
// started, else when it does. `via`: the modules whose `export *` led here, which a star
// must not lead back to (`export *` cycles are legal; the engine's namespaces resolve
// them, and so must this).
// Each returns whether it found the binding (a subscription still pending counts as
// found: the importer checked the name against the engine's namespace).
const subscribe = (id, name, updater, via) => {
  const r = recordOf(id);
  if (r.meta === undefined) {
    r.pending.push([name, updater, via]);
    return true;
  }
  return connect(r, name, updater, via);
};

const connect = (r, name, updater, via = []) => {
  const { meta, namespaces } = r;
  if (hasOwn(meta.own, name)) {
    const b = bindingOf(r, meta.own[name]);
    b.updaters.push(updater);
    if (b.initialized) updater(b.value);
    return true;
  }
  if (hasOwn(meta.named, name)) {
    const [i, imported] = meta.named[name];
    return connectImport(r, i, imported, updater, []);
  }
  if (name === 'default') return false;
  const path = [...via, meta.id];
  for (const i of meta.stars) {
    const t = meta.targets[i];
    if (hasOwn(t, 'instance') && path.includes(t.instance)) continue;
    if (name in namespaces[i] && connectImport(r, i, name, updater, path)) return true;
  }
  return false;
};

// Connects `updater` to `name` of the module that import `i` of `r` resolved to.
const connectImport = (r, i, name, updater, via) => {
  const ns = r.namespaces[i];
  if (name === '*') {
    updater(ns);
    return true;
  }
  const target = r.meta.targets[i];
  if (hasOwn(target, 'builtin')) {
    // Built-ins export constants and never import bundle modules, so theirs have been
    // evaluated by the time any importer's body runs.
    updater(ns[name]);
    return true;
  }
  return subscribe(target.instance, name, updater, via);
};

const mustConnect = (found, id, name) => {
  if (!found) throw SyntaxError(`Internal: module ${id} has no export ${name}`);
};

const noDynamicImport = async (spec) => {
  throw Error(`dynamic import(${JSON.stringify(spec)}) is not available to vat code`);
};

export function link(meta, namespaces, setters, functor) {
  const r = recordOf(meta.id);
  r.meta = meta;
  r.namespaces = namespaces;
  const onceVar = create(null);
  const liveVar = create(null);
  meta.locals.forEach(([local, kind], n) => {
    const b = bindingOf(r, local);
    const publish = (v) => {
      setters[n](v);
      b.value = v;
      b.initialized = true;
      for (const u of b.updaters) u(v);
      return v;
    };
    if (kind === 'once') {
      onceVar[local] = freeze((v) => {
        if (b.initialized) throw TypeError(`Internal: binding ${local} already initialized`);
        return publish(v);
      });
    } else {
      liveVar[local] = freeze(publish);
    }
  });
  const pending = r.pending;
  r.pending = [];
  for (const [name, updater, via] of pending) {
    mustConnect(connect(r, name, updater, via), meta.id, name);
  }

  const imports = (updateRecord) => {
    for (const [spec, importUpdaters] of updateRecord) {
      const i = meta.specs.indexOf(spec);
      if (i < 0) throw Error(`Internal: ${meta.id} imports ${spec}, which it did not list`);
      for (const [name, updaters] of importUpdaters) {
        if (name !== '*' && !(name in namespaces[i])) {
          throw SyntaxError(
            `The requested module '${spec}' does not provide an export named '${name}'`,
          );
        }
        for (const u of updaters) mustConnect(connectImport(r, i, name, u, []), spec, name);
      }
    }
  };
  functor(
    freeze({
      imports: freeze(imports),
      onceVar: freeze(onceVar),
      liveVar: freeze(liveVar),
      import: meta.needsImport ? noDynamicImport : undefined,
      importMeta: create(null),
    }),
  );
}
