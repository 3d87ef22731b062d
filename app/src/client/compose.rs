//! Composing messages, as a client does (the CLI's `vatd tx …`, tests). The node decodes
//! and checks them in [`crate::msgs`].

use std::io::Write;

use cosmrs::proto::cosmos::base::v1beta1::Coin;
use cosmrs::proto::cosmos::gov::v1::{MsgDeposit, MsgSubmitProposal, MsgVote, VoteOption};
use cosmrs::proto::cosmos::upgrade::v1beta1::{MsgSoftwareUpgrade, Plan};
use cosmrs::Any;
use vatchain_proto::swingset::v1::{
    MsgCreateVat, MsgDeliverInbound, MsgInstallBundle, MsgUpdateParams, MsgUpgradeVat,
};
use vatchain_proto::type_urls;

use crate::client::sign::any;
use crate::msgs::{
    gov_module_address, MSG_DEPOSIT, MSG_SOFTWARE_UPGRADE, MSG_SUBMIT_PROPOSAL, MSG_VOTE,
};

/// `MsgInstallBundle`, gzipped when `gzip` (bundles are text and shrink well).
pub fn install_bundle(sender: &str, bundle: &[u8], gzip: bool) -> Any {
    let body = if gzip {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing into a Vec cannot fail.
        let _ = enc.write_all(bundle);
        enc.finish().unwrap_or_default()
    } else {
        bundle.to_vec()
    };
    any(
        type_urls::MSG_INSTALL_BUNDLE,
        &MsgInstallBundle {
            sender: sender.into(),
            bundle: body,
            gzipped: gzip,
            uncompressed_size: bundle.len() as u64,
        },
    )
}

pub fn deliver(sender: &str, target: &str, method: &str, args_json: &str) -> Any {
    any(
        type_urls::MSG_DELIVER_INBOUND,
        &MsgDeliverInbound {
            sender: sender.into(),
            target: target.into(),
            method: method.into(),
            args_json: args_json.into(),
        },
    )
}

pub fn upgrade_vat(
    vat_name: &str,
    bundle_id: &str,
    vat_parameters_json: &str,
    upgrade_message: &str,
) -> Any {
    any(
        type_urls::MSG_UPGRADE_VAT,
        &MsgUpgradeVat {
            authority: gov_module_address(),
            vat_name: vat_name.into(),
            bundle_id: bundle_id.into(),
            vat_parameters_json: vat_parameters_json.into(),
            upgrade_message: upgrade_message.into(),
        },
    )
}

pub fn create_vat(name: &str, bundle_id: &str, vat_parameters_json: &str) -> Any {
    any(
        type_urls::MSG_CREATE_VAT,
        &MsgCreateVat {
            authority: gov_module_address(),
            name: name.into(),
            bundle_id: bundle_id.into(),
            vat_parameters_json: vat_parameters_json.into(),
        },
    )
}

/// Changes the chain parameters `changes` names (a JSON object shaped as genesis
/// `app_state.params`). Governance only.
pub fn update_params(changes_json: &str) -> Any {
    any(
        type_urls::MSG_UPDATE_PARAMS,
        &MsgUpdateParams {
            authority: gov_module_address(),
            params_json: changes_json.into(),
        },
    )
}

pub fn software_upgrade(name: &str, height: u64, info: &str) -> Any {
    #[allow(deprecated)]
    let plan = Plan {
        name: name.into(),
        height: height as i64,
        info: info.into(),
        ..Default::default()
    };
    any(
        MSG_SOFTWARE_UPGRADE,
        &MsgSoftwareUpgrade {
            authority: gov_module_address(),
            plan: Some(plan),
        },
    )
}

fn coins(denom: &str, amount: u128) -> Vec<Coin> {
    if amount == 0 {
        return Vec::new();
    }
    vec![Coin {
        denom: denom.into(),
        amount: amount.to_string(),
    }]
}

pub fn submit_proposal(
    proposer: &str,
    messages: Vec<Any>,
    deposit: u128,
    denom: &str,
    title: &str,
    summary: &str,
) -> Any {
    any(
        MSG_SUBMIT_PROPOSAL,
        &MsgSubmitProposal {
            messages,
            initial_deposit: coins(denom, deposit),
            proposer: proposer.into(),
            metadata: String::new(),
            title: title.into(),
            summary: summary.into(),
            expedited: false,
        },
    )
}

pub fn vote(voter: &str, proposal_id: u64, option: VoteOption) -> Any {
    any(
        MSG_VOTE,
        &MsgVote {
            proposal_id,
            voter: voter.into(),
            option: option as i32,
            metadata: String::new(),
        },
    )
}

pub fn deposit(depositor: &str, proposal_id: u64, amount: u128, denom: &str) -> Any {
    any(
        MSG_DEPOSIT,
        &MsgDeposit {
            proposal_id,
            depositor: depositor.into(),
            amount: coins(denom, amount),
        },
    )
}
