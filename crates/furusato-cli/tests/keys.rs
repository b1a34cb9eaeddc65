//! `furusato keys init|rotate|status` end to end: after a rotation every 個人番号 and every stored
//! portal credential opens with the new key, and nothing is left under the old one.

use std::process::{Command, Output};

use furusato_db::audit::{self, AuditFilter};
use furusato_db::municipalities::{self, NewMunicipality};
use furusato_db::testing::{TestDb, test_db};
use furusato_db::vault::{self, NewVaultEntry};
use furusato_db::{MunicipalityId, new_id};
use furusato_intake::rakuten_sync::credentials::{self, Credentials};
use furusato_vault::{Keyring, aad};
use uuid::Uuid;

/// Obviously fake, check-digit-valid test numbers (never a real person's).
const NUMBERS: [&str; 3] = ["123456789018", "000000000019", "111111111118"];

struct World {
    db: TestDb,
    dir: tempfile::TempDir,
    tenant: MunicipalityId,
}

fn furusato(w: &World, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_furusato"))
        .arg("--database")
        .arg(&w.db.url)
        .arg("--data-dir")
        .arg(w.dir.path())
        .args(args)
        .env("USER", "key-custodian")
        .env_remove("FURUSATO_VAULT_KEYS")
        .output()
        .expect("run furusato")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn ring(w: &World) -> Keyring {
    Keyring::load_file(w.dir.path().join("vault-keys.json")).unwrap()
}

async fn world() -> World {
    let db = test_db().await;
    let tenant = municipalities::insert(
        &db,
        &NewMunicipality {
            code: "041009".into(),
            name: "仙台市".into(),
            prefecture_code: 4,
            mayor_title: "仙台市長".into(),
            mayor_name: "試験 太郎".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .tenant();
    World {
        db,
        dir: tempfile::tempdir().unwrap(),
        tenant,
    }
}

/// Seals the test numbers under the current key; returns (owner, number) pairs.
async fn seal_numbers(w: &World, keys: &Keyring) -> Vec<(Uuid, &'static str)> {
    let mut owners = Vec::new();
    let mut tx = w.db.begin().await.unwrap();
    for n in NUMBERS {
        let id = new_id();
        let owner = new_id();
        let sealed = keys.seal(n.as_bytes(), &aad("my_number", id.as_bytes()));
        let bidx = keys.blind_index("my_number", n.as_bytes());
        vault::put(
            &mut tx,
            w.tenant,
            &NewVaultEntry {
                id,
                purpose: "my_number",
                owner_kind: "donor",
                owner_id: owner,
                key_id: keys.active_key_id().as_str(),
                sealed: sealed.as_bytes(),
                blind_index: Some(&bidx),
                last4: &n[8..],
                synthetic: true,
            },
        )
        .await
        .unwrap();
        owners.push((owner, n));
    }
    tx.commit().await.unwrap();
    owners
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_keeps_every_number_and_credential_readable() {
    let w = world().await;
    ok(&furusato(&w, &["keys", "init"]));
    let first = ring(&w);
    let owners = seal_numbers(&w, &first).await;
    let creds = Credentials::new("SP000000_fake-secret", "SL000000_fake-license");
    credentials::save_account(
        &w.db,
        Some(&first),
        w.tenant,
        &furusato_db::intake_sync::AccountSettings {
            base_url: "http://127.0.0.1:9/es/2.0".into(),
            get_order_version: 9,
            requests_per_second: 1,
            schedule_minutes: 0,
            enabled: true,
        },
        Some(&creds),
        furusato_db::audit::AuditEntry::cli(Some(w.tenant), "rakuten.account_save"),
    )
    .await
    .unwrap();

    let out = ok(&furusato(&w, &["keys", "rotate"]));
    let second = ring(&w);
    assert_ne!(second.active_key_id(), first.active_key_id());
    assert!(
        out.contains("re-encrypted 3 vault entries, 0 TOTP secrets and 1 portal credentials"),
        "{out}"
    );

    // Every number opens with the new ring, is under the new key, and the blind index still finds it.
    for (owner, n) in &owners {
        let e = vault::get_for_owner(&w.db, w.tenant, "donor", *owner, "my_number")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(e.key_id, second.active_key_id().as_str());
        let plain = second
            .open(&e.sealed, &aad("my_number", e.id.as_bytes()))
            .unwrap();
        assert_eq!(plain.as_slice(), n.as_bytes());
        let found = vault::find_by_blind_index(
            &w.db,
            w.tenant,
            "my_number",
            &second.blind_index("my_number", n.as_bytes()),
        )
        .await
        .unwrap();
        assert_eq!(found.len(), 1);
    }
    assert_eq!(
        credentials::stored(&w.db, Some(&second), w.tenant)
            .await
            .unwrap(),
        Some(creds)
    );
    let status = ok(&furusato(&w, &["keys", "status"]));
    assert!(
        status.contains(&format!("{}: 3 entries", second.active_key_id())),
        "{status}"
    );
    assert!(!status.contains("KEY MISSING"), "{status}");

    // The rotation is in the audit trail, by the OS user who ran it.
    let f = AuditFilter {
        action: Some("keys.rotate".into()),
        ..Default::default()
    };
    let page = audit::search(&w.db, w.tenant, &f, 1, 10).await.unwrap();
    assert_eq!(page.items.len(), 1, "keys.rotate is audited once");
    assert_eq!(page.items[0].user_login, "cli:key-custodian");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_without_a_key_file_says_what_to_do() {
    let w = world().await;
    let out = furusato(&w, &["keys", "rotate"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("run `furusato keys init` first"), "{err}");
}
