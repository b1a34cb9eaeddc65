//! Property tests: any plaintext and AAD round-trip; any other AAD fails.

use furusato_vault::{Keyring, Sealed, VaultError, aad};
use proptest::prelude::*;
use std::sync::OnceLock;

fn keyring() -> &'static Keyring {
    static KEYRING: OnceLock<Keyring> = OnceLock::new();
    KEYRING.get_or_init(|| Keyring::generate().expect("random keys"))
}

proptest! {
    #[test]
    fn seal_open_round_trip(
        plaintext in proptest::collection::vec(any::<u8>(), 0..2048),
        aad in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let k = keyring();
        let sealed = k.seal(&plaintext, &aad);
        prop_assert_eq!(sealed.key_id(), k.active_key_id());
        let stored = sealed.into_bytes();
        let reparsed = Sealed::from_bytes(stored.clone()).unwrap();
        prop_assert_eq!(reparsed.key_id(), k.active_key_id());
        let opened = k.open(&stored, &aad).unwrap();
        prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
    }

    #[test]
    fn other_aad_fails(
        plaintext in proptest::collection::vec(any::<u8>(), 0..256),
        aad_a in proptest::collection::vec(any::<u8>(), 0..64),
        aad_b in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        prop_assume!(aad_a != aad_b);
        let k = keyring();
        let sealed = k.seal(&plaintext, &aad_a);
        prop_assert!(matches!(k.open(&sealed, &aad_b), Err(VaultError::Decrypt)));
    }

    #[test]
    fn row_binding_separates_rows(
        purpose in "[a-z_.]{1,24}",
        row_a in proptest::collection::vec(any::<u8>(), 16),
        row_b in proptest::collection::vec(any::<u8>(), 16),
    ) {
        prop_assume!(row_a != row_b);
        let k = keyring();
        let sealed = k.seal(b"000000000000", &aad(&purpose, &row_a));
        prop_assert!(k.open(&sealed, &aad(&purpose, &row_a)).is_ok());
        prop_assert!(k.open(&sealed, &aad(&purpose, &row_b)).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        // Garbage in the column must give an error, not a panic (and never Ok).
        prop_assert!(keyring().open(&bytes, b"").is_err());
    }
}
