//! The random chain traffic of a soak run: what a block carries, drawn from a seeded RNG
//! and from what the chain has answered so far (sequences, proposal ids, which vats live).
//!
//! Every node is sent the same blocks, so the workload only needs the answers of one node
//! (the first that ran the block); any other node answering differently is a divergence,
//! which the fleet catches by the app hash before the workload ever reads the answers.

use std::collections::BTreeMap;

use cosmrs::proto::cosmos::gov::v1::VoteOption;
use cosmrs::Any;
use k256::ecdsa::SigningKey;
use serde_json::{json, Value};
use tendermint_proto::v0_38::abci::ExecTxResult;
use vatchain_app::compose;
use vatchain_app::sign::{sign_tx_with_gas, SignerData};
use vatchain_kernel::worker::bundle::Bundle;

use super::figures::Figures;

/// The soak vat's source (`testnet/fixtures/soak`); versions differ by their version string.
const SOAK_SOURCE: &str = include_str!("../../fixtures/soak/main.js");
/// The demo counter (version 1), as genesis installs it on every chain.
const COUNTER_SOURCE: &str = include_str!("../../../app/demo/counter/main.js");
/// The software-upgrade plan this binary has a handler for.
pub const UPGRADE_PLAN: &str = "v3-remediation";
/// Block time step (seconds); governance's voting period is two blocks.
pub const BLOCK_SECS: u64 = 5;
const VOTING_PERIOD_SECS: u64 = 10;
const DEPOSIT: u128 = 1_000;

fn bundle(source: &str) -> Bundle {
    let mut modules = BTreeMap::new();
    modules.insert("main.js".to_string(), source.to_string());
    Bundle::new("main.js", modules).expect("the soak fixtures are valid bundles")
}

/// The soak vat at `version` (a new bundle id per version).
fn soak_bundle(version: u32) -> Bundle {
    bundle(&SOAK_SOURCE.replace("'soak-v1'", &format!("'soak-v{version}'")))
}

/// A soak vat that cannot be an upgrade of one: it does not redefine the durable kind
/// `Tally` (the kernel refuses the upgrade), or its `buildRootObject` throws.
fn broken_bundle(variant: u32) -> Bundle {
    if variant.is_multiple_of(2) {
        bundle(&format!(
            "import {{ Far }} from '@endo/far';\n// variant {variant}\n\
             export function buildRootObject() {{ return Far('soak', {{ version: () => 'forgetful' }}); }}\n"
        ))
    } else {
        bundle(&format!(
            "// variant {variant}\nexport function buildRootObject() {{ throw Error('soak refuses to start'); }}\n"
        ))
    }
}

struct Wallet {
    key: SigningKey,
    address: String,
    account_number: u64,
    sequence: u64,
}

/// What a tx was for, to learn from its result.
enum Intent {
    Plain,
    Submit(Proposal),
}

#[derive(Clone)]
enum Proposal {
    CreateVat(String),
    UpgradeVat {
        vat: String,
        good: bool,
    },
    SoftwareUpgrade,
    /// A new default reap interval (consensus state: BOYD's timing changes the app hash).
    ReapInterval(u64),
}

struct Open {
    id: u64,
    what: Proposal,
    /// Height at which its outcome is read (after the voting period).
    check_at: u64,
}

/// A tx of the block being built, and whose and what it is.
pub struct PlannedTx {
    pub bytes: Vec<u8>,
    wallet: usize,
    intent: Intent,
}

pub struct Workload {
    rng: fastrand::Rng,
    chain_id: String,
    /// Validators first (they vote), then plain users.
    wallets: Vec<Wallet>,
    validators: usize,
    /// Soak vats that run (genesis and governance-created ones).
    vats: Vec<String>,
    /// Vats that quit: sends to them must fail, and keep failing, on every node.
    gone: Vec<String>,
    /// Bundles installed (or on their way): good soak versions and broken ones.
    good: Vec<String>,
    broken: Vec<String>,
    next_version: u32,
    next_vat: u32,
    open: Vec<Open>,
    votes_due: Vec<u64>,
    /// The software-upgrade plan's height, once proposed.
    plan: Option<u64>,
    /// Ids of software-upgrade proposals (never voted against).
    upgrade_vote: Vec<u64>,
    upgrade_after: u64,
}

impl Workload {
    /// A workload for `validators` validator keys and two plain users, from `seed`.
    /// With `software_upgrade`, the chain starts on the old binary and a governance plan
    /// for [`UPGRADE_PLAN`] comes in the run's middle third.
    pub fn new(seed: u64, validators: usize, blocks: u64, software_upgrade: bool) -> Workload {
        let wallets = (0..validators + 2)
            .map(|i| {
                let key = SigningKey::from_slice(&[u8::try_from(i + 1).unwrap_or(1); 32])
                    .expect("a valid secp256k1 key");
                Wallet {
                    address: vatchain_app::address_of(key.verifying_key()),
                    key,
                    account_number: i as u64,
                    sequence: 0,
                }
            })
            .collect();
        Workload {
            rng: fastrand::Rng::with_seed(seed),
            chain_id: "vatchain-soak".into(),
            wallets,
            validators,
            vats: vec!["soak-a".into(), "soak-b".into()],
            gone: Vec::new(),
            good: vec![soak_bundle(1).id()],
            broken: Vec::new(),
            next_version: 2,
            next_vat: 0,
            open: Vec::new(),
            votes_due: Vec::new(),
            plan: None,
            upgrade_vote: Vec::new(),
            // The one software upgrade comes in the run's middle third.
            upgrade_after: if software_upgrade {
                (blocks / 3).max(8)
            } else {
                u64::MAX
            },
        }
    }

    /// The height of the software-upgrade plan, once proposed.
    pub fn plan_height(&self) -> Option<u64> {
        self.plan
    }

    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// Genesis: every wallet funded, the validators' governance power, the demo counter
    /// and two soak vats, voting over two blocks.
    pub fn genesis(&self) -> Value {
        let bundle_json = |b: &Bundle| -> Value {
            serde_json::from_slice(&b.canonical_bytes()).expect("bundle JSON")
        };
        let soak = bundle_json(&soak_bundle(1));
        json!({
            "params": {"gov": {
                "voting_period_secs": VOTING_PERIOD_SECS,
                "max_deposit_period_secs": VOTING_PERIOD_SECS,
                "min_deposit": DEPOSIT.to_string(),
            }},
            "accounts": self.wallets.iter().map(|w| json!({
                "address": w.address, "balance": "1000000000000"})).collect::<Vec<_>>(),
            "validators": self.wallets[..self.validators].iter().map(|w| json!({
                "address": w.address, "power": 10})).collect::<Vec<_>>(),
            "vats": [
                {"name": "counter", "bundle": bundle_json(&bundle(COUNTER_SOURCE))},
                {"name": "soak-a", "bundle": soak.clone(), "parameters": {"name": "soak-a"}},
                {"name": "soak-b", "bundle": soak, "parameters": {"name": "soak-b"}},
            ],
        })
    }

    fn sign(&mut self, wallet: usize, msgs: Vec<Any>, intent: Intent) -> PlannedTx {
        self.sign_with_gas(wallet, msgs, intent, None)
    }

    /// Signs with `gas` declared (`None`: the estimate, which leaves a delivery little
    /// room for work).
    fn sign_with_gas(
        &mut self,
        wallet: usize,
        msgs: Vec<Any>,
        intent: Intent,
        gas: Option<u64>,
    ) -> PlannedTx {
        let w = &mut self.wallets[wallet];
        let bytes = sign_tx_with_gas(
            &SignerData {
                key: &w.key,
                chain_id: &self.chain_id,
                account_number: w.account_number,
                sequence: w.sequence,
            },
            msgs,
            "",
            gas,
        );
        // Counted now so that a wallet's second tx in a block carries the next sequence;
        // corrected from the account after the block if the tx did not take it.
        w.sequence += 1;
        PlannedTx {
            bytes,
            wallet,
            intent,
        }
    }

    fn user(&mut self) -> usize {
        self.rng.usize(self.validators..self.wallets.len())
    }

    fn deliver(&mut self, target: &str, method: &str, args: &str) -> PlannedTx {
        let u = self.user();
        let addr = self.wallets[u].address.clone();
        let msg = compose::deliver(&addr, target, method, args);
        self.sign(u, vec![msg], Intent::Plain)
    }

    fn submit(&mut self, what: Proposal) -> PlannedTx {
        let content = match &what {
            Proposal::CreateVat(name) => {
                let id = self.good[self.rng.usize(..self.good.len())].clone();
                compose::create_vat(name, &id, &json!({"name": name}).to_string())
            }
            Proposal::UpgradeVat { vat, good } => {
                let pool = if *good { &self.good } else { &self.broken };
                let id = pool[self.rng.usize(..pool.len())].clone();
                compose::upgrade_vat(vat, &id, &json!({"name": vat}).to_string(), "soak")
            }
            Proposal::SoftwareUpgrade => {
                compose::software_upgrade(UPGRADE_PLAN, self.plan.unwrap_or(0), "soak run")
            }
            Proposal::ReapInterval(n) => {
                compose::update_params(&json!({ "default_reap_interval": n }).to_string())
            }
        };
        let v = self.rng.usize(..self.validators);
        let addr = self.wallets[v].address.clone();
        let msg = compose::submit_proposal(&addr, vec![content], DEPOSIT, "uvat", "soak", "");
        self.sign(v, vec![msg], Intent::Submit(what))
    }

    fn install(&mut self, good: bool) -> PlannedTx {
        let b = if good {
            self.next_version += 1;
            soak_bundle(self.next_version)
        } else {
            self.next_version += 1;
            broken_bundle(self.next_version)
        };
        let id = b.id();
        if good {
            self.good.push(id);
        } else {
            self.broken.push(id);
        }
        let u = self.user();
        let addr = self.wallets[u].address.clone();
        let msg = compose::install_bundle(&addr, &b.canonical_bytes(), self.rng.bool());
        self.sign(u, vec![msg], Intent::Plain)
    }

    /// The txs of block `height`.
    pub fn block(&mut self, height: u64, f: &mut Figures) -> Vec<PlannedTx> {
        let mut txs = Vec::new();
        // Votes on what was proposed in the last block: usually all yes; sometimes a
        // majority against, so that governance fails proposals too.
        for id in std::mem::take(&mut self.votes_due) {
            // The software upgrade is always voted through: a run has one, and the short
            // test counts on it.
            let against = self.rng.u8(..10) == 0 && !self.upgrade_vote.contains(&id);
            for v in 0..self.validators {
                let option = if against && v * 2 < self.validators + 1 {
                    VoteOption::No
                } else {
                    VoteOption::Yes
                };
                let addr = self.wallets[v].address.clone();
                txs.push(self.sign(v, vec![compose::vote(&addr, id, option)], Intent::Plain));
            }
        }
        if self.plan.is_none() && height >= self.upgrade_after {
            self.plan = Some(height + 8);
            txs.push(self.submit(Proposal::SoftwareUpgrade));
        }
        for _ in 0..self.rng.usize(0..5) {
            let tx = match self.rng.u8(..100) {
                0..=19 => {
                    let by = self.rng.u16(1..50).to_string();
                    self.deliver("counter", "increment", &format!("[{by}]"))
                }
                20..=49 => {
                    let vat = self.vats[self.rng.usize(..self.vats.len())].clone();
                    let (m, a) = match self.rng.u8(..6) {
                        0 => ("add", format!("[{}]", self.rng.u16(1..100))),
                        1 => ("bump", "[]".into()),
                        2 => ("note", format!("[\"n{}\"]", self.rng.u32(..))),
                        3 => ("read", "[]".into()),
                        4 => ("fail", "[]".into()),
                        _ => ("spin", format!("[{}]", self.rng.u32(100..20_000))),
                    };
                    self.deliver(&vat, m, &a)
                }
                // Work past the per-delivery limit, and past the block's budget.
                50..=53 => {
                    let u = self.user();
                    let addr = self.wallets[u].address.clone();
                    let k = self.rng.usize(1..4);
                    let msgs = (0..k)
                        .map(|_| {
                            f.heavy_deliveries += 1;
                            let vat = &self.vats[self.rng.usize(..self.vats.len())];
                            let n = self.rng.u32(2_000_000..20_000_000);
                            compose::deliver(&addr, vat, "spin", &format!("[{n}]"))
                        })
                        .collect();
                    // Gas for the whole per-delivery limit each (2,500 computrons at 100
                    // gas): a few of these pass the block's 5,000-computron budget.
                    self.sign_with_gas(u, msgs, Intent::Plain, Some(300_000 * k as u64))
                }
                58..=62 if !self.gone.is_empty() => {
                    let vat = self.gone[self.rng.usize(..self.gone.len())].clone();
                    self.deliver(&vat, "read", "[]")
                }
                63..=70 => {
                    let good = self.rng.u8(..3) != 0;
                    self.install(good)
                }
                71..=76 => {
                    self.next_vat += 1;
                    let name = format!("dyn-{}", self.next_vat);
                    self.submit(Proposal::CreateVat(name))
                }
                77..=84 => {
                    let vat = self.vats[self.rng.usize(..self.vats.len())].clone();
                    let good = self.broken.is_empty() || self.rng.u8(..3) != 0;
                    self.submit(Proposal::UpgradeVat { vat, good })
                }
                // Governance moves the reap interval (often short: many BOYDs).
                54..=55 => {
                    let n = [2, 5, 20, 1000][self.rng.usize(..4)];
                    self.submit(Proposal::ReapInterval(n))
                }
                // A governance-created vat ends itself.
                85..=88 => match self.vats.iter().position(|v| v.starts_with("dyn-")) {
                    Some(i) => {
                        let vat = self.vats.remove(i);
                        self.gone.push(vat.clone());
                        f.vats_terminated += 1;
                        self.deliver(&vat, "quit", "[]")
                    }
                    None => self.deliver("counter", "read", "[]"),
                },
                // Bad input: a tx that does not decode.
                89..=91 => PlannedTx {
                    bytes: vec![0xde, 0xad, self.rng.u8(..)],
                    wallet: usize::MAX,
                    intent: Intent::Plain,
                },
                _ => self.deliver("counter", "read", "[]"),
            };
            txs.push(tx);
        }
        f.txs += txs.len() as u64;
        txs
    }

    /// Learns from block `height`'s results (of the first node that ran it); `query`
    /// asks that node.
    pub fn observe(
        &mut self,
        height: u64,
        txs: Vec<PlannedTx>,
        results: &[ExecTxResult],
        query: &mut dyn FnMut(&str) -> anyhow::Result<Value>,
        f: &mut Figures,
    ) -> anyhow::Result<()> {
        let mut resync = Vec::new();
        for (tx, r) in txs.into_iter().zip(results) {
            if r.code == 0 {
                f.txs_ok += 1;
            } else {
                f.txs_failed += 1;
                if tx.wallet != usize::MAX {
                    resync.push(tx.wallet);
                }
                if matches!(tx.intent, Intent::Submit(Proposal::SoftwareUpgrade)) {
                    // The plan was never proposed: propose it again soon.
                    self.plan = None;
                    self.upgrade_after = height + 2;
                }
                continue;
            }
            if let Intent::Submit(what) = tx.intent {
                let id = r
                    .events
                    .iter()
                    .filter(|e| e.r#type == "submit_proposal")
                    .flat_map(|e| &e.attributes)
                    .find(|a| a.key == "proposal_id")
                    .and_then(|a| a.value.parse().ok());
                if let Some(id) = id {
                    if matches!(what, Proposal::SoftwareUpgrade) {
                        self.upgrade_vote.push(id);
                    }
                    self.votes_due.push(id);
                    self.open.push(Open {
                        id,
                        what,
                        check_at: height + 4,
                    });
                }
            }
        }
        resync.sort_unstable();
        resync.dedup();
        for w in resync {
            let addr = self.wallets[w].address.clone();
            let a = query(&format!("/account/{addr}"))?;
            self.wallets[w].sequence = a["sequence"].as_u64().unwrap_or(0);
        }
        let (due, later): (Vec<Open>, Vec<Open>) = std::mem::take(&mut self.open)
            .into_iter()
            .partition(|o| o.check_at <= height);
        self.open = later;
        for o in due {
            let p = query(&format!("/proposal/{}", o.id))?;
            let passed = p["status"] == "PROPOSAL_STATUS_PASSED";
            match o.what {
                Proposal::CreateVat(name) if passed => {
                    f.vats_created += 1;
                    self.vats.push(name);
                }
                Proposal::CreateVat(_) => f.proposals_failed += 1,
                Proposal::UpgradeVat { good, vat } => {
                    if passed {
                        f.vat_upgrades += 1;
                        if !good {
                            anyhow::bail!("an upgrade of {vat} to a broken bundle passed: {p}");
                        }
                    } else {
                        f.vat_upgrades_failed += 1;
                    }
                }
                Proposal::ReapInterval(_) if passed => f.params_changes += 1,
                Proposal::ReapInterval(_) => f.proposals_failed += 1,
                Proposal::SoftwareUpgrade if passed => {}
                Proposal::SoftwareUpgrade => {
                    // Voted down: propose it again later.
                    self.plan = None;
                    self.upgrade_after = height + 5;
                }
            }
        }
        if let Some(plan) = self.plan {
            if height == plan + 1 {
                let done = query(&format!("/upgrade/done/{UPGRADE_PLAN}"))?;
                if done.as_u64() == Some(plan) {
                    f.software_upgrades += 1;
                } else {
                    anyhow::bail!("the software upgrade planned for {plan} did not run: {done}");
                }
            }
        }
        Ok(())
    }
}
