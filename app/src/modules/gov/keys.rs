//! gov's host keys (the only place they are spelled).
//!
//! - `gov/next` → the next proposal id
//! - `gov/p/<id:020>` → [`super::Proposal`]
//! - `gov/v/<id:020>/<voter>` → the voter's option (`VoteOption` as i32)
//! - `gov/dq/<deposit end:020>/<id:020>` and `gov/vq/<voting end:020>/<id:020>` → id: the
//!   proposals in their deposit and voting periods, by the time the period ends (as x/gov's
//!   `InactiveProposalQueue` and `ActiveProposalQueue`)

pub const NEXT_PROPOSAL: &str = "gov/next";
pub const PROPOSALS: &str = "gov/p/";
pub const DEPOSIT_QUEUE: &str = "gov/dq/";
pub const VOTING_QUEUE: &str = "gov/vq/";

pub fn proposal(id: u64) -> String {
    format!("{PROPOSALS}{id:020}")
}

/// The prefix of proposal `id`'s votes.
pub fn votes(id: u64) -> String {
    format!("gov/v/{id:020}/")
}

pub fn vote(id: u64, voter: &str) -> String {
    format!("{}{voter}", votes(id))
}

/// Where proposal `id` waits in `queue` for its period ending at `end`.
pub fn queued(queue: &str, end: u64, id: u64) -> String {
    format!("{queue}{end:020}/{id:020}")
}
