//! Reads a syscall request, a plain JS object made by liveslots, into a [`VatSyscall`].
//!
//! Reading fields straight from the object spares a `JSON.stringify` in the vat and a JSON
//! parse here on every syscall. Nothing is coerced: a field of the wrong type is a
//! malformed syscall (the vat is terminated), as a JSON request of the wrong shape was.

use rquickjs::{Array, Object, Value};

use crate::capdata::CapData;
use crate::worker::{VCapData, VResolution, VatSyscall};

type Res<T> = Result<T, String>;

fn field<'js>(o: &Object<'js>, name: &str) -> Res<Value<'js>> {
    o.get::<_, Value>(name)
        .map_err(|e| format!("cannot read field {name:?}: {e}"))
}

fn string(v: &Value<'_>, what: &str) -> Res<String> {
    v.as_string()
        .ok_or_else(|| format!("{what} must be a string"))?
        .to_string()
        .map_err(|e| format!("{what}: {e}"))
}

fn str_field(o: &Object<'_>, name: &str) -> Res<String> {
    string(&field(o, name)?, name)
}

/// A string, or `null`/`undefined` for none.
fn opt_str_field(o: &Object<'_>, name: &str) -> Res<Option<String>> {
    let v = field(o, name)?;
    if v.is_null() || v.is_undefined() {
        return Ok(None);
    }
    string(&v, name).map(Some)
}

fn bool_field(o: &Object<'_>, name: &str) -> Res<bool> {
    field(o, name)?
        .as_bool()
        .ok_or_else(|| format!("{name} must be a boolean"))
}

fn array<'js>(v: Value<'js>, what: &str) -> Res<Array<'js>> {
    v.into_array()
        .ok_or_else(|| format!("{what} must be an array"))
}

fn object<'js>(v: Value<'js>, what: &str) -> Res<Object<'js>> {
    v.into_object()
        .ok_or_else(|| format!("{what} must be an object"))
}

fn strings(v: Value<'_>, what: &str) -> Res<Vec<String>> {
    let a = array(v, what)?;
    (0..a.len())
        .map(|i| {
            let item = a.get::<Value>(i).map_err(|e| format!("{what}[{i}]: {e}"))?;
            string(&item, what)
        })
        .collect()
}

fn capdata(v: Value<'_>, what: &str) -> Res<VCapData> {
    let o = object(v, what)?;
    Ok(CapData {
        body: str_field(&o, "body")?,
        slots: strings(field(&o, "slots")?, "slots")?,
    })
}

fn resolutions(v: Value<'_>) -> Res<Vec<VResolution>> {
    let a = array(v, "resolutions")?;
    (0..a.len())
        .map(|i| {
            let r = a
                .get::<Value>(i)
                .map_err(|e| format!("resolutions[{i}]: {e}"))?;
            let r = object(r, "a resolution")?;
            Ok(VResolution {
                vpid: str_field(&r, "vpid")?,
                rejected: bool_field(&r, "rejected")?,
                data: capdata(field(&r, "data")?, "data")?,
            })
        })
        .collect()
}

/// The syscall `request` describes, or why it is malformed.
pub(crate) fn read_request(request: Value<'_>) -> Res<VatSyscall> {
    let o = object(request, "a syscall request")?;
    let ty = str_field(&o, "type")?;
    let vrefs = |o: &Object<'_>| strings(field(o, "vrefs")?, "vrefs");
    Ok(match ty.as_str() {
        "send" => VatSyscall::Send {
            target: str_field(&o, "target")?,
            methargs: capdata(field(&o, "methargs")?, "methargs")?,
            result: opt_str_field(&o, "result")?,
        },
        "subscribe" => VatSyscall::Subscribe {
            vpid: str_field(&o, "vpid")?,
        },
        "resolve" => VatSyscall::Resolve {
            resolutions: resolutions(field(&o, "resolutions")?)?,
        },
        "exit" => VatSyscall::Exit {
            failure: bool_field(&o, "failure")?,
            info: capdata(field(&o, "info")?, "info")?,
        },
        "vatstoreGet" => VatSyscall::VatstoreGet {
            key: str_field(&o, "key")?,
        },
        "vatstoreSet" => VatSyscall::VatstoreSet {
            key: str_field(&o, "key")?,
            value: str_field(&o, "value")?,
        },
        "vatstoreDelete" => VatSyscall::VatstoreDelete {
            key: str_field(&o, "key")?,
        },
        "vatstoreGetNextKey" => VatSyscall::VatstoreGetNextKey {
            prior: str_field(&o, "prior")?,
        },
        "dropImports" => VatSyscall::DropImports { vrefs: vrefs(&o)? },
        "retireImports" => VatSyscall::RetireImports { vrefs: vrefs(&o)? },
        "retireExports" => VatSyscall::RetireExports { vrefs: vrefs(&o)? },
        "abandonExports" => VatSyscall::AbandonExports { vrefs: vrefs(&o)? },
        "kernelHook" => VatSyscall::KernelHook {
            name: str_field(&o, "name")?,
            args: capdata(field(&o, "args")?, "args")?,
        },
        other => return Err(format!("unknown syscall type {other:?}")),
    })
}
