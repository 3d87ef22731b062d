//! Governance, after Cosmos SDK x/gov v1: proposals carrying messages, deposits, votes
//! weighted by validator power, and the tally at the end of the voting period. A passed
//! proposal's messages execute in order, all or nothing (`crate::modules::swingset::exec`).
//!
//! Times are block times in seconds (consensus data, the same on every node).
//!
//! Open proposals wait in two queues keyed by the time their period ends (as x/gov's
//! `ActiveProposalQueue` and `InactiveProposalQueue`): `gov/dq/<end>/<id>` in the deposit
//! period, `gov/vq/<end>/<id>` in the voting period. End-of-block work reads only the
//! entries whose time has come, so it does not grow with the number of open proposals.

use cosmrs::proto::cosmos::gov::v1::VoteOption;
use cosmrs::Any;
use serde::{Deserialize, Serialize};
use vatchain_kernel::store::{Cf, Store};
use vatchain_kernel::Kernel;

use crate::host;
use crate::host::events::AppEvent;
use crate::host::params::{parse_amount, parse_fraction, GovParams};
use crate::modules::auth::accounts;
use crate::modules::swingset::exec;

pub const STATUS_DEPOSIT: &str = "PROPOSAL_STATUS_DEPOSIT_PERIOD";
pub const STATUS_VOTING: &str = "PROPOSAL_STATUS_VOTING_PERIOD";
pub const STATUS_PASSED: &str = "PROPOSAL_STATUS_PASSED";
pub const STATUS_REJECTED: &str = "PROPOSAL_STATUS_REJECTED";
pub const STATUS_FAILED: &str = "PROPOSAL_STATUS_FAILED";

/// A message as the proposal carries it (re-decoded when it executes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredMsg {
    pub type_url: String,
    /// The message's protobuf bytes, hex.
    pub value: String,
}

impl StoredMsg {
    pub fn to_any(&self) -> Any {
        Any {
            type_url: self.type_url.clone(),
            value: hex::decode(&self.value).unwrap_or_default(),
        }
    }
}

/// Voting power per option (u128: sums of u64 powers cannot overflow it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tally {
    pub yes: u128,
    pub abstain: u128,
    pub no: u128,
    pub no_with_veto: u128,
}

/// A proposal (`gov/p/<id>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proposal {
    pub id: u64,
    pub proposer: String,
    pub title: String,
    pub summary: String,
    pub messages: Vec<StoredMsg>,
    pub status: String,
    pub submit_time: u64,
    pub deposit_end_time: u64,
    pub voting_start_time: Option<u64>,
    pub voting_end_time: Option<u64>,
    /// Deposits by depositor, in order of first deposit.
    pub deposits: Vec<(String, String)>,
    pub total_deposit: String,
    pub final_tally: Option<Tally>,
    /// Why it ended as it did: each executed message's result, or the failure.
    pub outcome: Vec<String>,
}

fn key(id: u64) -> String {
    format!("gov/p/{id:020}")
}

fn vote_prefix(id: u64) -> String {
    format!("gov/v/{id:020}/")
}

pub fn get(store: &Store, id: u64) -> Option<Proposal> {
    host::get(store, &key(id))
}

fn put(store: &mut Store, p: &Proposal) {
    host::put(store, &key(p.id), p);
}

const DEPOSIT_QUEUE: &str = "gov/dq/";
const VOTING_QUEUE: &str = "gov/vq/";

fn queue_key(queue: &str, end: u64, id: u64) -> String {
    format!("{queue}{end:020}/{id:020}")
}

/// Where `p` waits for its current period to end, if it is open.
fn queue_entry(p: &Proposal) -> Option<String> {
    match (p.status.as_str(), p.voting_end_time) {
        (STATUS_DEPOSIT, _) => Some(queue_key(DEPOSIT_QUEUE, p.deposit_end_time, p.id)),
        (STATUS_VOTING, Some(end)) => Some(queue_key(VOTING_QUEUE, end, p.id)),
        _ => None,
    }
}

/// The ids in `queue` whose period ended by `now`, in (end time, id) order.
fn ended(store: &Store, queue: &str, now: u64) -> Vec<u64> {
    // Keys up to `<now>/` and all its ids: the bound is the next second's prefix.
    let end = queue_key(queue, now.saturating_add(1), 0);
    store
        .range(Cf::Host, queue.as_bytes(), Some(end.as_bytes()))
        .into_iter()
        .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
        .collect()
}

fn min_deposit(params: &GovParams) -> u128 {
    parse_amount(&params.min_deposit).unwrap_or(0)
}

/// What a new proposal must bring: `min_initial_deposit_ratio` of the minimum deposit
/// (the ratio in ppb; rounded up, so that a ratio above zero never asks for nothing).
fn min_initial_deposit(params: &GovParams) -> u128 {
    let ratio = u128::from(parse_fraction(&params.min_initial_deposit_ratio).unwrap_or(0));
    (min_deposit(params) * ratio).div_ceil(1_000_000_000)
}

impl Proposal {
    fn total(&self) -> u128 {
        self.total_deposit.parse().unwrap_or(0)
    }

    fn add_deposit(&mut self, who: &str, amount: u128) {
        match self.deposits.iter_mut().find(|(d, _)| d == who) {
            Some((_, a)) => {
                *a = a
                    .parse::<u128>()
                    .unwrap_or(0)
                    .saturating_add(amount)
                    .to_string()
            }
            None => self.deposits.push((who.to_string(), amount.to_string())),
        }
        self.total_deposit = self.total().saturating_add(amount).to_string();
    }

    /// Enters the voting period if the deposit reached the minimum.
    fn maybe_start_voting(&mut self, params: &GovParams, now: u64) -> bool {
        if self.status == STATUS_DEPOSIT && self.total() >= min_deposit(params) {
            self.status = STATUS_VOTING.into();
            self.voting_start_time = Some(now);
            self.voting_end_time = Some(now.saturating_add(params.voting_period_secs));
            return true;
        }
        false
    }
}

/// What a `MsgSubmitProposal` asks for.
pub struct NewProposal<'a> {
    pub proposer: &'a str,
    /// The messages as sent (already checked; re-decoded when they execute).
    pub messages: &'a [Any],
    pub deposit: u128,
    pub title: &'a str,
    pub summary: &'a str,
}

/// Records a new proposal and escrows the deposit.
pub fn submit(
    store: &mut Store,
    params: &GovParams,
    now: u64,
    new: NewProposal<'_>,
) -> Result<u64, String> {
    let NewProposal {
        proposer,
        messages,
        deposit,
        title,
        summary,
    } = new;
    let initial = min_initial_deposit(params);
    if deposit < initial {
        return Err(format!(
            "an initial deposit of {deposit} is too small: a proposal must bring at least \
             {initial} ({} of the minimum deposit {})",
            params.min_initial_deposit_ratio, params.min_deposit
        ));
    }
    accounts::debit(store, proposer, deposit)?;
    let id: u64 = host::get(store, "gov/next").unwrap_or(1);
    host::put(store, "gov/next", &(id + 1));
    let mut p = Proposal {
        id,
        proposer: proposer.to_string(),
        title: title.to_string(),
        summary: summary.to_string(),
        messages: messages
            .iter()
            .map(|a| StoredMsg {
                type_url: a.type_url.clone(),
                value: hex::encode(&a.value),
            })
            .collect(),
        status: STATUS_DEPOSIT.into(),
        submit_time: now,
        deposit_end_time: now.saturating_add(params.max_deposit_period_secs),
        voting_start_time: None,
        voting_end_time: None,
        deposits: Vec::new(),
        total_deposit: "0".into(),
        final_tally: None,
        outcome: Vec::new(),
    };
    if deposit > 0 {
        p.add_deposit(proposer, deposit);
    }
    p.maybe_start_voting(params, now);
    put(store, &p);
    if let Some(q) = queue_entry(&p) {
        host::put(store, &q, &id);
    }
    Ok(id)
}

/// Adds a deposit to a proposal still in its deposit or voting period.
pub fn deposit(
    store: &mut Store,
    params: &GovParams,
    now: u64,
    id: u64,
    depositor: &str,
    amount: u128,
) -> Result<(), String> {
    let mut p = get(store, id).ok_or_else(|| format!("proposal {id} does not exist"))?;
    if p.status != STATUS_DEPOSIT && p.status != STATUS_VOTING {
        return Err(format!("proposal {id} is closed ({})", p.status));
    }
    accounts::debit(store, depositor, amount)?;
    p.add_deposit(depositor, amount);
    let waiting = queue_entry(&p);
    if p.maybe_start_voting(params, now) {
        // From the deposit queue to the voting queue.
        if let Some(q) = waiting {
            host::delete(store, &q);
        }
        if let Some(q) = queue_entry(&p) {
            host::put(store, &q, &id);
        }
    }
    put(store, &p);
    Ok(())
}

/// Records (or replaces) `voter`'s vote; only accounts bound to a validator vote.
pub fn vote(store: &mut Store, id: u64, voter: &str, option: VoteOption) -> Result<(), String> {
    let p = get(store, id).ok_or_else(|| format!("proposal {id} does not exist"))?;
    if p.status != STATUS_VOTING {
        return Err(format!(
            "proposal {id} is not in its voting period ({})",
            p.status
        ));
    }
    if host::get::<u64>(store, &format!("val/{voter}")).is_none() {
        return Err(format!(
            "{voter} is not bound to a validator and cannot vote"
        ));
    }
    host::put(
        store,
        &format!("{}{voter}", vote_prefix(id)),
        &(option as i32),
    );
    Ok(())
}

/// Sums the votes of proposal `id` by the voters' validator power; returns the tally and
/// the total power of all validators.
pub fn tally(store: &Store, id: u64) -> (Tally, u128) {
    let total: u128 = host::scan::<u64>(store, "val/")
        .iter()
        .map(|(_, p)| u128::from(*p))
        .sum();
    let mut t = Tally::default();
    let prefix = vote_prefix(id);
    for (k, option) in host::scan::<i32>(store, &prefix) {
        let voter = &k[prefix.len()..];
        let power = u128::from(host::get::<u64>(store, &format!("val/{voter}")).unwrap_or(0));
        match VoteOption::try_from(option) {
            Ok(VoteOption::Yes) => t.yes += power,
            Ok(VoteOption::Abstain) => t.abstain += power,
            Ok(VoteOption::No) => t.no += power,
            Ok(VoteOption::NoWithVeto) => t.no_with_veto += power,
            _ => {}
        }
    }
    (t, total)
}

/// What the tally decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Passes,
    /// Rejected; deposits are refunded.
    Rejected(&'static str),
    /// Rejected by veto; deposits are burned.
    Vetoed,
}

/// Cosmos SDK x/gov's rules: quorum of all power, then veto of the power that voted, then
/// threshold of the non-abstaining power. Exact integer arithmetic (fractions in ppb).
pub fn decide(t: &Tally, total: u128, params: &GovParams) -> Verdict {
    // Powers are sums of u64s (< 2^70 for any realistic validator count) and fractions
    // are ≤ 10^9 < 2^30, so the products fit in u128.
    const ONE: u128 = 1_000_000_000;
    let frac = |s: &str| u128::from(parse_fraction(s).unwrap_or(0));
    let voted = t.yes + t.abstain + t.no + t.no_with_veto;
    if total == 0 || voted * ONE < total * frac(&params.quorum) {
        return Verdict::Rejected("quorum not reached");
    }
    let non_abstain = voted - t.abstain;
    if non_abstain == 0 {
        return Verdict::Rejected("every vote abstained");
    }
    if t.no_with_veto * ONE > voted * frac(&params.veto_threshold) {
        return Verdict::Vetoed;
    }
    if t.yes * ONE > non_abstain * frac(&params.threshold) {
        Verdict::Passes
    } else {
        Verdict::Rejected("threshold not reached")
    }
}

fn refund(store: &mut Store, p: &Proposal) {
    for (who, amount) in &p.deposits {
        accounts::credit(store, who, amount.parse().unwrap_or(0));
    }
}

/// End-of-block governance for block `height` at time `now`: ends deposit and voting
/// periods that are over, tallies, and executes what passed (`exec::execute_proposal`;
/// `handlers` are this binary's software-upgrade handlers).
pub fn end_block(
    kernel: &mut Kernel,
    params: &GovParams,
    now: u64,
    height: u64,
    handlers: &[crate::modules::upgrade::Handler],
) -> Vec<AppEvent> {
    let mut events = Vec::new();
    let mut due: Vec<u64> = ended(kernel.store(), DEPOSIT_QUEUE, now);
    due.extend(ended(kernel.store(), VOTING_QUEUE, now));
    for id in due {
        let Some(mut p) = get(kernel.store_mut(), id) else {
            continue;
        };
        let ended_deposit = p.status == STATUS_DEPOSIT;
        if let Some(q) = queue_entry(&p) {
            let store = kernel.store_mut();
            host::delete(store, &q);
            store.commit_crank();
        }
        if ended_deposit {
            // As in Cosmos: a proposal that never reached the minimum deposit is deleted
            // (it would otherwise be free, permanent storage) and its deposits are burned.
            let store = kernel.store_mut();
            host::delete(store, &key(id));
            store.commit_crank();
            events.push(AppEvent::new(
                "inactive_proposal",
                [
                    ("proposal_id", id.to_string()),
                    ("proposal_result", "proposal_dropped".to_string()),
                ],
            ));
            continue;
        } else {
            let (t, total) = tally(kernel.store_mut(), id);
            let verdict = decide(&t, total, params);
            p.final_tally = Some(t);
            match verdict {
                Verdict::Passes => {
                    refund(kernel.store_mut(), &p);
                    let messages: Vec<Any> = p.messages.iter().map(StoredMsg::to_any).collect();
                    kernel.store_mut().commit_crank();
                    match exec::execute_proposal(kernel, &messages, height, handlers) {
                        Ok(lines) => {
                            p.status = STATUS_PASSED.into();
                            p.outcome = lines;
                        }
                        Err(why) => {
                            p.status = STATUS_FAILED.into();
                            p.outcome = vec![why];
                        }
                    }
                }
                Verdict::Rejected(why) => {
                    refund(kernel.store_mut(), &p);
                    p.status = STATUS_REJECTED.into();
                    p.outcome = vec![why.to_string()];
                }
                Verdict::Vetoed => {
                    p.status = STATUS_REJECTED.into();
                    p.outcome = vec!["vetoed: deposits burned".into()];
                }
            }
        }
        let store = kernel.store_mut();
        put(store, &p);
        store.commit_crank();
        events.push(AppEvent::new(
            "proposal_ended",
            [
                ("proposal_id", id.to_string()),
                ("status", p.status.clone()),
                ("outcome", p.outcome.join("; ")),
            ],
        ));
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use vatchain_kernel::worker::RawWorkers;
    use vatchain_kernel::KernelConfig;

    /// Store work of an end of block that ends no proposal, with `open` proposals open.
    fn idle_end_block_work(open: u64) -> vatchain_kernel::IoStats {
        let mut k = Kernel::new(
            Store::in_memory(),
            Box::new(RawWorkers::new()),
            KernelConfig::default(),
        )
        .expect("kernel");
        let params = GovParams {
            min_deposit: "100".into(),
            ..GovParams::default()
        };
        let store = k.store_mut();
        accounts::create(store, "vat1proposer", 1_000_000_000);
        for i in 0..open {
            let new = NewProposal {
                proposer: "vat1proposer",
                messages: &[],
                // Half wait for deposits, half are voting.
                deposit: if i % 2 == 0 { 25 } else { 100 },
                title: "t",
                summary: "",
            };
            submit(store, &params, 1_000 + i, new).expect("submit");
        }
        store.commit_crank();
        let before = k.store().io_stats();
        let events = end_block(&mut k, &params, 2_000, 10, &[]);
        assert!(events.is_empty());
        k.store().io_stats().since(&before)
    }

    #[test]
    fn an_end_of_block_reads_only_the_proposals_whose_period_ends() {
        assert_eq!(idle_end_block_work(10), idle_end_block_work(1_000));
    }

    fn t(yes: u128, abstain: u128, no: u128, veto: u128) -> Tally {
        Tally {
            yes,
            abstain,
            no,
            no_with_veto: veto,
        }
    }

    #[test]
    fn tally_follows_cosmos_rules() {
        let p = GovParams::default();
        // Quorum: 0.334 of all power must vote (exactly at the quorum counts).
        assert_eq!(
            decide(&t(333, 0, 0, 0), 1000, &p),
            Verdict::Rejected("quorum not reached")
        );
        assert_eq!(decide(&t(334, 0, 0, 0), 1000, &p), Verdict::Passes);
        // Threshold: more than half of the non-abstaining power; a tie fails.
        assert_eq!(
            decide(&t(300, 0, 300, 0), 1000, &p),
            Verdict::Rejected("threshold not reached")
        );
        assert_eq!(decide(&t(301, 400, 300, 0), 1000, &p), Verdict::Passes);
        // Veto: more than 0.334 of the power that voted, whatever the yes votes.
        assert_eq!(decide(&t(600, 0, 0, 335), 1000, &p), Verdict::Vetoed);
        assert_eq!(decide(&t(666, 0, 0, 334), 1000, &p), Verdict::Passes);
        assert_eq!(
            decide(&t(0, 500, 0, 0), 1000, &p),
            Verdict::Rejected("every vote abstained")
        );
        assert_eq!(
            decide(&t(0, 0, 0, 0), 0, &p),
            Verdict::Rejected("quorum not reached")
        );
    }
}
