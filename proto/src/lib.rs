//! Vatchain's own protobuf messages. Cosmos SDK types (tx, gov, upgrade) are reused from
//! `cosmrs::proto` instead of being compiled here.

/// `vatchain.swingset.v1`: swingset transactions and queries.
pub mod swingset {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/vatchain.swingset.v1.rs"));
    }
}

/// Type URLs for packing messages in `Any`.
pub mod type_urls {
    pub const MSG_INSTALL_BUNDLE: &str = "/vatchain.swingset.v1.MsgInstallBundle";
    pub const MSG_DELIVER_INBOUND: &str = "/vatchain.swingset.v1.MsgDeliverInbound";
    pub const MSG_UPGRADE_VAT: &str = "/vatchain.swingset.v1.MsgUpgradeVat";
    pub const MSG_CREATE_VAT: &str = "/vatchain.swingset.v1.MsgCreateVat";
    pub const MSG_UPDATE_PARAMS: &str = "/vatchain.swingset.v1.MsgUpdateParams";
}

#[cfg(test)]
mod tests {
    use super::swingset::v1::MsgDeliverInbound;
    use prost::Message;

    #[test]
    fn messages_round_trip_through_protobuf() {
        let m = MsgDeliverInbound {
            sender: "vat1xyz".into(),
            target: "counter".into(),
            method: "increment".into(),
            args_json: "[1]".into(),
        };
        let bytes = m.encode_to_vec();
        assert_eq!(MsgDeliverInbound::decode(bytes.as_slice()), Ok(m));
        assert!(MsgDeliverInbound::decode(&[0xff, 0xff][..]).is_err());
    }
}
