//! Key rotation: re-encrypts every vault entry and TOTP secret under the active key, in small
//! committed batches, so an interrupted rotation resumes where it stopped.

use furusato_db::{vault, Db};
use furusato_vault::{aad, Keyring, Sealed};

const BATCH: i64 = 500;

/// Returns (vault entries re-encrypted, TOTP secrets re-encrypted).
pub async fn reencrypt_all(db: &Db, ring: &Keyring) -> anyhow::Result<(u64, u64)> {
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
                .map_err(|err| anyhow::anyhow!("vault entry {} cannot be re-encrypted: {err}", e.id))?;
            if vault::reseal(&mut tx, e.id, &e.key_id, &active, resealed.as_bytes()).await? {
                entries += 1;
            }
        }
        tx.commit().await?;
        eprintln!("  … {entries} vault entries re-encrypted");
    }
    let mut secrets = 0u64;
    for (user_id, sealed) in furusato_db::users::sealed_totp_secrets(db).await? {
        let key = Sealed::key_id_of(&sealed)?;
        if key.as_str() == active {
            continue;
        }
        let resealed = ring
            .reseal(&sealed, &aad("totp", user_id.as_bytes()))
            .map_err(|err| anyhow::anyhow!("the TOTP secret of user {user_id} cannot be re-encrypted: {err}"))?;
        if furusato_db::users::reseal_totp_secret(db, user_id, &sealed, resealed.as_bytes()).await? {
            secrets += 1;
        }
    }
    Ok((entries, secrets))
}
