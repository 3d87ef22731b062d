//! The module graph a vat runtime can import: liveslots and the upstream-named built-ins
//! (`@endo/far`, `@endo/promise-kit`), plus the vat's own bundle under `vat/`.

use std::collections::BTreeMap;
use std::rc::Rc;

use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::module::Declared;
use rquickjs::{Ctx, Error, Module};

use crate::worker::bundle::{resolve_relative, Bundle};

pub(crate) const INSTANCE: &str = "vatchain/instance.js";
const BUNDLE_PREFIX: &str = "vat/";

const FAR: &str = r#"import { ls } from 'vatchain/instance.js';
export const E = ls.E;
export const Far = ls.Far;
export const Remotable = ls.Remotable;
export const passStyleOf = ls.passStyleOf;
export const getInterfaceOf = ls.getInterfaceOf;
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

/// Every module source of one vat runtime, by the name the engine knows it by.
pub(crate) struct Sources(BTreeMap<String, String>);

impl Sources {
    pub(crate) fn new(bundle: &Bundle) -> Sources {
        let mut m = BTreeMap::new();
        m.insert(
            "vatchain/marshal.js".into(),
            include_str!("../js/marshal.js").into(),
        );
        m.insert(
            "vatchain/liveslots.js".into(),
            include_str!("../js/liveslots.js").into(),
        );
        let entry = serde_json::to_string(&format!("{BUNDLE_PREFIX}{}", bundle.entry))
            .expect("a string serializes");
        m.insert(
            INSTANCE.into(),
            format!(
                "const ENTRY = {entry};\n{}",
                include_str!("../js/instance.js")
            ),
        );
        m.insert("@endo/far".into(), FAR.into());
        m.insert("@endo/promise-kit".into(), PROMISE_KIT.into());
        for (path, src) in &bundle.modules {
            m.insert(format!("{BUNDLE_PREFIX}{path}"), src.clone());
        }
        Sources(m)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&String> {
        self.0.get(name)
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
            // Only the liveslots instance names the vat's entry module directly.
            (base == INSTANCE).then(|| name.to_string())
        } else if from_vat && name.starts_with("vatchain/") {
            None
        } else {
            Some(name.to_string())
        };
        match resolved {
            Some(p) if self.0.get(&p).is_some() => Ok(p),
            _ => Err(Error::new_resolving(base, name)),
        }
    }
}

pub(crate) struct BundleLoader(pub(crate) Rc<Sources>);

impl Loader for BundleLoader {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _a: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<Module<'js, Declared>> {
        match self.0.get(name) {
            Some(src) => Module::declare(ctx.clone(), name, src.clone()),
            None => Err(Error::new_loading(name)),
        }
    }
}
