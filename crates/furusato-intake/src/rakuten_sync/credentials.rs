//! The RMS credentials of a municipality (serviceSecret, licenseKey): sealed by the vault with
//! `aad("portal_credentials", account_id)`, stored in `portal_accounts.credentials_sealed`, and
//! opened only to build the client. Never logged, never shown again after saving: screens show
//! only the last four characters of the license key.

use furusato_db::intake_sync::{self, AccountSettings};
use furusato_db::{Db, DbError, MunicipalityId};
use furusato_vault::Keyring;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The purpose bound into the ciphertext.
pub const AAD_PURPOSE: &str = "portal_credentials";

/// serviceSecret + licenseKey. `Debug` never shows them.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Credentials {
    pub service_secret: String,
    pub license_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("service_secret", &"[REDACTED]")
            .field("license_key", &"[REDACTED]")
            .finish()
    }
}

impl Credentials {
    pub fn new(service_secret: impl Into<String>, license_key: impl Into<String>) -> Self {
        Credentials {
            service_secret: service_secret.into(),
            license_key: license_key.into(),
        }
    }

    /// The last four characters of the license key (what screens may show).
    pub fn license_key_last4(&self) -> String {
        last4(&self.license_key)
    }
}

/// The last four characters of a secret.
pub fn last4(s: &str) -> String {
    let chars: Vec<char> = s.trim().chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

/// Why credentials cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("no vault keys are configured, so portal credentials cannot be stored or read")]
    NoKeyring,
    #[error(
        "the stored portal credentials cannot be decrypted with the configured vault keys: {0}"
    )]
    Vault(#[from] furusato_vault::VaultError),
    #[error("the stored portal credentials are corrupt")]
    Corrupt,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl CredentialError {
    pub fn message_ja(&self) -> &'static str {
        match self {
            CredentialError::NoKeyring => {
                "暗号鍵が設定されていないため、認証情報を保存・利用できません。"
            }
            CredentialError::Vault(_) | CredentialError::Corrupt => {
                "保存された認証情報を復号できません。暗号鍵の設定を確認するか、認証情報を登録し直してください。"
            }
            CredentialError::Db(_) => "システムエラーが発生しました。",
        }
    }
}

/// Seals credentials for the account `account_id`.
pub fn seal(keyring: &Keyring, account_id: Uuid, c: &Credentials) -> Vec<u8> {
    let plain = serde_json::to_vec(c).expect("credentials serialise");
    keyring
        .seal(
            &plain,
            &furusato_vault::aad(AAD_PURPOSE, account_id.as_bytes()),
        )
        .into_bytes()
}

/// Opens sealed credentials of the account `account_id`.
pub fn open(
    keyring: &Keyring,
    account_id: Uuid,
    sealed: &[u8],
) -> Result<Credentials, CredentialError> {
    let plain = keyring.open(
        sealed,
        &furusato_vault::aad(AAD_PURPOSE, account_id.as_bytes()),
    )?;
    serde_json::from_slice(&plain).map_err(|_| CredentialError::Corrupt)
}

/// Saves the settings and (when given) new credentials of the 楽天 account in one transaction
/// with an audit entry (`rakuten.account_save`; the detail names the changed settings, never
/// the secrets). Returns the account id.
pub async fn save_account(
    db: &Db,
    keyring: Option<&Keyring>,
    tenant: MunicipalityId,
    settings: &AccountSettings,
    credentials: Option<&Credentials>,
    audit: furusato_db::audit::AuditEntry,
) -> Result<Uuid, CredentialError> {
    if credentials.is_some() && keyring.is_none() {
        return Err(CredentialError::NoKeyring);
    }
    let mut tx = db.begin().await?;
    let id = intake_sync::save_account_settings(&mut tx, tenant, super::PORTAL, settings).await?;
    if let (Some(c), Some(k)) = (credentials, keyring) {
        let sealed = seal(k, id, c);
        intake_sync::set_credentials(&mut tx, tenant, id, &sealed).await?;
    }
    let entry = audit
        .target("portal_account", id)
        .detail(serde_json::json!({
            "portal": super::PORTAL,
            "base_url": settings.base_url,
            "get_order_version": settings.get_order_version,
            "requests_per_second": settings.requests_per_second,
            "schedule_minutes": settings.schedule_minutes,
            "enabled": settings.enabled,
            "credentials_replaced": credentials.is_some(),
        }));
    furusato_db::audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(id)
}

/// The stored credentials of the 楽天 account, opened.
pub async fn stored(
    db: &Db,
    keyring: Option<&Keyring>,
    tenant: MunicipalityId,
) -> Result<Option<Credentials>, CredentialError> {
    let Some(acc) = intake_sync::account(db, tenant, super::PORTAL).await? else {
        return Ok(None);
    };
    let Some(sealed) = acc.credentials_sealed.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let keyring = keyring.ok_or(CredentialError::NoKeyring)?;
    open(keyring, acc.id, &sealed).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_is_bound_to_the_account() {
        let k = Keyring::generate().unwrap();
        let id = Uuid::now_v7();
        let c = Credentials::new("SP_secret", "SL_key_1234");
        let sealed = seal(&k, id, &c);
        assert!(!String::from_utf8_lossy(&sealed).contains("SL_key_1234"));
        assert_eq!(open(&k, id, &sealed).unwrap(), c);
        assert!(
            open(&k, Uuid::now_v7(), &sealed).is_err(),
            "bound to its row"
        );
        assert_eq!(c.license_key_last4(), "1234");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("SP_secret") && !dbg.contains("SL_key"));
        assert_eq!(last4("ab"), "ab");
    }
}
