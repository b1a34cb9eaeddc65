//! Second factor: TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps, ±1 step) with one-time
//! recovery codes. The TOTP secret is sealed by the vault (bound to the user id), never stored in clear.

use base64::Engine;
use furusato_db::users::{self, User};
use rand::RngCore;
use sha2::{Digest, Sha256};
use totp_rs::{Builder, Secret, Totp};

use crate::error::{AppError, AppResult};
use crate::state::AppState;

const PURPOSE: &str = "totp";
const ISSUER: &str = "furusato";

fn keyring(state: &AppState) -> AppResult<&furusato_vault::Keyring> {
    state.keyring.as_deref().ok_or_else(|| {
        AppError::BadRequest(
            "暗号鍵が設定されていないため、二要素認証を利用できません。管理者が `furusato keys init` を実行してください。".into(),
        )
    })
}

fn totp_for(secret: Vec<u8>, account: &str) -> AppResult<Totp> {
    Builder::new()
        .with_secret(Secret::from(secret))
        .with_issuer(Some(ISSUER))
        .with_account_name(account.replace(':', "_"))
        .build()
        .map_err(|e| AppError::Other(anyhow::anyhow!("totp: {e}")))
}

/// A new random secret, sealed for `user`. Returns (sealed bytes, otpauth URL, base32 secret).
pub fn new_secret(state: &AppState, user: &User) -> AppResult<(Vec<u8>, String, String)> {
    let ring = keyring(state)?;
    let mut secret = vec![0u8; 20];
    rand::rng().fill_bytes(&mut secret);
    let totp = totp_for(secret.clone(), &user.login)?;
    let url = totp
        .to_url()
        .map_err(|e| AppError::Other(anyhow::anyhow!("totp url: {e}")))?;
    let base32 = Secret::from(secret.clone()).to_base32();
    let sealed = ring.seal(&secret, &furusato_vault::aad(PURPOSE, user.id.as_bytes()));
    Ok((sealed.into_bytes(), url, base32))
}

/// The otpauth URL and base32 secret of the user's stored (not yet confirmed) secret.
pub fn describe_sealed(
    state: &AppState,
    user: &User,
    sealed: &[u8],
) -> AppResult<(String, String)> {
    let secret = open_secret(state, user, sealed)?;
    let base32 = Secret::from(secret.to_vec()).to_base32();
    let totp = totp_for(secret.to_vec(), &user.login)?;
    let url = totp
        .to_url()
        .map_err(|e| AppError::Other(anyhow::anyhow!("totp url: {e}")))?;
    Ok((url, base32))
}

fn open_secret(
    state: &AppState,
    user: &User,
    sealed: &[u8],
) -> AppResult<furusato_vault::Zeroizing<Vec<u8>>> {
    let ring = keyring(state)?;
    ring.open(sealed, &furusato_vault::aad(PURPOSE, user.id.as_bytes()))
        .map_err(|_| {
            AppError::Other(anyhow::anyhow!(
                "the TOTP secret of a user cannot be decrypted"
            ))
        })
}

fn open(state: &AppState, user: &User, sealed: &[u8]) -> AppResult<Totp> {
    let secret = open_secret(state, user, sealed)?;
    totp_for(secret.to_vec(), &user.login)
}

/// Checks a 6-digit code against a sealed secret; returns the matched time step.
pub fn check_code(
    state: &AppState,
    user: &User,
    sealed: &[u8],
    code: &str,
) -> AppResult<Option<u64>> {
    let code: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let code = furusato_domain::normalize::normalize_digits(&code);
    if code.len() != 6 {
        return Ok(None);
    }
    Ok(open(state, user, sealed)?.check_current(&code))
}

/// Checks a code and accepts its time step only once (no replay within the 90-second window).
pub async fn accept_code(
    state: &AppState,
    user: &User,
    sealed: &[u8],
    code: &str,
) -> AppResult<bool> {
    match check_code(state, user, sealed, code)? {
        Some(step) => Ok(users::accept_totp_step(&state.db, user.id, step as i64).await?),
        None => Ok(false),
    }
}

/// Login step: a TOTP code, or one unused recovery code (consumed).
pub async fn verify_login_code(state: &AppState, user: &User, input: &str) -> AppResult<bool> {
    let Some(sealed) = user.totp_secret_sealed.as_deref() else {
        return Ok(false);
    };
    let trimmed = input.trim();
    let digits = furusato_domain::normalize::normalize_digits(trimmed);
    if digits.len() == 6 && trimmed.chars().count() <= 8 {
        return accept_code(state, user, sealed, trimmed).await;
    }
    let hash = recovery_hash(trimmed);
    Ok(users::use_recovery_code(&state.db, user.id, &hash).await?)
}

/// Ten new recovery codes (shown once) and their hashes (stored).
pub fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let codes: Vec<String> = (0..10)
        .map(|_| {
            let mut b = [0u8; 10];
            rng.fill_bytes(&mut b);
            let s: String = b
                .iter()
                .map(|x| ALPHABET[(*x as usize) % ALPHABET.len()] as char)
                .collect();
            format!("{}-{}", &s[..5], &s[5..])
        })
        .collect();
    let hashes = codes.iter().map(|c| recovery_hash(c)).collect();
    (codes, hashes)
}

/// Recovery codes are compared case-insensitively, ignoring spaces and hyphens.
pub fn recovery_hash(code: &str) -> String {
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    hex::encode(Sha256::digest(
        format!("furusato-recovery:{norm}").as_bytes(),
    ))
}

/// An SVG QR code of `text` as a data: URI for an <img> (no script, allowed by the CSP).
pub fn qr_data_uri(text: &str) -> AppResult<String> {
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| AppError::Other(anyhow::anyhow!("qr: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    Ok(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg.as_bytes())
    ))
}
