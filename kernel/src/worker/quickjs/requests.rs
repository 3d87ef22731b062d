//! Reads a syscall, `__syscall(type, ...args)` from liveslots, into a [`VatSyscall`].
//!
//! Reading the JS values directly spares a `JSON.stringify` in the vat and a JSON parse
//! here on every syscall. Nothing is coerced: an argument of the wrong type is a malformed
//! syscall (the vat is terminated), as a JSON request of the wrong shape was.

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
fn opt_string(v: Value<'_>, what: &str) -> Res<Option<String>> {
    if v.is_null() || v.is_undefined() {
        return Ok(None);
    }
    string(&v, what).map(Some)
}

fn boolean(v: &Value<'_>, what: &str) -> Res<bool> {
    v.as_bool()
        .ok_or_else(|| format!("{what} must be a boolean"))
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
                rejected: boolean(&field(&r, "rejected")?, "rejected")?,
                data: capdata(field(&r, "data")?, "data")?,
            })
        })
        .collect()
}

/// The syscall `__syscall(type, ...args)` describes, or why it is malformed. Arguments are
/// positional (no request object for the vat to build and this side to pick apart).
pub(crate) fn read_request<'js>(ty: Value<'js>, args: Vec<Value<'js>>) -> Res<VatSyscall> {
    let ty = string(&ty, "the syscall type")?;
    let mut args = args.into_iter();
    let mut next = |name: &str| {
        args.next()
            .ok_or_else(|| format!("{ty}: missing argument {name}"))
    };
    let sys = match ty.as_str() {
        "send" => VatSyscall::Send {
            target: string(&next("target")?, "target")?,
            methargs: capdata(next("methargs")?, "methargs")?,
            result: opt_string(next("result")?, "result")?,
        },
        "subscribe" => VatSyscall::Subscribe {
            vpid: string(&next("vpid")?, "vpid")?,
        },
        "resolve" => VatSyscall::Resolve {
            resolutions: resolutions(next("resolutions")?)?,
        },
        "exit" => VatSyscall::Exit {
            failure: boolean(&next("failure")?, "failure")?,
            info: capdata(next("info")?, "info")?,
        },
        "vatstoreGet" => VatSyscall::VatstoreGet {
            key: string(&next("key")?, "key")?,
        },
        "vatstoreSet" => VatSyscall::VatstoreSet {
            key: string(&next("key")?, "key")?,
            value: string(&next("value")?, "value")?,
        },
        "vatstoreDelete" => VatSyscall::VatstoreDelete {
            key: string(&next("key")?, "key")?,
        },
        "vatstoreGetNextKey" => VatSyscall::VatstoreGetNextKey {
            prior: string(&next("prior")?, "prior")?,
        },
        "dropImports" => VatSyscall::DropImports {
            vrefs: strings(next("vrefs")?, "vrefs")?,
        },
        "retireImports" => VatSyscall::RetireImports {
            vrefs: strings(next("vrefs")?, "vrefs")?,
        },
        "retireExports" => VatSyscall::RetireExports {
            vrefs: strings(next("vrefs")?, "vrefs")?,
        },
        "abandonExports" => VatSyscall::AbandonExports {
            vrefs: strings(next("vrefs")?, "vrefs")?,
        },
        "kernelHook" => VatSyscall::KernelHook {
            name: string(&next("name")?, "name")?,
            args: capdata(next("args")?, "args")?,
        },
        other => return Err(format!("unknown syscall type {other:?}")),
    };
    Ok(sys)
}
