//! The vat registry: names, ids, options, source, parameters, termination records.

use serde::{Deserialize, Serialize};

use super::{keys, KState};
use crate::events::KCapData;
use crate::refs::VatId;
use crate::worker::VatSource;

/// Options recorded for a vat (`vN.options`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VatOptions {
    pub name: String,
    /// Deliver messages sent to promises this vat decides straight to it.
    #[serde(default)]
    pub enable_pipelining: bool,
    /// Deliveries between bringOutYourDead; `None` = the kernel default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reap_interval: Option<u64>,
    /// A dynamic vat (created at run time) rather than a static (genesis) one.
    #[serde(default)]
    pub dynamic: bool,
    /// Vatstore bytes (keys plus values) the vat may hold; `None` = the kernel default
    /// (`DEFAULT_VATSTORE_QUOTA`). A write past it fails the delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vatstore_quota: Option<u64>,
}

impl KState {
    /// Whether `v` exists and has not been terminated.
    pub(crate) fn vat_is_live(&self, v: VatId) -> bool {
        self.has(&keys::vat_o_next(v))
    }

    pub(crate) fn vat_options(&self, v: VatId) -> Option<VatOptions> {
        self.get_json(&keys::vat_options(v))
    }

    pub(crate) fn vat_source(&self, v: VatId) -> Option<VatSource> {
        self.get_json(&keys::vat_source(v))
    }

    pub(crate) fn vat_id_by_name(&self, name: &str) -> Option<VatId> {
        self.get(&keys::vat_name(name))
            .map(|s| s.parse().expect("vat.name.* holds a vat id"))
    }

    /// Live vats in creation order: static ones, then dynamic ones.
    pub(crate) fn live_vats(&self) -> Vec<VatId> {
        let names: Vec<String> = self.get_json(keys::VAT_NAMES).unwrap_or_default();
        let mut out: Vec<VatId> = names
            .iter()
            .filter_map(|n| self.vat_id_by_name(n))
            .collect();
        let dynamic: Vec<VatId> = self.get_json(keys::VAT_DYNAMIC_IDS).unwrap_or_default();
        out.extend(dynamic);
        out.retain(|v| self.vat_is_live(*v));
        out
    }

    pub(crate) fn terminated_vats(&self) -> Vec<VatId> {
        self.get_json(keys::VATS_TERMINATED).unwrap_or_default()
    }

    /// Writes the records of a new vat and registers it by name.
    pub(crate) fn create_vat_records(
        &mut self,
        source: &VatSource,
        options: &VatOptions,
        vat_parameters: &KCapData,
    ) -> VatId {
        let v = VatId(self.allocate(keys::VAT_NEXT_ID, 1));
        self.set_json(&keys::vat_source(v), source);
        self.set_json(&keys::vat_options(v), options);
        for slot in &vat_parameters.slots {
            self.incref(*slot, true);
        }
        self.set_json(&keys::vat_parameters(v), vat_parameters);
        self.set_u64(&keys::vat_o_next(v), 50);
        self.set_u64(&keys::vat_p_next(v), 60);
        self.set_u64(&keys::vat_reap_dirt(v), 0);
        if options.dynamic {
            let mut ids: Vec<VatId> = self.get_json(keys::VAT_DYNAMIC_IDS).unwrap_or_default();
            ids.push(v);
            self.set_json(keys::VAT_DYNAMIC_IDS, &ids);
        } else {
            let mut names: Vec<String> = self.get_json(keys::VAT_NAMES).unwrap_or_default();
            names.push(options.name.clone());
            self.set_json(keys::VAT_NAMES, &names);
        }
        self.set(&keys::vat_name(&options.name), &v.to_string());
        v
    }

    pub(crate) fn vat_parameters(&self, v: VatId) -> KCapData {
        self.get_json(&keys::vat_parameters(v))
            .unwrap_or_else(crate::capdata::undefined)
    }
}
