//! Password hashing with argon2id (PHC strings), run off the async threads.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

/// Minimum length and composition rules for new passwords; returns a Japanese message.
pub fn check_strength(password: &str, login: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < 12 {
        return Err("パスワードは12文字以上にしてください。".into());
    }
    if n > 256 {
        return Err("パスワードは256文字以内にしてください。".into());
    }
    if password.eq_ignore_ascii_case(login) || password.contains(login) && !login.is_empty() {
        return Err("パスワードにログインIDを含めないでください。".into());
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|b| **b).count() < 3 {
        return Err(
            "パスワードには英大文字・英小文字・数字・記号のうち3種類以上を含めてください。".into(),
        );
    }
    Ok(())
}

/// Hashes a password (argon2id, default parameters).
pub fn hash(password: &str) -> anyhow::Result<String> {
    let hash: PasswordHash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))?;
    Ok(hash.to_string())
}

/// Verifies a password against a stored PHC string.
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

pub async fn hash_async(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash(&password)).await?
}

pub async fn verify_async(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || verify(&password, &phc))
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash("Correct-Horse-9").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("Correct-Horse-9", &h));
        assert!(!verify("correct-horse-9", &h));
        assert!(!verify("x", "not a phc string"));
    }

    #[test]
    fn strength_rules() {
        assert!(check_strength("short", "u").is_err());
        assert!(check_strength("alllowercaseletters", "u").is_err());
        assert!(check_strength("Sendai-Furusato-2026", "clerk").is_ok());
        assert!(check_strength("clerk-Sendai-2026", "clerk").is_err());
    }
}
