//! Resolving the database URL, the vault keys and the web settings from flags, environment and
//! the optional `furusato.toml`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use furusato_db::Db;
use furusato_vault::Keyring;
use furusato_web::WebSettings;

use crate::cli::Global;

pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "info,sqlx=error,tower_http=warn",
        1 => "debug,sqlx=info,hyper=info",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("FURUSATO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The database URL: `--database`/`FURUSATO_DATABASE_URL`, or `DATA_DIR/furusato.db`.
pub fn database_url(g: &Global) -> anyhow::Result<String> {
    if let Some(url) = g.database.as_deref().filter(|u| !u.trim().is_empty()) {
        return Ok(url.trim().to_string());
    }
    std::fs::create_dir_all(&g.data_dir)
        .with_context(|| format!("cannot create the data directory {}", g.data_dir.display()))?;
    Ok(format!(
        "sqlite://{}",
        g.data_dir.join("furusato.db").display()
    ))
}

/// Opens the database (without migrating).
pub async fn open_db(g: &Global) -> anyhow::Result<Db> {
    let url = database_url(g)?;
    Db::connect(&url)
        .await
        .with_context(|| format!("cannot open the database at {}", redact_url(&url)))
}

/// Opens the database and applies pending migrations.
pub async fn open_migrated(g: &Global) -> anyhow::Result<Db> {
    let db = open_db(g).await?;
    db.migrate().await.context("database migration failed")?;
    Ok(db)
}

/// Hides a password in a database URL for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

pub fn keys_path(g: &Global) -> PathBuf {
    g.keys_file
        .clone()
        .unwrap_or_else(|| g.data_dir.join("vault-keys.json"))
}

/// Where the keys come from, for doctor.
pub enum KeySource {
    Env,
    File(PathBuf),
    Missing(PathBuf),
}

pub fn key_source(g: &Global) -> KeySource {
    if std::env::var_os(furusato_vault::ENV_VAR).is_some() {
        return KeySource::Env;
    }
    let p = keys_path(g);
    if p.exists() {
        KeySource::File(p)
    } else {
        KeySource::Missing(p)
    }
}

/// The vault keys, if configured.
pub fn load_keys(g: &Global) -> anyhow::Result<Option<Arc<Keyring>>> {
    match key_source(g) {
        KeySource::Env => Ok(Some(Arc::new(
            Keyring::from_env().context("FURUSATO_VAULT_KEYS is not a valid key set")?,
        ))),
        KeySource::File(p) => Ok(Some(Arc::new(
            Keyring::load_file(&p)
                .with_context(|| format!("cannot load the key file {}", p.display()))?,
        ))),
        KeySource::Missing(_) => Ok(None),
    }
}

/// The keys, or an error telling how to create them.
pub fn require_keys(g: &Global) -> anyhow::Result<Arc<Keyring>> {
    load_keys(g)?.ok_or_else(|| {
        anyhow::anyhow!(
            "no vault keys: run `furusato keys init` (creates {}) or set FURUSATO_VAULT_KEYS",
            keys_path(g).display()
        )
    })
}

fn config_path(g: &Global) -> Option<PathBuf> {
    match &g.config {
        Some(p) => Some(p.clone()),
        None => {
            let p = g.data_dir.join("furusato.toml");
            p.exists().then_some(p)
        }
    }
}

/// Web settings: defaults, then `[web]` of the config file, then `FURUSATO_WEB_*` variables.
pub fn web_settings(g: &Global) -> anyhow::Result<WebSettings> {
    let mut fig = Figment::from(Serialized::defaults(WebSettings::default()));
    if let Some(p) = config_path(g) {
        if !p.exists() {
            anyhow::bail!("the configuration file {} does not exist", p.display());
        }
        fig = fig.merge(Figment::from(Toml::file(&p)).focus("web"));
    }
    fig = fig.merge(Env::prefixed("FURUSATO_WEB_"));
    let settings: WebSettings = fig.extract().context("invalid configuration")?;
    settings
        .validate()
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    Ok(settings)
}
