//! Known-answer test: a value sealed by an independent AES-GCM implementation
//! (Python `cryptography`) following the documented format must open. This pins
//! the stored format, the header-in-AAD rule and the `aad()` encoding.

use furusato_vault::{Keyring, Sealed, aad};

const KEYS: &str = r#"{
  "version": 1,
  "active": "k7",
  "keys": { "k7": "1111111111111111111111111111111111111111111111111111111111111111" },
  "blind_index": { "id": "b1", "key": "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b" }
}"#;

/// AESGCM(key = 32 × 0x11).encrypt(nonce = 00..0b, "000000000000",
/// header || b"furusato:aad:v1:" || u64be(15) || "donor.my_number" || u64be(5) || "row-1")
/// with header = 01 02 "k7", stored as header || nonce || ciphertext+tag.
const SEALED_HEX: &str =
    "01026b37000102030405060708090a0b23d386234b9305c42488e3aff9d4fcaf5936a90db46a0947c8fb77e3";

#[test]
fn opens_value_sealed_by_independent_implementation() {
    let keyring = Keyring::from_json(KEYS).unwrap();
    let stored = hex::decode(SEALED_HEX).unwrap();
    assert_eq!(Sealed::key_id_of(&stored).unwrap().as_str(), "k7");
    let plain = keyring
        .open(&stored, &aad("donor.my_number", b"row-1"))
        .unwrap();
    assert_eq!(plain.as_slice(), b"000000000000");
    assert!(
        keyring
            .open(&stored, &aad("donor.my_number", b"row-2"))
            .is_err()
    );
}

#[test]
fn blind_index_known_answer() {
    // Python: hmac.new(b"\x0b"*32, b"furusato:my_number:v1:000000000000", sha256)
    let keyring = Keyring::from_json(KEYS).unwrap();
    assert_eq!(
        hex::encode(keyring.blind_index("my_number", b"000000000000")),
        "6674ba6bb282455564b75eb4c520bc40b5c2e6142e6751c4a23f36d6ecedbe5b"
    );
}
