//! JavaScript vats: one QuickJS runtime per live vat incarnation, running liveslots and the
//! vat's bundle.
//!
//! Determinism (DESIGN §5): no `Date`, no `Math.random`, every intrinsic frozen before vat
//! code runs; automatic GC off (cycles are collected only at bringOutYourDead, refcounting
//! frees the rest at the same instruction everywhere); exact heap accounting with a hard
//! limit ([`alloc`]); a per-delivery computron meter from the interrupt handler, which
//! fires about once per 10,000 branches and aborts with an uncatchable error.
//! `Math.sin/exp/pow…` come from our own deterministic libm ([`math`]), and the depth at
//! which recursion fails is a deterministic limit on frame costs, not on native stack use
//! ([`stack`]).

mod alloc;
mod bridge;
mod console;
mod endo_modules;
mod math;
mod modules;
mod requests;
mod stack;

use std::cell::Cell;
use std::rc::Rc;

use rquickjs::context::intrinsic as i;
use rquickjs::{
    CatchResultExt, CaughtError, Context, Ctx, Exception, Function, IntoJs, Module, Persistent,
    Runtime, Value,
};

use self::alloc::{HeapMeter, MeteredAlloc};
use self::bridge::Bridge;
use self::console::ConsoleBuffer;
pub(crate) use self::endo_modules::VatModules;
pub use self::modules::BytecodeCache;
use self::modules::{BundleLoader, BundleResolver, Sources, INSTANCE};
use self::stack::VatStack;
use super::bundle::Bundle;
use super::{DeliveryOutcome, SyscallHandler, SyscallReply, VatDelivery, VatWorker};

/// No `Date`, `Performance`; `WeakRef`/`FinalizationRegistry` are kept for liveslots' import
/// GC, observed only at bringOutYourDead.
pub(crate) type VatIntrinsics = (
    i::Eval,
    i::RegExp,
    i::Json,
    i::Proxy,
    i::MapSet,
    i::TypedArrays,
    i::Promise,
    i::WeakRef,
);

/// What `instance.outcome()` reports (see `instance.js`): done, still pending (1), failed.
const OUTCOME_DONE: i32 = 0;
const OUTCOME_FAILED: i32 = 2;

/// Limits of one vat worker.
#[derive(Clone, Copy, Debug)]
pub struct JsLimits {
    /// Heap bytes the vat may use.
    pub heap_bytes: usize,
    /// Computrons (interrupt ticks, ~10,000 branches each) one delivery may use.
    pub delivery_computrons: u64,
    /// The deterministic stack limit vat code meets: the sum of its frames' costs (a fixed
    /// cost per call plus the bytes of the callee's locals; see [`stack`]), the same on
    /// every machine whatever the binary's native frame sizes.
    pub js_stack_bytes: u32,
    /// Native stack QuickJS may use, in bytes: a safety net that JS recursion must never
    /// reach before `js_stack_bytes`; the worker maps a stack of its own this large (plus
    /// room for the host), committed only as it is touched.
    pub stack_bytes: usize,
}

impl Default for JsLimits {
    fn default() -> Self {
        JsLimits {
            heap_bytes: 64 << 20,
            // About a third of a second of JS on our machine (see "Metering").
            delivery_computrons: 5_000,
            // About 1,900 calls of a small function (a fixed 512 bytes per bytecode call, 256
            // per builtin, plus 16 per local and operand slot). Our build's native use per
            // such level is 1.2 to 1.8 times that (measured through plain calls, getters,
            // Reflect.apply and Array.prototype.map), so 16 MiB of native room leaves a
            // binary with frames several times larger still meeting this limit first.
            js_stack_bytes: 1 << 20,
            stack_bytes: 16 << 20,
        }
    }
}

/// Computron meter shared with the interrupt handler and the syscall bridge.
///
/// The schedule (docs/ARCHITECTURE.md, "Metering"): one computron is one interrupt tick,
/// about 10,000 JS branches; each syscall adds [`SYSCALL_MILLIS`] thousandths of one, and
/// each 4 bytes it carries (keys, values, capdata) one thousandth more. A delivery fails
/// once the sum passes its limit: by a tick (an uncatchable abort) or by a syscall (which
/// is refused, and the delivery fails too).
#[derive(Default)]
struct Meter {
    ticks: Cell<u64>,
    /// Syscall charges this delivery, in thousandths of a computron.
    millis: Cell<u64>,
    limit: Cell<u64>,
    exceeded: Cell<bool>,
}

/// A syscall's base charge, in thousandths of a computron (a kernel syscall costs a few µs).
pub const SYSCALL_MILLIS: u64 = 50;
/// Bytes carried per thousandth of a computron.
pub const BYTES_PER_MILLI: u64 = 4;

impl Meter {
    fn used(&self) -> u64 {
        self.ticks.get() + self.millis.get() / 1000
    }

    /// Charges one syscall carrying `bytes`; `false` once the limit is passed.
    fn charge_syscall(&self, bytes: usize) -> bool {
        let cost = SYSCALL_MILLIS + bytes as u64 / BYTES_PER_MILLI;
        self.millis.set(self.millis.get().saturating_add(cost));
        if self.used() > self.limit.get() {
            self.exceeded.set(true);
        }
        !self.exceeded.get()
    }
}

/// A vat running in QuickJS.
pub struct JsWorker {
    // Field order is drop order: JS handles before the context, the context before the
    // runtime (QuickJS aborts if a runtime is freed with live values).
    deliver_fn: Persistent<Function<'static>>,
    message_fn: Persistent<Function<'static>>,
    notify_fn: Persistent<Function<'static>>,
    outcome_fn: Persistent<Function<'static>>,
    failure_fn: Persistent<Function<'static>>,
    ctx: Context,
    rt: Runtime,
    bridge: Bridge,
    meter: Rc<Meter>,
    heap: Rc<HeapMeter>,
    /// The current delivery's console output.
    console: Rc<ConsoleBuffer>,
    limits: JsLimits,
    /// Replaying a transcript: no computron limit (see `VatWorker::set_replaying`).
    replaying: bool,
    /// The kernel's limit for live deliveries (`None`: `limits.delivery_computrons`).
    delivery_limit: Option<u64>,
    /// The native stack every call into JS runs on (declared after `rt`: dropped after it).
    stack: VatStack,
}

fn js_error(ctx: &Ctx<'_>, e: rquickjs::Error) -> String {
    match Err::<(), _>(e).catch(ctx) {
        Err(CaughtError::Exception(x)) => {
            let msg = x.message().unwrap_or_default();
            let name = x
                .as_object()
                .get::<_, String>("name")
                .unwrap_or_else(|_| "Error".into());
            format!("{name}: {msg}")
        }
        Err(CaughtError::Value(v)) => format!("thrown: {v:?}"),
        Err(CaughtError::Error(e)) => e.to_string(),
        Ok(()) => "unknown error".into(),
    }
}

impl JsWorker {
    /// Builds a runtime for `bundle`: liveslots set up, intrinsics frozen, vat code not yet
    /// loaded (that happens at `startVat`).
    pub fn new(
        bundle: &Bundle,
        limits: JsLimits,
        cache: BytecodeCache,
    ) -> Result<JsWorker, String> {
        JsWorker::with_modules(&VatModules::of_bundle(bundle), limits, cache)
    }

    /// Builds a runtime for these modules (see [`JsWorker::new`]).
    pub(crate) fn with_modules(
        vat: &VatModules,
        limits: JsLimits,
        cache: BytecodeCache,
    ) -> Result<JsWorker, String> {
        math::ensure_linked();
        let heap = Rc::new(HeapMeter::default());
        // Room for the engine and liveslots on top of the vat's own heap.
        heap.limit.set(limits.heap_bytes.saturating_add(8 << 20));
        let rt = Runtime::new_with_alloc(MeteredAlloc::new(heap.clone()))
            .map_err(|e| format!("cannot create a QuickJS runtime: {e}"))?;
        rt.set_max_stack_size(limits.stack_bytes);
        let stack = VatStack::new(limits.stack_bytes)?;
        rt.set_gc_threshold(usize::MAX);
        let meter = Rc::new(Meter::default());
        meter.limit.set(u64::MAX);
        let m = meter.clone();
        rt.set_interrupt_handler(Some(Box::new(move || {
            m.ticks.set(m.ticks.get() + 1);
            if m.exceeded.get() || m.used() > m.limit.get() {
                m.exceeded.set(true);
                true
            } else {
                false
            }
        })));
        let sources = Rc::new(Sources::new(vat));
        rt.set_loader(
            BundleResolver(sources.clone()),
            BundleLoader { sources, cache },
        );
        let ctx = Context::custom::<VatIntrinsics>(&rt)
            .map_err(|e| format!("cannot create a QuickJS context: {e}"))?;
        let bridge = Bridge::default();
        let b = bridge.clone();
        let sys_meter = meter.clone();
        let console = Rc::new(ConsoleBuffer::default());
        let (out, out_meter) = (console.clone(), meter.clone());
        let setup = stack.on_stack(|| {
            ctx.with(
                |ctx| -> Result<[Persistent<Function<'static>>; 5], String> {
                    stack::set_stack_top(&ctx);
                    stack::set_js_stack_limit(&ctx, limits.js_stack_bytes);
                    let sys =
                        syscall_function(&ctx, b, sys_meter).map_err(|e| js_error(&ctx, e))?;
                    let gc = Function::new(ctx.clone(), |ctx: Ctx<'_>| ctx.run_gc())
                        .map_err(|e| js_error(&ctx, e))?;
                    let g = ctx.globals();
                    g.set("__syscall", sys).map_err(|e| js_error(&ctx, e))?;
                    g.set("__gc", gc).map_err(|e| js_error(&ctx, e))?;
                    // Charged like a syscall carrying the line; past the meter the line is
                    // not kept and the delivery fails by its computron limit.
                    let con = Function::new(ctx.clone(), move |level: String, text: String| {
                        if out_meter.charge_syscall(level.len() + text.len()) {
                            out.write(&level, &text);
                        }
                    })
                    .map_err(|e| js_error(&ctx, e))?;
                    g.set("__console", con).map_err(|e| js_error(&ctx, e))?;
                    let instance = Module::import(&ctx, INSTANCE).map_err(|e| js_error(&ctx, e))?;
                    let ns: rquickjs::Object = instance.finish().map_err(|e| js_error(&ctx, e))?;
                    let export = |name: &str| -> Result<Persistent<Function<'static>>, String> {
                        let f: Function = ns.get(name).map_err(|e| js_error(&ctx, e))?;
                        Ok(Persistent::save(&ctx, f))
                    };
                    let fns = [
                        export("deliver")?,
                        export("deliverMessage")?,
                        export("deliverNotify")?,
                        export("outcome")?,
                        export("failure")?,
                    ];
                    ctx.eval::<(), _>(include_str!("../js/lockdown.js"))
                        .map_err(|e| format!("lockdown failed: {}", js_error(&ctx, e)))?;
                    Ok(fns)
                },
            )
        })?;
        let [deliver_fn, message_fn, notify_fn, outcome_fn, failure_fn] = setup;
        Ok(JsWorker {
            deliver_fn,
            message_fn,
            notify_fn,
            outcome_fn,
            failure_fn,
            ctx,
            rt,
            bridge,
            meter,
            heap,
            console,
            limits,
            replaying: false,
            delivery_limit: None,
            stack,
        })
    }

    /// Bytes the vat's heap holds now, as its allocator counts them (the figure its heap
    /// limit is checked against). Equal on every node after the same deliveries, whether
    /// the vat's modules were compiled here or came from the bytecode cache.
    pub fn heap_bytes(&self) -> usize {
        self.heap.used.get()
    }

    /// Runs promise jobs until none is left, the meter runs out, or a job fails.
    fn drain(&self) -> Result<(), String> {
        loop {
            if self.meter.exceeded.get() {
                return Ok(());
            }
            match self.rt.execute_pending_job() {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(job) => {
                    let msg = job.0.with(|ctx| {
                        let v = ctx.catch();
                        format!("{v:?}")
                    });
                    return Err(format!("a promise job failed: {msg}"));
                }
            }
        }
    }

    /// Starts a delivery: messages and single notifies (nearly every delivery) pass their
    /// fields as arguments, the rest as JSON.
    fn start(&self, delivery: &VatDelivery) -> Result<(), String> {
        self.ctx.with(|ctx| -> Result<(), String> {
            stack::set_stack_top(&ctx);
            let err = |e| js_error(&ctx, e);
            let restore = |f: &Persistent<Function<'static>>| f.clone().restore(&ctx).map_err(err);
            let strings = |items: &[String]| -> rquickjs::Result<rquickjs::Array<'_>> {
                let a = rquickjs::Array::new(ctx.clone())?;
                for (i, s) in items.iter().enumerate() {
                    a.set(i, s.as_str())?;
                }
                Ok(a)
            };
            match delivery {
                VatDelivery::Message {
                    target,
                    methargs,
                    result,
                } => {
                    let slots = strings(&methargs.slots).map_err(err)?;
                    let args = (
                        target.as_str(),
                        methargs.body.as_str(),
                        slots,
                        result.as_deref(),
                    );
                    restore(&self.message_fn)?.call::<_, ()>(args).map_err(err)
                }
                VatDelivery::Notify { resolutions } if resolutions.len() == 1 => {
                    let r = &resolutions[0];
                    let slots = strings(&r.data.slots).map_err(err)?;
                    let args = (r.vpid.as_str(), r.rejected, r.data.body.as_str(), slots);
                    restore(&self.notify_fn)?.call::<_, ()>(args).map_err(err)
                }
                _ => {
                    let json = serde_json::to_string(delivery).map_err(|e| e.to_string())?;
                    restore(&self.deliver_fn)?
                        .call::<_, ()>((json,))
                        .map_err(err)
                }
            }
        })
    }

    fn run(&self, delivery: &VatDelivery) -> Result<(), String> {
        self.start(delivery)?;
        self.drain()?;
        let status = self.call_js::<i32>(&self.outcome_fn)?;
        if status == OUTCOME_FAILED {
            return Err(self.call_js::<String>(&self.failure_fn)?);
        }
        if status != OUTCOME_DONE && matches!(delivery, VatDelivery::StartVat { .. }) {
            return Err(
                "buildRootObject did not settle (a vat cannot wait on other vats while starting)"
                    .into(),
            );
        }
        Ok(())
    }

    /// Calls one of the instance's exported functions without arguments.
    fn call_js<T: for<'js> rquickjs::FromJs<'js>>(
        &self,
        f: &Persistent<Function<'static>>,
    ) -> Result<T, String> {
        self.ctx.with(|ctx| {
            let f = f.clone().restore(&ctx).map_err(|e| js_error(&ctx, e))?;
            f.call::<_, T>(()).map_err(|e| js_error(&ctx, e))
        })
    }
}

/// The `__syscall` native function of a runtime.
fn syscall_function<'js>(
    ctx: &Ctx<'js>,
    bridge: Bridge,
    meter: Rc<Meter>,
) -> rquickjs::Result<Function<'js>> {
    Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, ty: Value<'js>, args: rquickjs::function::Rest<Value<'js>>| {
            syscall_from_js(&ctx, &bridge, &meter, ty, args.0)
        },
    )
}

/// One syscall from JS: its type and arguments in (see [`requests`]); its answer as a JS
/// value out (`undefined` when there is nothing to answer), or a thrown error for a
/// malformed or illegal one.
fn syscall_from_js<'js>(
    ctx: &Ctx<'js>,
    bridge: &Bridge,
    meter: &Meter,
    ty: Value<'js>,
    args: Vec<Value<'js>>,
) -> rquickjs::Result<Value<'js>> {
    let reply = match requests::read_request(ty, args) {
        Err(e) => Err(format!("malformed syscall: {e}")),
        // Over the limit, the syscall never reaches the kernel: the delivery has failed.
        Ok(sc) if !meter.charge_syscall(sc.carried_bytes()) => {
            Err("computron limit exceeded".to_string())
        }
        Ok(sc) => bridge.call(sc).map_err(|e| e.0),
    };
    match reply {
        Ok(SyscallReply::Done) => Ok(Value::new_undefined(ctx.clone())),
        Ok(SyscallReply::Value(v)) => v.into_js(ctx),
        Ok(SyscallReply::Data(d)) => {
            let json = serde_json::to_string(&d)
                .map_err(|e| Exception::throw_internal(ctx, &e.to_string()))?;
            ctx.json_parse(json)
        }
        Err(e) => Err(Exception::throw_message(ctx, &e)),
    }
}

impl VatWorker for JsWorker {
    fn set_replaying(&mut self, replaying: bool) {
        self.replaying = replaying;
    }

    fn set_delivery_limit(&mut self, computrons: Option<u64>) {
        self.delivery_limit = computrons;
    }

    fn deliver(
        &mut self,
        delivery: &VatDelivery,
        syscalls: &mut dyn SyscallHandler,
    ) -> DeliveryOutcome {
        self.meter.ticks.set(0);
        self.meter.millis.set(0);
        self.meter.exceeded.set(false);
        self.console.take();
        let limit = self
            .delivery_limit
            .unwrap_or(self.limits.delivery_computrons);
        self.meter
            .limit
            .set(if self.replaying { u64::MAX } else { limit });
        self.heap
            .limit
            .set(self.limits.heap_bytes.saturating_add(8 << 20));
        let bridge = self.bridge.clone();
        let result = self
            .stack
            .on_stack(|| bridge.with_handler(syscalls, || self.run(delivery)));
        let native_exhausted = self.ctx.with(|ctx| stack::take_native_exhausted(&ctx));
        self.meter.limit.set(u64::MAX);
        let computrons = 1 + self.meter.used();
        let resource_limit =
            self.meter.exceeded.get() || self.heap.exceeded.get() || native_exhausted;
        let status = if self.meter.exceeded.get() {
            Err(format!(
                "computron limit exceeded: the delivery ran past {limit} computrons"
            ))
        } else if self.heap.exceeded.get() {
            Err(format!(
                "memory limit exceeded: the vat heap would pass {} bytes",
                self.limits.heap_bytes
            ))
        } else if native_exhausted {
            Err(format!(
                "native stack exhausted: native recursion (nested data, proxies, bound \
                 functions) passed {} bytes",
                self.limits.stack_bytes
            ))
        } else {
            result
        };
        DeliveryOutcome {
            status,
            resource_limit,
            computrons,
            console: self.console.take(),
        }
    }
}
