//! GetAssetInfoReply (request 91, Device OS ≥ 5.6.0) and GetProtectedStateReply (request 76,
//! ≥ 6.0.0), encoded and decoded by the same code (the simulated board encodes what the host
//! decodes):
//! - `available` (1) and `required` (2), each a repeated `particle.cloud.FirmwareModuleAsset`
//!   {1 hash (bytes: the SHA-256 of the contents), 2 name, 3 size, 4 storage_size}
//!   (proto_defs/src/control/storage.pb.h:97-104, 292-293; cloud/describe.pb.h:55-60,
//!   181-185; system_info_encoding.cpp:75-96 @ v6.2.0);
//! - {1 state (protected), 2 overridden (service mode)} (control/config.pb.h:215-218, 484-485;
//!   control/config.cpp:281-287 @ v6.2.0).

use serde::Serialize;

use super::proto::{self, Encoder, ProtoError};

/// An asset as the board lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoardAsset {
    pub name: String,
    #[serde(serialize_with = "hex_bytes")]
    pub hash: Vec<u8>,
    pub size: u32,
    pub storage_size: u32,
}

fn hex_bytes<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(b))
}

/// What the board's asset store holds and what its application needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AssetInfo {
    pub available: Vec<BoardAsset>,
    pub required: Vec<BoardAsset>,
}

impl AssetInfo {
    /// Whether an asset with this name and content hash is in the store.
    pub fn has(&self, name: &str, hash: &[u8]) -> bool {
        self.available
            .iter()
            .any(|a| a.name == name && a.hash == hash)
    }
}

fn encode_asset(a: &BoardAsset) -> Vec<u8> {
    Encoder::new()
        .bytes(1, &a.hash)
        .bytes(2, a.name.as_bytes())
        .uint(3, u64::from(a.size))
        .uint(4, u64::from(a.storage_size))
        .finish()
}

pub fn encode_asset_info(available: &[BoardAsset], required: &[BoardAsset]) -> Vec<u8> {
    let e = available
        .iter()
        .fold(Encoder::new(), |e, a| e.bytes(1, &encode_asset(a)));
    required
        .iter()
        .fold(e, |e, a| e.bytes(2, &encode_asset(a)))
        .finish()
}

pub fn decode_asset_info(payload: &[u8]) -> Result<AssetInfo, ProtoError> {
    let fields = proto::decode(payload)?;
    let list = |field: u32| -> Result<Vec<BoardAsset>, ProtoError> {
        proto::repeated(&fields, field)
            .map(|raw| {
                let f = proto::decode(raw)?;
                Ok(BoardAsset {
                    hash: proto::bytes(&f, 1).to_vec(),
                    name: proto::string(&f, 2)?,
                    size: proto::uint(&f, 3) as u32,
                    storage_size: proto::uint(&f, 4) as u32,
                })
            })
            .collect()
    };
    Ok(AssetInfo {
        available: list(1)?,
        required: list(2)?,
    })
}

/// Device Protection as the board reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ProtectedState {
    pub protected: bool,
    /// Protection overridden for service (a protected device open for local updates).
    pub overridden: bool,
}

pub fn encode_protected_state(s: ProtectedState) -> Vec<u8> {
    Encoder::new()
        .uint(1, u64::from(s.protected))
        .uint(2, u64::from(s.overridden))
        .finish()
}

pub fn decode_protected_state(payload: &[u8]) -> Result<ProtectedState, ProtoError> {
    let f = proto::decode(payload)?;
    Ok(ProtectedState {
        protected: proto::uint(&f, 1) != 0,
        overridden: proto::uint(&f, 2) != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_replies_round_trip() {
        let a = BoardAsset {
            name: "cat.txt".into(),
            hash: vec![0xb0; 32],
            size: 12,
            storage_size: 147,
        };
        let b = BoardAsset {
            name: "house.txt".into(),
            ..a.clone()
        };
        let bytes = encode_asset_info(std::slice::from_ref(&a), &[a.clone(), b.clone()]);
        let info = decode_asset_info(&bytes).unwrap();
        assert_eq!(info.available, vec![a.clone()]);
        assert_eq!(info.required, vec![a.clone(), b]);
        assert!(info.has("cat.txt", &[0xb0; 32]) && !info.has("cat.txt", &[0; 32]));
        assert_eq!(decode_asset_info(&[]).unwrap(), AssetInfo::default());
        for s in [
            ProtectedState::default(),
            ProtectedState {
                protected: true,
                overridden: true,
            },
        ] {
            assert_eq!(
                decode_protected_state(&encode_protected_state(s)).unwrap(),
                s
            );
        }
    }
}
