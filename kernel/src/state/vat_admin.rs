//! Vat creation and the vat-admin vat's kernel hooks.
//!
//! The vat-admin vat (JS, `vat_admin/vat-admin.js`, installed by
//! [`crate::Kernel::install_vat_admin`]) is the vatAdminService vats use to create dynamic
//! vats. It reaches the kernel through the privileged `kernelHook` syscall; the kernel
//! tells it when a dynamic vat ends (`vatTerminated`), which settles `adminNode.done()`.

use serde_json::Value;

use crate::capdata::CapData;
use crate::error::KernelError;
use crate::events::{KCapData, KMessage, KernelEvent};
use crate::refs::{VRef, VatId};
use crate::state::clist::VatUse;
use crate::state::vats::VatOptions;
use crate::state::{keys, KState};
use crate::store::Cf;
use crate::worker::VatSource;

/// The vat-admin vat's name (reserved).
pub const VAT_ADMIN_NAME: &str = "vatAdmin";
/// The built-in vat-admin vat's source (one module, `vat-admin.js`), which
/// [`crate::Kernel::install_vat_admin`] installs. Its state is durable, so it can be upgraded
/// like any vat (to a new version of this source) without breaking any adminNode.
pub const VAT_ADMIN_JS: &str = include_str!("vat_admin/vat-admin.js");

/// What a kernel hook asks the kernel to do after the delivery.
pub(crate) enum HookEffect {
    /// Reply to the vat now.
    Reply(KCapData),
    /// Terminate this vat once the delivery is done (`terminateWithFailure`).
    Terminate(VatId, KCapData),
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// A reap interval as vat-admin passes it: a positive whole number, or `"never"` (the
/// largest interval there is).
fn reap_interval_of(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().filter(|n| *n > 0),
        Value::String(s) if s == "never" => Some(u64::MAX),
        _ => None,
    }
}

/// A smallcaps string as plain text (`!`-escaped strings unescaped).
fn text(v: &Value) -> Option<String> {
    let s = v.as_str()?;
    Some(s.strip_prefix('!').unwrap_or(s).to_string())
}

impl KState {
    /// Creates a vat and queues its `startVat`; its root (`o+0`) exists at once and the
    /// kernel holds it while the vat lives.
    pub(crate) fn create_vat(
        &mut self,
        source: &VatSource,
        options: &VatOptions,
        vat_parameters: &KCapData,
    ) -> Result<VatId, KernelError> {
        let name = &options.name;
        if !valid_name(name) {
            return Err(KernelError::BadVatName(name.clone()));
        }
        if self.vat_id_by_name(name).is_some() {
            return Err(KernelError::DuplicateVatName(name.clone()));
        }
        for k in &vat_parameters.slots {
            if !self.kref_exists(*k) {
                return Err(KernelError::UnknownKRef(*k));
            }
        }
        let v = self.create_vat_records(source, options, vat_parameters);
        self.start_transcript(v, &source.bundle_id);
        let root = VRef::parse("o+0").expect("o+0 is a valid vref");
        let root = self
            .map_vat_to_kernel(v, &root, VatUse::NORMAL)
            .expect("a new vat can always export its root");
        self.incref(root, true);
        self.push_run(&KernelEvent::StartVat { vat_id: v });
        Ok(v)
    }

    /// Runs a kernel hook for `caller`, which must be the vat-admin vat. `Err` is an
    /// illegal syscall; a refused request is an `{"error": …}` reply instead.
    pub(crate) fn kernel_hook(
        &mut self,
        caller: VatId,
        name: &str,
        args: &KCapData,
    ) -> Result<HookEffect, String> {
        if self.vat_id_by_name(VAT_ADMIN_NAME) != Some(caller) {
            return Err("only the vat-admin vat may call kernel hooks".into());
        }
        let body: Value = args
            .body
            .strip_prefix('#')
            .and_then(|b| serde_json::from_str(b).ok())
            .ok_or("hook arguments are not smallcaps capdata")?;
        let refuse = |why: String| {
            Ok(HookEffect::Reply(crate::capdata::json(
                &serde_json::json!({ "error": why }),
            )))
        };
        match name {
            "createVat" => {
                let (Some(bundle_id), options) = (body.get(0).and_then(text), body.get(1)) else {
                    return refuse(
                        "createVat(bundleID, options): the bundle id must be a string".into(),
                    );
                };
                // The name is optional, as upstream's: a nameless vat is named after its id.
                let vat_name = match options.and_then(|o| o.get("name")) {
                    None => format!("dynamic-v{}", self.get_u64(keys::VAT_NEXT_ID).unwrap_or(1)),
                    Some(n) => match text(n) {
                        Some(n) => n,
                        None => return refuse("createVat: the vat name must be a string".into()),
                    },
                };
                let enable_pipelining = match options.and_then(|o| o.get("enablePipelining")) {
                    None => false,
                    Some(Value::Bool(b)) => *b,
                    Some(_) => {
                        return refuse("createVat: enablePipelining must be a boolean".into())
                    }
                };
                let reap_interval = match options.and_then(|o| o.get("reapInterval")) {
                    None => None,
                    Some(r) => match reap_interval_of(r) {
                        Some(r) => Some(r),
                        None => return refuse("invalid reapInterval value".into()),
                    },
                };
                if !self.store.has(Cf::Bundles, bundle_id.as_bytes()) {
                    return refuse(format!("bundle {bundle_id} is not installed"));
                }
                let params = match options.and_then(|o| o.get("vatParameters")) {
                    // Slot indices in the parameters refer to the arguments' slots.
                    Some(p) => CapData {
                        body: format!("#{p}"),
                        slots: args.slots.clone(),
                    },
                    None => crate::capdata::undefined(),
                };
                let opts = VatOptions {
                    name: vat_name,
                    dynamic: true,
                    enable_pipelining,
                    reap_interval,
                    ..VatOptions::default()
                };
                match self.create_vat(&VatSource { bundle_id }, &opts, &params) {
                    Err(e) => refuse(e.to_string()),
                    Ok(v) => {
                        let root = self.clist_kref(v, "o+0").expect("a new vat has a root");
                        let reply = CapData {
                            body: format!("#{{\"root\":\"$0.Alleged: root\",\"vatID\":\"{v}\"}}"),
                            slots: vec![root],
                        };
                        Ok(HookEffect::Reply(reply))
                    }
                }
            }
            "terminate" => {
                let Some(target) = self.live_dynamic_vat(body.get(0)) else {
                    return refuse("terminate: not a live dynamic vat".into());
                };
                let reason = body.get(1).cloned().unwrap_or(Value::Null);
                // The reason's slots are not kept: a termination reason is data.
                let reason = if args.slots.is_empty() {
                    CapData::data(format!("#{reason}"))
                } else {
                    crate::capdata::error("vat terminated by its adminNode")
                };
                Ok(HookEffect::Terminate(target, reason))
            }
            "upgrade" => {
                let Some(target) = self.live_dynamic_vat(body.get(0)) else {
                    return refuse("upgrade: the vat is no longer running".into());
                };
                let Some(bundle_id) = body.get(1).and_then(text) else {
                    return refuse(
                        "upgrade(bundleID, options): the bundle id must be a string".into(),
                    );
                };
                let empty = serde_json::Map::new();
                let options = match body.get(2) {
                    None | Some(Value::Null) => &empty,
                    Some(Value::String(s)) if s == "#undefined" => &empty,
                    Some(Value::Object(o)) => o,
                    Some(_) => return refuse("upgrade options must be a record".into()),
                };
                if let Some(bad) = options
                    .keys()
                    .find(|k| *k != "vatParameters" && *k != "upgradeMessage")
                {
                    return refuse(format!("upgrade() received unknown options: {bad:?}"));
                }
                let upgrade_message = match options.get("upgradeMessage") {
                    None => "vat upgraded".to_string(),
                    Some(m) => match text(m) {
                        Some(m) => m,
                        None => return refuse("upgradeMessage must be a string".into()),
                    },
                };
                let vat_parameters = match options.get("vatParameters") {
                    Some(p) => CapData {
                        body: format!("#{p}"),
                        slots: args.slots.clone(),
                    },
                    None => crate::capdata::undefined(),
                };
                // The queued event holds the parameters' slots until it is processed.
                for k in &vat_parameters.slots {
                    self.incref(*k, true);
                }
                let upgrade_id = self.allocate(keys::VAT_NEXT_UPGRADE_ID, 1);
                self.push_acceptance(&KernelEvent::UpgradeVat {
                    vat_id: target,
                    upgrade_id,
                    request: crate::events::UpgradeRequest {
                        bundle_id,
                        vat_parameters,
                        upgrade_message,
                    },
                });
                Ok(HookEffect::Reply(crate::capdata::json(
                    &serde_json::json!({ "upgradeID": upgrade_id }),
                )))
            }
            "hasBundle" => {
                let Some(bundle_id) = body.get(0).and_then(text) else {
                    return refuse("hasBundle(bundleID): the bundle id must be a string".into());
                };
                let installed = self.store.has(Cf::Bundles, bundle_id.as_bytes());
                Ok(HookEffect::Reply(crate::capdata::json(
                    &serde_json::json!({ "installed": installed }),
                )))
            }
            "bundleIDByName" => {
                let Some(name) = body.get(0).and_then(text) else {
                    return refuse("a bundle name must be a string".into());
                };
                match self.named_bundle(&name) {
                    Some(id) => Ok(HookEffect::Reply(crate::capdata::json(
                        &serde_json::json!({ "bundleID": id }),
                    ))),
                    None => refuse(format!("unregistered bundle name '{name}'")),
                }
            }
            "changeOptions" => {
                let target = self.live_dynamic_vat(body.get(0));
                let (Some(target), Some(Value::Object(opts))) = (target, body.get(1)) else {
                    return refuse("changeOptions: not a live dynamic vat, or no options".into());
                };
                let mut options = self.vat_options(target).unwrap_or_default();
                for (k, v) in opts {
                    match (k.as_str(), reap_interval_of(v)) {
                        ("reapInterval", Some(r)) => options.reap_interval = Some(r),
                        ("reapInterval", None) => {
                            return refuse("invalid reapInterval value".into())
                        }
                        (other, _) => return refuse(format!("invalid option \"{other}\"")),
                    }
                }
                self.set_json(&keys::vat_options(target), &options);
                Ok(HookEffect::Reply(crate::capdata::undefined()))
            }
            other => Err(format!("unknown kernel hook {other:?}")),
        }
    }

    /// The live dynamic vat a hook argument names (vat-admin passes vat ids as strings);
    /// hooks act on nothing else.
    fn live_dynamic_vat(&self, arg: Option<&Value>) -> Option<VatId> {
        arg.and_then(text)
            .and_then(|s| s.parse::<VatId>().ok())
            .filter(|t| self.vat_is_live(*t) && self.vat_options(*t).is_some_and(|o| o.dynamic))
    }

    /// The bundle id registered under `name` ([`crate::Kernel::name_bundle`]).
    pub(crate) fn named_bundle(&self, name: &str) -> Option<String> {
        self.get(&keys::named_bundle(name))
    }

    /// Tells the vat-admin vat that a bundle was installed (settling `waitForBundleCap`),
    /// as upstream's kernel does on every install.
    pub(crate) fn notify_bundle_installed(&mut self, bundle_id: &str) {
        let args = vec![serde_json::Value::String(bundle_id.to_string())];
        self.send_to_vat_admin(crate::capdata::methargs(
            "bundleInstalled",
            args,
            Vec::new(),
        ));
    }

    /// Tells the vat-admin vat that dynamic vat `v` ended (settling `adminNode.done()`).
    /// Call before terminating `v` (its options are deleted by termination).
    pub(crate) fn notify_vat_admin(&mut self, v: VatId, failure: bool, info: &KCapData) {
        if !self.vat_options(v).is_some_and(|o| o.dynamic) {
            return;
        }
        // The info is the vat's text: passed on only if it is well-formed capdata whose
        // references fit its slots, so a vat cannot make the kernel send vat-admin
        // malformed methargs (which would fail vat-admin's delivery, not the vat's).
        let (info_value, slots) = match crate::capdata::decode_body(&info.body) {
            Some(x) if crate::capdata::fits_slots(&x, info.slots.len()) => (x, info.slots.clone()),
            _ => {
                let e: KCapData = crate::capdata::error(
                    "the vat ended with completion data that is not valid capdata",
                );
                let x = crate::capdata::decode_body(&e.body).expect("the kernel's own error");
                (x, Vec::new())
            }
        };
        let args = vec![
            serde_json::Value::String(v.to_string()),
            serde_json::Value::Bool(failure),
            info_value,
        ];
        self.send_to_vat_admin(crate::capdata::methargs("vatTerminated", args, slots));
    }

    /// Queues `methargs` to the vat-admin vat's root (if it is live), holding what the
    /// message names: the kernel's own notices (`vatTerminated`, `vatUpgradeCallback`).
    pub(crate) fn send_to_vat_admin(&mut self, methargs: KCapData) {
        let Some(admin) = self
            .vat_id_by_name(VAT_ADMIN_NAME)
            .filter(|a| self.vat_is_live(*a))
        else {
            return;
        };
        let Some(target) = self.clist_kref(admin, "o+0") else {
            return;
        };
        let msg = KMessage {
            methargs,
            result: None,
            allowance: None,
        };
        self.queue_send(keys::ACCEPTANCE_QUEUE, target, msg);
    }
}
