//! ABCI queries. Paths answer JSON, except the Cosmos gRPC paths (`/cosmos.…/…`), which
//! answer protobuf as Cosmos SDK nodes do (cosmjs reads accounts through them).
//!
//! JSON paths: `/kernel/stats`, `/vats`, `/vat/<name or vatID>`, `/bundle/<id>`,
//! `/data/<path>`, `/children/<prefix>`, `/published`, `/result/<kpid>`, `/proposals`,
//! `/proposal/<id>`, `/account/<address>`, `/upgrade/plan`, `/upgrade/done/<name>`,
//! `/upgrade/applied`, `/params`.
//!
//! While the kernel DB awaits its schema migration (a new binary started on an old DB, for
//! the block that migrates it), only the chain's own records are served (accounts,
//! parameters, proposals, upgrades, `/kernel/stats`): kernel state is not read until it has
//! been migrated.

use cosmrs::proto::cosmos::auth::v1beta1::{
    BaseAccount, QueryAccountRequest, QueryAccountResponse,
};
use cosmrs::Any;
use prost::Message;
use serde_json::{json, Value};
use vatchain_bridge::chain_storage;
use vatchain_kernel::{keys, Kernel, VatId};

use crate::host;
use crate::host::codes::{INVALID_REQUEST, KEY_NOT_FOUND, NOT_FOUND};
use crate::host::params::Params;
use crate::modules::auth::accounts;
use crate::modules::swingset::{keys as swingset_keys, results};
use crate::modules::{gov, upgrade as upgrade_plan};

/// A query's answer: ABCI code, the value (or an error message), and the height of the
/// state it was read from.
#[derive(Clone, Debug)]
pub struct QueryAnswer {
    pub code: u32,
    pub value: Vec<u8>,
    pub log: String,
    pub height: u64,
}

/// Most entries a listing query returns (`/proposals`, `/children/…`): queries run on the
/// owner thread, so none may take long.
pub const MAX_LISTED: usize = 100;

/// Codes of a query that found nothing or could not be read (see `host::codes`).
pub const CODE_NOT_FOUND: u32 = NOT_FOUND;
pub const CODE_BAD_REQUEST: u32 = INVALID_REQUEST;

fn ok(v: Value) -> QueryAnswer {
    QueryAnswer {
        code: 0,
        value: v.to_string().into_bytes(),
        log: String::new(),
        height: 0,
    }
}

fn fail(code: u32, log: impl Into<String>) -> QueryAnswer {
    QueryAnswer {
        code,
        value: Vec::new(),
        log: log.into(),
        height: 0,
    }
}

fn found(v: Option<Value>, what: &str) -> QueryAnswer {
    v.map(ok)
        .unwrap_or_else(|| fail(CODE_NOT_FOUND, format!("{what} not found")))
}

pub const PATHS: &str = "/kernel/stats, /vats, /vat/<name|vatID>, /bundle/<id>, /data/<path>, \
    /children/<prefix>, /published, /result/<kpid>, /proposals, /proposal/<id>, \
    /account/<address>, /upgrade/plan, /upgrade/done/<name>, /upgrade/applied, /params, \
    /cosmos.auth.v1beta1.Query/Account";

/// Answers `path` (with request `data`, for gRPC paths) from the kernel's state.
pub fn answer(kernel: &Kernel, path: &str, data: &[u8]) -> QueryAnswer {
    let mut a = answer_path(kernel, path, data);
    a.height = kernel.committed().height;
    a
}

fn answer_path(kernel: &Kernel, path: &str, data: &[u8]) -> QueryAnswer {
    let h = kernel.host();
    let (head, rest) = match path.strip_prefix('/').and_then(|p| p.split_once('/')) {
        Some((h, r)) => (h, r),
        None => (path.trim_start_matches('/'), ""),
    };
    if let Some(p) = kernel.pending_migration() {
        let host_only = matches!(
            head,
            "kernel"
                | "account"
                | "cosmos.auth.v1beta1.Query"
                | "params"
                | "proposals"
                | "proposal"
                | "upgrade"
        );
        if !host_only {
            return fail(
                CODE_BAD_REQUEST,
                format!(
                    "the kernel DB awaits its migration from schema version {} to {}, which the \
                     next block's software upgrade runs; kernel state is served after it",
                    p.from, p.to
                ),
            );
        }
    }
    match (head, rest) {
        ("kernel", "stats") => {
            let c = kernel.committed();
            let pending = kernel.pending_migration();
            ok(json!({
                "height": c.height,
                "appHash": hex::encode(c.app_hash),
                "vats": if pending.is_some() { Value::Null } else { json!(kernel.vats().len()) },
                "crankNumber": kernel.kv_get("crankNumber"),
                "schemaVersion": kernel.db_version(),
                "pendingMigration": pending,
            }))
        }
        ("vats", "") => ok(Value::Array(
            kernel
                .vats()
                .into_iter()
                .map(|v| vat_info(kernel, v))
                .collect(),
        )),
        ("vat", id) => {
            let v = kernel.vat_id(id).or_else(|| {
                id.parse::<VatId>()
                    .ok()
                    .filter(|v| kernel.vats().contains(v))
            });
            found(v.map(|v| vat_info(kernel, v)), &format!("vat {id:?}"))
        }
        ("bundle", id) => found(
            kernel
                .bundle(id)
                .and_then(|b| serde_json::from_slice(&b).ok()),
            &format!("bundle {id}"),
        ),
        ("data", p) => found(chain_storage::read(kernel, p), &format!("data at {p:?}")),
        ("children", p) => ok(json!(chain_storage::list(kernel, p, MAX_LISTED))),
        ("published", "") => ok(Value::Object(
            host::scan::<String>(&h, swingset_keys::PUBLISHED)
                .into_iter()
                .map(|(k, v)| {
                    (
                        k[swingset_keys::PUBLISHED.len()..].to_string(),
                        Value::String(v),
                    )
                })
                .collect(),
        )),
        ("result", kp) => found(results::get(&h, kp), &format!("result {kp}")),
        ("proposals", "") => ok(json!(gov::latest(&h, MAX_LISTED))),
        ("proposal", id) => match id.parse::<u64>() {
            Ok(n) => found(
                gov::get(&h, n).map(|p| {
                    let (t, total) = gov::tally(&h, n);
                    let mut v = json!(p);
                    v["content"] = p
                        .messages
                        .iter()
                        .map(|m| match crate::msgs::decode_gov_msg(&m.to_any()) {
                            Ok(g) => g.to_json(),
                            Err(e) => json!({"undecodable": e.to_string()}),
                        })
                        .collect();
                    v["currentTally"] = json!(t);
                    v["totalPower"] = json!(total);
                    v
                }),
                &format!("proposal {n}"),
            ),
            Err(_) => fail(
                CODE_BAD_REQUEST,
                format!("proposal id {id:?} is not a number"),
            ),
        },
        ("account", addr) => found(
            accounts::get(&h, addr).map(|a| json!(a)),
            &format!("account {addr}"),
        ),
        ("upgrade", "plan") => ok(json!(upgrade_plan::scheduled(&h))),
        ("upgrade", "applied") => ok(json!(upgrade_plan::applied(&h))),
        ("upgrade", r) if r.starts_with("done/") => {
            ok(json!(upgrade_plan::done_height(&h, &r["done/".len()..])))
        }
        ("params", "") => ok(json!(Params::stored(&h))),
        ("cosmos.auth.v1beta1.Query", "Account") => account_grpc(kernel, data),
        _ => fail(
            CODE_BAD_REQUEST,
            format!("unknown query path {path:?}; known: {PATHS}"),
        ),
    }
}

fn vat_info(kernel: &Kernel, v: VatId) -> Value {
    let options: Value = kernel
        .kv_get(&keys::vat_options(v))
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    // The current span is the last one.
    let span = kernel.transcript_spans(v).pop();
    json!({
        "vatID": v.to_string(),
        "name": options["name"],
        "dynamic": options["dynamic"],
        "bundleID": span.as_ref().map(|s| s.bundle_id.clone()),
        "incarnationNumber": span.as_ref().map(|s| s.incarnation),
        "transcriptLength": span.as_ref().map(|s| s.end_pos),
    })
}

/// `/cosmos.auth.v1beta1.Query/Account`: protobuf in, protobuf out.
fn account_grpc(kernel: &Kernel, data: &[u8]) -> QueryAnswer {
    let req = match QueryAccountRequest::decode(data) {
        Ok(r) => r,
        Err(e) => return fail(CODE_BAD_REQUEST, format!("bad QueryAccountRequest: {e}")),
    };
    let Some(a) = accounts::get(&kernel.host(), &req.address) else {
        // The code and text clients (cosmjs) recognize as "no such account".
        return fail(
            KEY_NOT_FOUND,
            format!(
                "rpc error: code = NotFound desc = account {} not found: key not found",
                req.address
            ),
        );
    };
    let base = BaseAccount {
        address: a.address,
        pub_key: None,
        account_number: a.account_number,
        sequence: a.sequence,
    };
    QueryAnswer {
        code: 0,
        value: QueryAccountResponse {
            account: Some(Any {
                type_url: "/cosmos.auth.v1beta1.BaseAccount".into(),
                value: base.encode_to_vec(),
            }),
        }
        .encode_to_vec(),
        log: String::new(),
        height: 0,
    }
}
