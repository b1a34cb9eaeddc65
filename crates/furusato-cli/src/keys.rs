//! Key rotation: re-encrypts every vault entry, TOTP secret and portal credential under the active
//! key, in small committed batches, so an interrupted rotation resumes where it stopped.

use furusato_db::{Db, vault};
use furusato_vault::{Keyring, Sealed, aad};

const BATCH: i64 = 500;

/// What one rotation re-encrypted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reencrypted {
    pub vault_entries: u64,
    pub totp_secrets: u64,
    pub portal_credentials: u64,
}

/// Whether anything is still sealed under a key other than the active one (a rotation to resume).
pub async fn anything_stale(db: &Db, ring: &Keyring) -> anyhow::Result<bool> {
    let active = ring.active_key_id().as_str();
    if vault::count_by_key(db)
        .await?
        .into_iter()
        .any(|(k, n)| k != active && n > 0)
    {
        return Ok(true);
    }
    let other = |sealed: &[u8]| Sealed::key_id_of(sealed).map(|k| k.as_str() != active);
    for (_, s) in furusato_db::users::sealed_totp_secrets(db).await? {
        if other(&s)? {
            return Ok(true);
        }
    }
    for (_, s) in furusato_db::intake_sync::sealed_credentials(db).await? {
        if other(&s)? {
            return Ok(true);
        }
    }
    Ok(false)
}

pub async fn reencrypt_all(db: &Db, ring: &Keyring) -> anyhow::Result<Reencrypted> {
    let active = ring.active_key_id().as_str().to_string();
    let mut entries = 0u64;
    loop {
        let batch = vault::not_under_key(db, &active, BATCH).await?;
        if batch.is_empty() {
            break;
        }
        let mut tx = db.begin().await?;
        for e in &batch {
            let resealed = ring
                .reseal(&e.sealed, &aad(&e.purpose, e.id.as_bytes()))
                .map_err(|err| {
                    anyhow::anyhow!("vault entry {} cannot be re-encrypted: {err}", e.id)
                })?;
            if vault::reseal(&mut tx, e.id, &e.key_id, &active, resealed.as_bytes()).await? {
                entries += 1;
            }
        }
        tx.commit().await?;
        eprintln!("  … {entries} vault entries re-encrypted");
    }
    let mut secrets = 0u64;
    for (user_id, sealed) in furusato_db::users::sealed_totp_secrets(db).await? {
        let Some(new) = reseal_if_stale(ring, &sealed, "totp", user_id, "the TOTP secret of user")?
        else {
            continue;
        };
        if furusato_db::users::reseal_totp_secret(db, user_id, &sealed, new.as_bytes()).await? {
            secrets += 1;
        }
    }
    let mut credentials = 0u64;
    let purpose = furusato_intake::rakuten_sync::credentials::AAD_PURPOSE;
    for (account_id, sealed) in furusato_db::intake_sync::sealed_credentials(db).await? {
        let what = "the portal credentials of account";
        let Some(new) = reseal_if_stale(ring, &sealed, purpose, account_id, what)? else {
            continue;
        };
        if furusato_db::intake_sync::reseal_credentials(db, account_id, &sealed, new.as_bytes())
            .await?
        {
            credentials += 1;
        }
    }
    Ok(Reencrypted {
        vault_entries: entries,
        totp_secrets: secrets,
        portal_credentials: credentials,
    })
}

/// `sealed` (bound to `aad(purpose, id)`) re-encrypted under the active key, or `None` when it
/// already is. `what` names the secret in the error ("the TOTP secret of user").
fn reseal_if_stale(
    ring: &Keyring,
    sealed: &[u8],
    purpose: &str,
    id: uuid::Uuid,
    what: &str,
) -> anyhow::Result<Option<Sealed>> {
    if Sealed::key_id_of(sealed)? == *ring.active_key_id() {
        return Ok(None);
    }
    ring.reseal(sealed, &aad(purpose, id.as_bytes()))
        .map(Some)
        .map_err(|err| anyhow::anyhow!("{what} {id} cannot be re-encrypted: {err}"))
}
