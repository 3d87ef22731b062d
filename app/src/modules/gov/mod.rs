//! Governance, after Cosmos SDK x/gov v1: proposals carrying messages, deposits, votes
//! weighted by validator power, and the tally at the end of the voting period.
//!
//! gov decides; it never executes. [`close`] returns a passed proposal to the chain, which
//! runs its messages (through `swingset`, all or nothing) and hands the outcome back to
//! [`record_outcome`].
//!
//! Times are block times in seconds (consensus data, the same on every node). Open
//! proposals wait in two queues keyed by the time their period ends (see [`keys`]):
//! end-of-block work reads only the entries whose time has come, so it does not grow with
//! the number of open proposals.

pub mod keys;

use std::fmt;

use cosmrs::proto::cosmos::gov::v1::VoteOption;
use cosmrs::Any;
use serde::{Deserialize, Serialize};

use crate::host::amount::{Amount, Fraction};
use crate::host::events::AppEvent;
use crate::host::params::GovParams;
use crate::host::{self, HostRead, HostStore};
use crate::modules::auth::accounts::{self, FundsError};

/// Where a proposal stands (x/gov's `ProposalStatus`, written with its names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProposalStatus {
    #[serde(rename = "PROPOSAL_STATUS_DEPOSIT_PERIOD")]
    DepositPeriod,
    #[serde(rename = "PROPOSAL_STATUS_VOTING_PERIOD")]
    VotingPeriod,
    #[serde(rename = "PROPOSAL_STATUS_PASSED")]
    Passed,
    #[serde(rename = "PROPOSAL_STATUS_REJECTED")]
    Rejected,
    /// Passed, but a message failed when it executed (nothing of it was applied).
    #[serde(rename = "PROPOSAL_STATUS_FAILED")]
    Failed,
}

impl ProposalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalStatus::DepositPeriod => "PROPOSAL_STATUS_DEPOSIT_PERIOD",
            ProposalStatus::VotingPeriod => "PROPOSAL_STATUS_VOTING_PERIOD",
            ProposalStatus::Passed => "PROPOSAL_STATUS_PASSED",
            ProposalStatus::Rejected => "PROPOSAL_STATUS_REJECTED",
            ProposalStatus::Failed => "PROPOSAL_STATUS_FAILED",
        }
    }
}

impl fmt::Display for ProposalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a governance message fails (a tx fault: the message fails with it).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GovError {
    #[error("proposal {0} does not exist")]
    NoProposal(u64),
    #[error("proposal {id} is closed ({status})")]
    Closed { id: u64, status: ProposalStatus },
    #[error("proposal {id} is not in its voting period ({status})")]
    NotVoting { id: u64, status: ProposalStatus },
    #[error("{0} is not bound to a validator and cannot vote")]
    NotAValidator(String),
    #[error(
        "an initial deposit of {deposit} is too small: a proposal must bring at least \
         {needed} ({ratio} of the minimum deposit {min_deposit})"
    )]
    InitialDeposit {
        deposit: Amount,
        needed: Amount,
        ratio: Fraction,
        min_deposit: Amount,
    },
    #[error(transparent)]
    Funds(#[from] FundsError),
}

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
            // Only `submit` writes these, from bytes: anything else is a damaged DB.
            value: hex::decode(&self.value).expect("a stored proposal message is hex"),
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
    pub status: ProposalStatus,
    pub submit_time: u64,
    pub deposit_end_time: u64,
    pub voting_start_time: Option<u64>,
    pub voting_end_time: Option<u64>,
    /// Deposits by depositor, in order of first deposit.
    pub deposits: Vec<(String, Amount)>,
    pub total_deposit: Amount,
    pub final_tally: Option<Tally>,
    /// Why it ended as it did: each executed message's result, or the failure.
    pub outcome: Vec<String>,
}

pub fn get(h: &impl HostRead, id: u64) -> Option<Proposal> {
    host::get(h, &keys::proposal(id))
}

/// The `n` newest proposals, newest first.
pub fn latest(h: &impl HostRead, n: usize) -> Vec<Proposal> {
    host::scan::<Proposal>(h, keys::PROPOSALS)
        .into_iter()
        .rev()
        .take(n)
        .map(|(_, p)| p)
        .collect()
}

fn put(h: &mut HostStore<'_>, p: &Proposal) {
    host::put(h, &keys::proposal(p.id), p);
}

/// Where `p` waits for its current period to end, if it is open.
fn queue_entry(p: &Proposal) -> Option<String> {
    match (p.status, p.voting_end_time) {
        (ProposalStatus::DepositPeriod, _) => {
            Some(keys::queued(keys::DEPOSIT_QUEUE, p.deposit_end_time, p.id))
        }
        (ProposalStatus::VotingPeriod, Some(end)) => {
            Some(keys::queued(keys::VOTING_QUEUE, end, p.id))
        }
        _ => None,
    }
}

/// The ids in `queue` whose period ended by `now`, in (end time, id) order.
fn ended(h: &impl HostRead, queue: &str, now: u64) -> Vec<u64> {
    // Keys up to `<now>/` and all its ids: the bound is the next second's prefix.
    let end = keys::queued(queue, now.saturating_add(1), 0);
    host::range::<u64>(h, queue, &end)
        .into_iter()
        .map(|(_, id)| id)
        .collect()
}

/// What a new proposal must bring: `min_initial_deposit_ratio` of the minimum deposit
/// (rounded up, so that a ratio above zero never asks for nothing).
fn min_initial_deposit(params: &GovParams) -> Amount {
    let ratio = u128::from(params.min_initial_deposit_ratio.ppb());
    Amount((params.min_deposit.0 * ratio).div_ceil(u128::from(Fraction::ONE_PPB)))
}

impl Proposal {
    fn add_deposit(&mut self, who: &str, amount: Amount) {
        match self.deposits.iter_mut().find(|(d, _)| d == who) {
            Some((_, a)) => *a = a.saturating_add(amount),
            None => self.deposits.push((who.to_string(), amount)),
        }
        self.total_deposit = self.total_deposit.saturating_add(amount);
    }

    /// Enters the voting period if the deposit reached the minimum.
    fn maybe_start_voting(&mut self, params: &GovParams, now: u64) -> bool {
        if self.status == ProposalStatus::DepositPeriod && self.total_deposit >= params.min_deposit
        {
            self.status = ProposalStatus::VotingPeriod;
            self.voting_start_time = Some(now);
            self.voting_end_time = Some(now.saturating_add(params.voting_period_secs));
            return true;
        }
        false
    }

    /// The messages to execute, as they were sent.
    pub fn messages(&self) -> Vec<Any> {
        self.messages.iter().map(StoredMsg::to_any).collect()
    }
}

/// What a `MsgSubmitProposal` asks for.
pub struct NewProposal<'a> {
    pub proposer: &'a str,
    /// The messages as sent (already checked; re-decoded when they execute).
    pub messages: &'a [Any],
    pub deposit: Amount,
    pub title: &'a str,
    pub summary: &'a str,
}

/// Records a new proposal and escrows the deposit.
pub fn submit(
    h: &mut HostStore<'_>,
    params: &GovParams,
    now: u64,
    new: NewProposal<'_>,
) -> Result<u64, GovError> {
    let NewProposal {
        proposer,
        messages,
        deposit,
        title,
        summary,
    } = new;
    let needed = min_initial_deposit(params);
    if deposit < needed {
        return Err(GovError::InitialDeposit {
            deposit,
            needed,
            ratio: params.min_initial_deposit_ratio,
            min_deposit: params.min_deposit,
        });
    }
    accounts::debit(h, proposer, deposit)?;
    let id: u64 = host::get(h, keys::NEXT_PROPOSAL).unwrap_or(1);
    host::put(h, keys::NEXT_PROPOSAL, &(id + 1));
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
        status: ProposalStatus::DepositPeriod,
        submit_time: now,
        deposit_end_time: now.saturating_add(params.max_deposit_period_secs),
        voting_start_time: None,
        voting_end_time: None,
        deposits: Vec::new(),
        total_deposit: Amount::ZERO,
        final_tally: None,
        outcome: Vec::new(),
    };
    if deposit > Amount::ZERO {
        p.add_deposit(proposer, deposit);
    }
    p.maybe_start_voting(params, now);
    put(h, &p);
    if let Some(q) = queue_entry(&p) {
        host::put(h, &q, &id);
    }
    Ok(id)
}

/// Adds a deposit to a proposal still in its deposit or voting period.
pub fn deposit(
    h: &mut HostStore<'_>,
    params: &GovParams,
    now: u64,
    id: u64,
    depositor: &str,
    amount: Amount,
) -> Result<(), GovError> {
    let mut p = get(h, id).ok_or(GovError::NoProposal(id))?;
    if !matches!(
        p.status,
        ProposalStatus::DepositPeriod | ProposalStatus::VotingPeriod
    ) {
        return Err(GovError::Closed {
            id,
            status: p.status,
        });
    }
    accounts::debit(h, depositor, amount)?;
    p.add_deposit(depositor, amount);
    let waiting = queue_entry(&p);
    if p.maybe_start_voting(params, now) {
        // From the deposit queue to the voting queue.
        if let Some(q) = waiting {
            host::delete(h, &q);
        }
        if let Some(q) = queue_entry(&p) {
            host::put(h, &q, &id);
        }
    }
    put(h, &p);
    Ok(())
}

/// Records (or replaces) `voter`'s vote; only accounts bound to a validator vote.
pub fn vote(
    h: &mut HostStore<'_>,
    id: u64,
    voter: &str,
    option: VoteOption,
) -> Result<(), GovError> {
    let p = get(h, id).ok_or(GovError::NoProposal(id))?;
    if p.status != ProposalStatus::VotingPeriod {
        return Err(GovError::NotVoting {
            id,
            status: p.status,
        });
    }
    if accounts::validator_power(h, voter).is_none() {
        return Err(GovError::NotAValidator(voter.to_string()));
    }
    host::put(h, &keys::vote(id, voter), &(option as i32));
    Ok(())
}

/// Sums the votes of proposal `id` by the voters' validator power; returns the tally and
/// the total power of all validators.
pub fn tally(h: &impl HostRead, id: u64) -> (Tally, u128) {
    let total: u128 = accounts::validators(h)
        .iter()
        .map(|(_, p)| u128::from(*p))
        .sum();
    let mut t = Tally::default();
    let prefix = keys::votes(id);
    for (k, option) in host::scan::<i32>(h, &prefix) {
        let voter = &k[prefix.len()..];
        let power = u128::from(accounts::validator_power(h, voter).unwrap_or(0));
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
    const ONE: u128 = Fraction::ONE_PPB as u128;
    let frac = |f: Fraction| u128::from(f.ppb());
    let voted = t.yes + t.abstain + t.no + t.no_with_veto;
    if total == 0 || voted * ONE < total * frac(params.quorum) {
        return Verdict::Rejected("quorum not reached");
    }
    let non_abstain = voted - t.abstain;
    if non_abstain == 0 {
        return Verdict::Rejected("every vote abstained");
    }
    if t.no_with_veto * ONE > voted * frac(params.veto_threshold) {
        return Verdict::Vetoed;
    }
    if t.yes * ONE > non_abstain * frac(params.threshold) {
        Verdict::Passes
    } else {
        Verdict::Rejected("threshold not reached")
    }
}

fn refund(h: &mut HostStore<'_>, p: &Proposal) {
    for (who, amount) in &p.deposits {
        accounts::credit(h, who, *amount);
    }
}

/// The proposals whose deposit or voting period ended by `now`, in the order they are
/// closed: deposit periods first, each queue by (end time, id).
pub fn due(h: &impl HostRead, now: u64) -> Vec<u64> {
    let mut due = ended(h, keys::DEPOSIT_QUEUE, now);
    due.extend(ended(h, keys::VOTING_QUEUE, now));
    due
}

/// Takes proposal `id` out of its period's queue; returns it (`None`: it is gone).
pub fn dequeue(h: &mut HostStore<'_>, id: u64) -> Option<Proposal> {
    let p = get(h, id)?;
    if let Some(q) = queue_entry(&p) {
        host::delete(h, &q);
    }
    Some(p)
}

/// How closing a proposal ended.
pub enum Closed {
    /// Recorded (dropped, rejected or vetoed); the event says how.
    Ended(AppEvent),
    /// The tally passed it and its deposits are refunded: the chain executes its messages
    /// and reports the outcome with [`record_outcome`].
    Passed(Box<Proposal>),
}

/// Ends `p`'s period (taken out of its queue by [`dequeue`]): a deposit period that ran
/// out drops it, a voting period is tallied.
pub fn close(h: &mut HostStore<'_>, mut p: Proposal, params: &GovParams) -> Closed {
    if p.status == ProposalStatus::DepositPeriod {
        // As in Cosmos: a proposal that never reached the minimum deposit is deleted
        // (it would otherwise be free, permanent storage) and its deposits are burned.
        host::delete(h, &keys::proposal(p.id));
        return Closed::Ended(AppEvent::new(
            "inactive_proposal",
            [
                ("proposal_id", p.id.to_string()),
                ("proposal_result", "proposal_dropped".to_string()),
            ],
        ));
    }
    let (t, total) = tally(h, p.id);
    let verdict = decide(&t, total, params);
    p.final_tally = Some(t);
    match verdict {
        Verdict::Passes => {
            refund(h, &p);
            return Closed::Passed(Box::new(p));
        }
        Verdict::Rejected(why) => {
            refund(h, &p);
            p.status = ProposalStatus::Rejected;
            p.outcome = vec![why.to_string()];
        }
        Verdict::Vetoed => {
            p.status = ProposalStatus::Rejected;
            p.outcome = vec!["vetoed: deposits burned".into()];
        }
    }
    Closed::Ended(ended_event(h, &p))
}

/// Records how a passed proposal's execution went: its messages' results, or why they
/// were all undone.
pub fn record_outcome(
    h: &mut HostStore<'_>,
    mut p: Proposal,
    outcome: Result<Vec<String>, String>,
) -> AppEvent {
    (p.status, p.outcome) = match outcome {
        Ok(lines) => (ProposalStatus::Passed, lines),
        Err(why) => (ProposalStatus::Failed, vec![why]),
    };
    ended_event(h, &p)
}

/// Writes the closed proposal and says so.
fn ended_event(h: &mut HostStore<'_>, p: &Proposal) -> AppEvent {
    put(h, p);
    AppEvent::new(
        "proposal_ended",
        [
            ("proposal_id", p.id.to_string()),
            ("status", p.status.to_string()),
            ("outcome", p.outcome.join("; ")),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use vatchain_kernel::store::Store;
    use vatchain_kernel::worker::RawWorkers;
    use vatchain_kernel::{Kernel, KernelConfig};

    /// Store work of an end of block that ends no proposal, with `open` proposals open.
    fn idle_end_block_work(open: u64) -> vatchain_kernel::IoStats {
        let mut k = Kernel::new(
            Store::in_memory(),
            Box::new(RawWorkers::new()),
            KernelConfig::default(),
        )
        .expect("kernel");
        let params = GovParams {
            min_deposit: Amount(100),
            ..GovParams::default()
        };
        k.update_host(|h| {
            accounts::create(h, "vat1proposer", Amount(1_000_000_000));
            for i in 0..open {
                let new = NewProposal {
                    proposer: "vat1proposer",
                    messages: &[],
                    // Half wait for deposits, half are voting.
                    deposit: Amount(if i % 2 == 0 { 25 } else { 100 }),
                    title: "t",
                    summary: "",
                };
                submit(h, &params, 1_000 + i, new).expect("submit");
            }
        });
        let before = k.store().io_stats();
        assert!(due(&k.host(), 2_000).is_empty());
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
