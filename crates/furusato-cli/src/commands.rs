//! What each command does.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use anyhow::{Context, bail};
use furusato_db::audit::{self, AuditEntry};
use furusato_db::municipalities::{self, Municipality, NewMunicipality};
use furusato_db::{Db, users};
use furusato_domain::{LocalGovCode, Role};

use crate::cli::*;
use crate::config;

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let g = &cli.global;
    match cli.command {
        Command::Serve(args) => serve(g, &args).await,
        Command::Migrate => {
            let db = config::open_db(g).await?;
            let before = db.migration_status().await?;
            db.migrate().await.context("database migration failed")?;
            let after = db.migration_status().await?;
            println!(
                "migrations: {} applied now, {} in total ({})",
                after.applied - before.applied.min(after.applied),
                after.applied,
                db.backend().as_str()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => crate::demo::run(g, &args).await,
        Command::Doctor => doctor(g).await,
        Command::Data(cmd) => data(g, cmd).await,
        Command::Municipality(cmd) => municipality(g, cmd).await,
        Command::User(cmd) => user(g, cmd).await,
        Command::Keys(cmd) => keys(g, cmd).await,
        Command::Audit(cmd) => audit_cmd(g, cmd).await,
        Command::Sync(cmd) => crate::cmd_sync::run(g, cmd).await,
        Command::Import(cmd) => crate::cmd_import::run(g, cmd).await,
        Command::Export(cmd) => crate::cmd_export::run(g, cmd).await,
        Command::Dev(cmd) => crate::cmd_sync::run_dev(g, cmd).await,
        Command::Bench(cmd) => crate::cmd_bench::run(g, cmd).await,
        Command::Erase(args) => crate::cmd_erase::run(g, args).await,
    }
}

/// Starts the web server on `listen` until Ctrl-C / SIGTERM.
pub async fn serve(g: &Global, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let db = config::open_migrated(g).await?;
    let settings = config::web_settings(g)?;
    let keys = config::load_keys(g)?;
    if keys.is_none() {
        tracing::warn!(
            "no vault keys configured: My Number, TOTP and portal credentials are unavailable (run `furusato keys init`)"
        );
    }
    serve_db(db, settings, keys, &args.listen).await?;
    Ok(ExitCode::SUCCESS)
}

pub async fn serve_db(
    db: Db,
    settings: furusato_web::WebSettings,
    keys: Option<std::sync::Arc<furusato_vault::Keyring>>,
    listen: &str,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!("cannot listen on {listen} (is another server running there? use --listen)")
        })?;
    let addr = listener.local_addr()?;
    println!("furusato is serving on http://{addr}/  (Ctrl-C to stop)");
    let _worker = furusato_intake::worker::spawn(db.clone(), keys.clone()); // 楽天 syncs (scheduled and requested) and other jobs
    let state = furusato_web::AppState::new(db, settings, keys);
    furusato_web::serve(listener, state, shutdown_signal())
        .await
        .context("server error")?;
    println!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Finds a municipality by its 6- or 5-digit code, with a clear error.
pub async fn municipality_by_code(db: &Db, code: &str) -> anyhow::Result<Municipality> {
    let parsed = LocalGovCode::parse(code)
        .map_err(|e| anyhow::anyhow!("{code:?} is not a local-government code: {e}"))?;
    municipalities::find_by_code(db, parsed.as_str()).await?.ok_or_else(|| {
        anyhow::anyhow!(
            "municipality {} is not registered (see `furusato municipality list`, or add it with `furusato municipality add`)",
            parsed.as_str()
        )
    })
}

async fn municipality(g: &Global, cmd: MunicipalityCommand) -> anyhow::Result<ExitCode> {
    let db = config::open_migrated(g).await?;
    match cmd {
        MunicipalityCommand::Add(a) => {
            let code = LocalGovCode::parse(&a.code).map_err(|e| {
                anyhow::anyhow!(
                    "--code {:?} is not a valid local-government code: {e}",
                    a.code
                )
            })?;
            if code.is_prefecture() {
                bail!(
                    "--code {} is a prefecture's code; give the city's code",
                    code.as_str()
                );
            }
            if a.name.trim().is_empty() || a.mayor_name.trim().is_empty() {
                bail!("--name and --mayor-name must not be empty");
            }
            if !a.postal_code.is_empty() {
                furusato_domain::PostalCode::parse(&a.postal_code)
                    .map_err(|e| anyhow::anyhow!("--postal-code {:?}: {e}", a.postal_code))?;
            }
            let m = NewMunicipality {
                code: code.as_str().to_string(),
                name: a.name.trim().to_string(),
                name_kana: a.name_kana.trim().to_string(),
                prefecture_code: code.prefecture().code() as i64,
                mayor_title: a
                    .mayor_title
                    .unwrap_or_else(|| format!("{}長", a.name.trim())),
                mayor_name: a.mayor_name.trim().to_string(),
                issuer_postal_code: a.postal_code.trim().to_string(),
                issuer_address: a.address.trim().to_string(),
                issuer_department: a.department.trim().to_string(),
                issuer_phone: a.phone.trim().to_string(),
            };
            let created = municipalities::insert(&db, &m).await?;
            audit::record(
                &db,
                &AuditEntry::cli(Some(created.tenant()), "municipality.add")
                    .target("municipality", created.id),
            )
            .await?;
            println!("added municipality {} {}", created.code, created.name);
        }
        MunicipalityCommand::List => {
            let all = municipalities::list(&db).await?;
            if all.is_empty() {
                println!(
                    "no municipality yet: add one with `furusato municipality add --code 041009 --name 仙台市 --mayor-name …`"
                );
            }
            for m in all {
                println!("{}  {}  {} {}", m.code, m.name, m.mayor_title, m.mayor_name);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn generated_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let body: String = (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    // Groups of four with symbols so that every strength class is present.
    format!(
        "{}-{}-{}-{}!",
        &body[..4],
        &body[4..8],
        &body[8..12],
        &body[12..]
    )
}

async fn user(g: &Global, cmd: UserCommand) -> anyhow::Result<ExitCode> {
    let db = config::open_migrated(g).await?;
    match cmd {
        UserCommand::Add(a) => {
            let m = municipality_by_code(&db, &a.municipality).await?;
            let role = Role::parse(&a.role).map_err(|_| {
                anyhow::anyhow!(
                    "--role {:?} is not a role (city, city_admin, operator, operator_admin, partner, auditor)",
                    a.role
                )
            })?;
            let login = a.login.trim().to_string();
            if login.is_empty() || login.len() > 64 || login.chars().any(|c| c.is_whitespace()) {
                bail!("--login must be 1–64 characters without spaces");
            }
            let partner_id = match (role, a.partner.as_deref()) {
                (Role::Partner, None) => {
                    bail!("a partner user needs --partner CODE (the partner's code)")
                }
                (Role::Partner, Some(code)) => Some(
                    furusato_db::gifts::partner_by_code(&db, m.tenant(), code)
                        .await?
                        .ok_or_else(|| {
                            anyhow::anyhow!("partner {code:?} does not exist in {}", m.name)
                        })?
                        .id,
                ),
                (_, Some(_)) => bail!("--partner is only for --role partner"),
                (_, None) => None,
            };
            if a.my_number_handler && matches!(role, Role::Partner | Role::Auditor) {
                bail!(
                    "--my-number-handler cannot be granted to role {}",
                    role.as_str()
                );
            }
            let (password, generated) = if a.password_stdin {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .context("cannot read the password from stdin")?;
                let s = s.trim_end_matches(['\r', '\n']).to_string();
                if let Err(msg) = furusato_web::password::check_strength(&s, &login) {
                    bail!("the password is too weak: {}", english_strength(&msg));
                }
                (s, false)
            } else {
                (generated_password(), true)
            };
            let hash = furusato_web::password::hash(&password)?;
            let u = users::insert(
                &db,
                &users::NewUser {
                    municipality_id: m.tenant(),
                    login: login.clone(),
                    display_name: a.name.trim().to_string(),
                    role: role.as_str().to_string(),
                    partner_id,
                    my_number_handler: a.my_number_handler,
                    password_hash: hash,
                    must_change_password: generated,
                },
            )
            .await?;
            audit::record(
                &db,
                &AuditEntry::cli(Some(m.tenant()), "user.add")
                    .target("user", u.id)
                    .detail(serde_json::json!({"role": role.as_str(), "my_number_handler": a.my_number_handler})),
            )
            .await?;
            println!("added user {login} ({}) to {}", role.as_str(), m.name);
            if generated {
                println!(
                    "initial password (shown once; must be changed at first login): {password}"
                );
            }
        }
        UserCommand::ResetPassword {
            municipality,
            login,
        } => {
            let m = municipality_by_code(&db, &municipality).await?;
            let u = find_user(&db, &m, &login).await?;
            let password = generated_password();
            users::set_password(
                &db,
                m.tenant(),
                u.id,
                &furusato_web::password::hash(&password)?,
                true,
            )
            .await?;
            furusato_db::sessions::delete_for_user(&db, u.id).await?;
            audit::record(
                &db,
                &AuditEntry::cli(Some(m.tenant()), "user.reset_password").target("user", u.id),
            )
            .await?;
            println!(
                "new password for {login} (shown once; must be changed at next login): {password}"
            );
        }
        UserCommand::Unlock {
            municipality,
            login,
        } => {
            let m = municipality_by_code(&db, &municipality).await?;
            let u = find_user(&db, &m, &login).await?;
            users::unlock(&db, m.tenant(), u.id).await?;
            audit::record(
                &db,
                &AuditEntry::cli(Some(m.tenant()), "user.unlock").target("user", u.id),
            )
            .await?;
            println!("unlocked {login}");
        }
        UserCommand::List { municipality } => {
            let m = municipality_by_code(&db, &municipality).await?;
            for u in users::list(&db, m.tenant()).await? {
                let mut flags = vec![];
                if u.my_number_handler {
                    flags.push("my_number_handler");
                }
                if u.totp_enabled {
                    flags.push("totp");
                }
                if u.disabled {
                    flags.push("disabled");
                }
                if u.locked_until.is_some_and(|t| t > furusato_db::now_utc()) {
                    flags.push("locked");
                }
                println!(
                    "{:<20} {:<15} {:<20} {}",
                    u.login,
                    u.role,
                    u.display_name,
                    flags.join(",")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The Japanese strength messages, for the CLI.
fn english_strength(ja: &str) -> &'static str {
    if ja.contains("12文字") {
        "use at least 12 characters"
    } else if ja.contains("256") {
        "use at most 256 characters"
    } else if ja.contains("ログインID") {
        "do not include the login name"
    } else {
        "use at least three of: lower case, upper case, digits, symbols"
    }
}

async fn find_user(db: &Db, m: &Municipality, login: &str) -> anyhow::Result<users::User> {
    match users::find_by_login(db, login).await? {
        Some(u) if u.municipality_id == m.id => Ok(u),
        _ => bail!("user {login:?} does not exist in {}", m.name),
    }
}

async fn keys(g: &Global, cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    let path = config::keys_path(g);
    match cmd {
        KeysCommand::Init => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            let ring = furusato_vault::keyfile::init(&path)?;
            println!(
                "created {} (data key {}, blind-index key {}). Keep a backup off the database host: without it, encrypted data cannot be read.",
                path.display(),
                ring.active_key_id(),
                ring.blind_index_key_id()
            );
            if let Ok(db) = config::open_migrated(g).await {
                audit::record(&db, &AuditEntry::cli(None, "keys.init")).await?;
            }
        }
        KeysCommand::Rotate => {
            if std::env::var_os(furusato_vault::ENV_VAR).is_some() {
                bail!(
                    "keys come from FURUSATO_VAULT_KEYS: rotate them where they are managed, then run `furusato keys rotate` with a key file"
                );
            }
            if !path.exists() {
                bail!(
                    "no key file at {}: run `furusato keys init` first",
                    path.display()
                );
            }
            let db = config::open_migrated(g).await?;
            // Resumable: if a previous rotation stopped half-way, its new key is still active: reuse it.
            let current = furusato_vault::Keyring::load_file(&path)?;
            let ring = if crate::keys::anything_stale(&db, &current).await? {
                println!(
                    "resuming: re-encrypting what is still under older keys with active key {}",
                    current.active_key_id()
                );
                current
            } else {
                let (ring, id) = furusato_vault::keyfile::add_key_for_rotation(&path)?;
                println!("new active data key {id}");
                ring
            };
            let done = crate::keys::reencrypt_all(&db, &ring).await?;
            audit::record(
                &db,
                &AuditEntry::cli(None, "keys.rotate").detail(serde_json::json!({
                    "active_key": ring.active_key_id().as_str(),
                    "vault_entries": done.vault_entries,
                    "totp_secrets": done.totp_secrets,
                    "portal_credentials": done.portal_credentials,
                })),
            )
            .await?;
            println!(
                "re-encrypted {} vault entries, {} TOTP secrets and {} portal credentials with key {}. Old keys stay in the file until you remove them. Restart `furusato serve` so that it loads the new key.",
                done.vault_entries,
                done.totp_secrets,
                done.portal_credentials,
                ring.active_key_id()
            );
        }
        KeysCommand::Status => {
            let ring = config::require_keys(g)?;
            println!("active data key: {}", ring.active_key_id());
            println!(
                "data keys: {}",
                ring.data_key_ids()
                    .map(|k| k.as_str().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            println!("blind-index key: {}", ring.blind_index_key_id());
            let db = config::open_migrated(g).await?;
            for (k, n) in furusato_db::vault::count_by_key(&db).await? {
                let known = if ring.has_data_key(
                    &furusato_vault::KeyId::parse(&k)
                        .unwrap_or_else(|| ring.active_key_id().clone()),
                ) {
                    ""
                } else {
                    "  (KEY MISSING from the key file!)"
                };
                println!("  {k}: {n} entries{known}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn audit_cmd(g: &Global, cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    let db = config::open_migrated(g).await?;
    match cmd {
        AuditCommand::Verify => {
            let report = audit::verify(&db).await?;
            match report.first_broken {
                None => {
                    let (seq, hash) = audit::head(&db).await?;
                    println!(
                        "audit trail intact: {} entries, hash chain verified",
                        report.checked
                    );
                    println!("chain head: #{seq} {}", hex::encode(hash));
                    println!(
                        "(keep this line outside the database, e.g. in the operations log: a later run must show the same head or a longer chain)"
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Some(b) => {
                    println!("AUDIT TRAIL BROKEN at entry #{}: {b}", b.seq);
                    println!(
                        "({} entries checked before the break)",
                        report.checked.saturating_sub(1)
                    );
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

async fn data(g: &Global, cmd: DataCommand) -> anyhow::Result<ExitCode> {
    let db = config::open_migrated(g).await?;
    match cmd {
        DataCommand::ImportPostal { file } => {
            let s = furusato_refdata::import_postal(&db, &file)
                .await
                .with_context(|| format!("cannot import postal codes from {}", file.display()))?;
            audit::record(
                &db,
                &AuditEntry::cli(None, "data.import_postal")
                    .detail(serde_json::json!({"rows": s.rows, "sha256": s.sha256})),
            )
            .await?;
            println!(
                "imported {} postal-code records ({:?}) in {:.1} s",
                s.rows,
                s.format,
                s.elapsed.as_secs_f64()
            );
        }
        DataCommand::ImportLocalgov { file } => {
            let s = furusato_refdata::import_localgov(&db, &file)
                .await
                .with_context(|| {
                    format!(
                        "cannot import local-government codes from {}",
                        file.display()
                    )
                })?;
            audit::record(
                &db,
                &AuditEntry::cli(None, "data.import_localgov")
                    .detail(serde_json::json!({"rows": s.rows, "sha256": s.sha256})),
            )
            .await?;
            println!(
                "imported {} local-government codes in {:.1} s",
                s.rows,
                s.elapsed.as_secs_f64()
            );
        }
        DataCommand::Status => {
            let postal = furusato_db::reference::count_postal(&db).await?;
            let lg = furusato_db::reference::count_local_gov(&db).await?;
            println!("postal codes: {postal} records");
            println!("local-government codes: {lg} records");
            for i in furusato_db::reference::latest_imports(&db).await? {
                println!(
                    "  last {} import: {} ({} rows, sha256 {}) at {}",
                    i.kind,
                    i.source_name,
                    i.rows,
                    &i.sha256[..12.min(i.sha256.len())],
                    furusato_domain::jst::format_datetime_ja(i.imported_at)
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One line of the doctor's report.
enum Check {
    Ok(String),
    Warn(String),
    Fail(String),
}

async fn doctor(g: &Global) -> anyhow::Result<ExitCode> {
    let mut checks: Vec<(&str, Check)> = vec![];
    let url = config::database_url(g)?;
    let db = match Db::connect(&url).await {
        Ok(db) => match db.ping().await {
            Ok(()) => {
                checks.push((
                    "database",
                    Check::Ok(format!(
                        "{} reachable at {}",
                        db.backend().as_str(),
                        config::redact_url(&url)
                    )),
                ));
                Some(db)
            }
            Err(e) => {
                checks.push((
                    "database",
                    Check::Fail(format!("{} does not answer: {e}", config::redact_url(&url))),
                ));
                None
            }
        },
        Err(e) => {
            checks.push((
                "database",
                Check::Fail(format!("cannot open {}: {e}", config::redact_url(&url))),
            ));
            None
        }
    };
    if let Some(db) = &db {
        match db.migration_status().await {
            Ok(s) if s.is_current() => checks.push(("migrations", Check::Ok(format!("current ({} applied)", s.applied)))),
            Ok(s) if s.unknown > 0 => checks.push((
                "migrations",
                Check::Fail(format!("the database has {} migrations this program does not know: it is newer than this program", s.unknown)),
            )),
            Ok(s) => checks.push((
                "migrations",
                Check::Fail(format!("{} of {} pending: run `furusato migrate`", s.pending, s.known)),
            )),
            Err(e) => checks.push(("migrations", Check::Fail(e.to_string()))),
        }
        let migrated = db
            .migration_status()
            .await
            .map(|s| s.is_current())
            .unwrap_or(false);
        if migrated {
            match municipalities::list(db).await {
                Ok(m) if m.is_empty() => checks.push((
                    "municipalities",
                    Check::Warn(
                        "none registered: `furusato municipality add` (or `furusato demo`)".into(),
                    ),
                )),
                Ok(m) => checks.push((
                    "municipalities",
                    Check::Ok(
                        m.iter()
                            .map(|m| format!("{} {}", m.code, m.name))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                )),
                Err(e) => checks.push(("municipalities", Check::Fail(e.to_string()))),
            }
            let postal = furusato_db::reference::count_postal(db).await.unwrap_or(0);
            let lg = furusato_db::reference::count_local_gov(db)
                .await
                .unwrap_or(0);
            checks.push((
                "postal codes",
                if postal > 100_000 {
                    Check::Ok(format!("{postal} records"))
                } else {
                    Check::Warn(format!(
                        "{postal} records: load Japan Post's file with `furusato data import-postal utf_ken_all.csv` (download: https://www.post.japanpost.jp/zipcode/download.html); address autofill is off until then"
                    ))
                },
            ));
            checks.push((
                "local-gov codes",
                if lg > 1_700 {
                    Check::Ok(format!("{lg} records"))
                } else {
                    Check::Warn(format!(
                        "{lg} records: load 総務省's list with `furusato data import-localgov 000925835.xlsx` (download: https://www.soumu.go.jp/denshijiti/code.html); needed to route 申告特例通知"
                    ))
                },
            ));
            match audit::verify(db).await {
                Ok(r) if r.first_broken.is_none() => checks.push((
                    "audit trail",
                    Check::Ok(format!("{} entries, hash chain intact", r.checked)),
                )),
                Ok(r) => checks.push((
                    "audit trail",
                    Check::Fail(format!(
                        "BROKEN: {}",
                        r.first_broken.map(|b| b.to_string()).unwrap_or_default()
                    )),
                )),
                Err(e) => checks.push(("audit trail", Check::Fail(e.to_string()))),
            }
        }
    }
    match crate::fonts::find_japanese_fonts() {
        fonts if fonts.is_empty() => checks.push((
            "Japanese font",
            Check::Fail(
                "none found: install one (Debian: apt-get install fonts-morisawa-bizud-mincho fonts-morisawa-bizud-gothic, or fonts-ipaexfont) or set FURUSATO_FONT_DIR; PDFs cannot be rendered without it".into(),
            ),
        )),
        fonts => checks.push((
            "Japanese font",
            Check::Ok(fonts.iter().take(3).map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")),
        )),
    }
    match config::key_source(g) {
        config::KeySource::Missing(p) => checks.push((
            "vault keys",
            Check::Warn(format!(
                "no key file at {}: run `furusato keys init` (My Number, TOTP and portal credentials need it)",
                p.display()
            )),
        )),
        source => match config::load_keys(g) {
            Ok(Some(ring)) => {
                let from = match &source {
                    config::KeySource::Env => "FURUSATO_VAULT_KEYS".to_string(),
                    config::KeySource::File(p) => p.display().to_string(),
                    config::KeySource::Missing(_) => String::new(),
                };
                let mut msg = format!("active key {} from {from}", ring.active_key_id());
                let mut warn = false;
                if let config::KeySource::File(p) = &source
                    && furusato_vault::keyfile::permissions_too_open(p).unwrap_or(false) {
                        msg.push_str("; the file is readable by other users: chmod 600 it");
                        warn = true;
                    }
                if let Some(db) = &db
                    && let Ok(counts) = furusato_db::vault::count_by_key(db).await {
                        let missing: Vec<_> = counts
                            .iter()
                            .filter(|(k, _)| {
                                furusato_vault::KeyId::parse(k).is_none_or(|id| !ring.has_data_key(&id))
                            })
                            .map(|(k, n)| format!("{k} ({n} entries)"))
                            .collect();
                        if !missing.is_empty() {
                            checks.push((
                                "vault keys",
                                Check::Fail(format!("{msg}; keys missing for {}", missing.join(", "))),
                            ));
                            return finish(checks);
                        }
                    }
                checks.push(("vault keys", if warn { Check::Warn(msg) } else { Check::Ok(msg) }));
            }
            Ok(None) => {}
            Err(e) => checks.push(("vault keys", Check::Fail(format!("{e:#}")))),
        },
    }
    match config::web_settings(g) {
        Ok(s) => {
            let personal = [
                "city",
                "city_admin",
                "operator",
                "operator_admin",
                "partner",
                "auditor",
            ];
            let missing: Vec<_> = personal
                .iter()
                .filter(|r| !s.totp_required(Role::parse(r).unwrap_or(Role::City)))
                .collect();
            if missing.is_empty() {
                checks.push((
                    "second factor",
                    Check::Ok("required for every role that sees personal data".into()),
                ));
            } else {
                checks.push((
                    "second factor",
                    Check::Warn(format!(
                        "not required for {}: set [web] totp_required_roles in furusato.toml for production",
                        missing.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
                    )),
                ));
            }
        }
        Err(e) => checks.push(("configuration", Check::Fail(format!("{e:#}")))),
    }
    finish(checks)
}

fn finish(checks: Vec<(&str, Check)>) -> anyhow::Result<ExitCode> {
    let color = std::io::stdout().is_terminal();
    let mut failed = false;
    for (name, c) in &checks {
        let (tag, msg) = match c {
            Check::Ok(m) => ("ok  ", m),
            Check::Warn(m) => ("warn", m),
            Check::Fail(m) => {
                failed = true;
                ("FAIL", m)
            }
        };
        if color {
            let code = match tag {
                "ok  " => "32",
                "warn" => "33",
                _ => "31",
            };
            println!("[\x1b[{code}m{tag}\x1b[0m] {name}: {msg}");
        } else {
            println!("[{tag}] {name}: {msg}");
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
