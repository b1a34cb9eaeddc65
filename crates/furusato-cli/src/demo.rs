//! `furusato demo`: a ready-to-click 仙台市 with synthetic data (and a small second city, 札幌市,
//! to show tenancy), one user per role with freshly generated passwords, then the server.
//!
//! Everything generated is fictitious: names and addresses come from `furusato-synth`, e-mail
//! addresses use reserved domains, and My Numbers start with the synthetic prefix 9999 and are
//! flagged `synthetic` in the vault.

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use furusato_db::args::Arg;
use furusato_db::audit::{self, AuditEntry};
use furusato_db::dialect::bulk_insert;
use furusato_db::donations::{self, NewDonation, NewDonationItem};
use furusato_db::donors::{self, NewDonor};
use furusato_db::gifts::{self, NewGift, NewPartner};
use furusato_db::municipalities::{self, Municipality, NewMunicipality};
use furusato_db::{Db, MunicipalityId, counters, new_id, now_utc, users, vault};
use furusato_domain::{Role, jst};
use furusato_synth::{AddressBook, AddressSeed, Generator, LedgerParams, Person};
use furusato_vault::Keyring;
use time::macros::date;
use uuid::Uuid;

use crate::cli::{DemoArgs, Global};
use crate::config;

/// Donations written per transaction.
const BATCH: usize = 5_000;

struct City {
    code: &'static str,
    name: &'static str,
    name_kana: &'static str,
    mayor_name: &'static str,
    postal_code: &'static str,
    address: &'static str,
    department: &'static str,
    phone: &'static str,
    login_prefix: &'static str,
}

const SENDAI: City = City {
    code: "041009",
    name: "仙台市",
    name_kana: "センダイシ",
    mayor_name: "杜野 一郎",
    postal_code: "9808671",
    address: "宮城県仙台市青葉区国分町三丁目7番1号",
    department: "財政局 ふるさと納税担当",
    phone: "022-000-0000",
    login_prefix: "",
};

const SAPPORO: City = City {
    code: "011002",
    name: "札幌市",
    name_kana: "サッポロシ",
    mayor_name: "北野 花子",
    postal_code: "0608611",
    address: "北海道札幌市中央区北1条西2丁目",
    department: "ふるさと納税担当",
    phone: "011-000-0000",
    login_prefix: "sapporo-",
};

pub async fn run(g: &Global, args: &DemoArgs) -> anyhow::Result<ExitCode> {
    if args.size < 10 {
        anyhow::bail!("--size must be at least 10");
    }
    let db = config::open_migrated(g).await?;
    let keys = match config::load_keys(g)? {
        Some(k) => k,
        None => {
            let path = config::keys_path(g);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let ring = furusato_vault::keyfile::init(&path)
                .with_context(|| format!("cannot create the demo key file {}", path.display()))?;
            println!("created vault keys at {} (demo)", path.display());
            std::sync::Arc::new(ring)
        }
    };
    let addresses = address_book(&db).await?;
    let sendai = ensure_city(&db, &SENDAI).await?;
    let sapporo = ensure_city(&db, &SAPPORO).await?;
    let mut logins = vec![];
    for (city, size, seed_offset, full_roles) in [
        (&sendai, args.size, 0u64, true),
        (&sapporo, (args.size / 25).max(10), 1, false),
    ] {
        let t = city.tenant();
        let existing = donations::count(&db, t).await?;
        if existing > 0 && args.reset {
            println!("{}: deleting the previous demo data …", city.name);
            municipalities::delete_ledger_data(&db, t).await?;
        }
        if existing == 0 || args.reset {
            let started = Instant::now();
            let stats = generate(
                &db,
                &keys,
                city,
                size,
                args.seed + seed_offset,
                addresses.clone(),
            )
            .await?;
            println!(
                "{}: generated {} donors and {} donations in {:.1} s",
                city.name,
                stats.0,
                stats.1,
                started.elapsed().as_secs_f64()
            );
            audit::record(
                &db,
                &AuditEntry::cli(Some(t), "demo.generate")
                    .detail(serde_json::json!({"donors": stats.0, "donations": stats.1, "seed": args.seed + seed_offset})),
            )
            .await?;
        } else {
            println!(
                "{}: keeping the existing {} donations (use --reset to generate them again)",
                city.name, existing
            );
        }
        logins.extend(ensure_users(&db, city, full_roles).await?);
    }
    furusato_db::dialect::analyze(&db).await?;

    println!();
    println!("Demo logins (passwords are new on every `furusato demo` run; synthetic data only):");
    for (login, password, role, city) in &logins {
        println!("  {login:<22} {password:<24} {role} ({city})");
    }
    if args.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    let settings = config::web_settings(g)?;
    println!();
    crate::commands::serve_db(db, settings, Some(keys), &args.serve.listen).await?;
    Ok(ExitCode::SUCCESS)
}

/// Addresses for synthetic people: the loaded postal-code table when present, else the built-in set.
async fn address_book(db: &Db) -> anyhow::Result<AddressBook> {
    let rows = furusato_db::reference::postal_sample(db, 200_000).await?;
    if rows.len() < 1_000 {
        return Ok(AddressBook::builtin());
    }
    let seeds = rows.into_iter().map(|r| AddressSeed {
        postal_code: r.postal_code,
        prefecture: r.prefecture,
        city: r.city,
        town: r.town,
        town_kana: r.town_kana,
    });
    Ok(AddressBook::from_seeds(seeds).unwrap_or_else(|_| AddressBook::builtin()))
}

async fn ensure_city(db: &Db, c: &City) -> anyhow::Result<Municipality> {
    if let Some(m) = municipalities::find_by_code(db, c.code).await? {
        return Ok(m);
    }
    let code = furusato_domain::LocalGovCode::parse(c.code)?;
    let m = municipalities::insert(
        db,
        &NewMunicipality {
            code: c.code.into(),
            name: c.name.into(),
            name_kana: c.name_kana.into(),
            prefecture_code: code.prefecture().code() as i64,
            mayor_title: format!("{}長", c.name),
            mayor_name: c.mayor_name.into(),
            issuer_postal_code: c.postal_code.into(),
            issuer_address: c.address.into(),
            issuer_department: c.department.into(),
            issuer_phone: c.phone.into(),
        },
    )
    .await?;
    audit::record(
        db,
        &AuditEntry::cli(Some(m.tenant()), "municipality.add").target("municipality", m.id),
    )
    .await?;
    Ok(m)
}

/// Creates (or re-keys) one user per role; returns (login, password, role label, city).
async fn ensure_users(
    db: &Db,
    city: &Municipality,
    full: bool,
) -> anyhow::Result<Vec<(String, String, String, String)>> {
    let prefix = if city.code == SENDAI.code {
        SENDAI.login_prefix
    } else {
        SAPPORO.login_prefix
    };
    let roles: Vec<(Role, &str, &str, bool)> = if full {
        vec![
            (Role::City, "city", "仙台 市子", false),
            (Role::CityAdmin, "city-admin", "青葉 管理", false),
            (Role::Operator, "operator", "宮城 作業", true),
            (Role::OperatorAdmin, "operator-admin", "泉 運営", false),
            (Role::Partner, "partner", "杜の都フーズ 出荷担当", false),
            (Role::Auditor, "auditor", "若林 監査", false),
        ]
    } else {
        vec![
            (Role::City, "city", "札幌 市子", false),
            (Role::Operator, "operator", "札幌 作業", false),
        ]
    };
    let partner = gifts::partners(db, city.tenant())
        .await?
        .into_iter()
        .next()
        .map(|p| p.id);
    let mut out = vec![];
    for (role, login, name, handler) in roles {
        let login = format!("{prefix}{login}");
        let password = demo_password();
        let hash = furusato_web::password::hash(&password)?;
        let partner_id = if role == Role::Partner { partner } else { None };
        match users::find_by_login(db, &login).await? {
            Some(u) if u.municipality_id == city.id => {
                users::set_password(db, city.tenant(), u.id, &hash, false).await?;
                users::update_access(
                    db,
                    city.tenant(),
                    u.id,
                    role.as_str(),
                    partner_id,
                    handler,
                    false,
                )
                .await?;
                users::unlock(db, city.tenant(), u.id).await?;
            }
            Some(_) => anyhow::bail!("login {login} already belongs to another municipality"),
            None => {
                users::insert(
                    db,
                    &users::NewUser {
                        municipality_id: city.tenant(),
                        login: login.clone(),
                        display_name: name.to_string(),
                        role: role.as_str().to_string(),
                        partner_id,
                        my_number_handler: handler,
                        password_hash: hash,
                        must_change_password: false,
                    },
                )
                .await?;
            }
        }
        let label = if handler {
            format!("{}（個人番号取扱者）", role.label_ja())
        } else {
            role.label_ja().to_string()
        };
        out.push((login, password, label, city.name.clone()));
    }
    Ok(out)
}

fn demo_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let s: String = (0..12)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("Demo-{}-{}!", &s[..6], &s[6..])
}

/// Writes partners, gifts, donors, donations (with gift lines) and synthetic My Numbers for
/// `city`. Also used by `furusato bench export` to make its data.
pub(crate) async fn generate(
    db: &Db,
    keys: &Keyring,
    city: &Municipality,
    size: usize,
    seed: u64,
    addresses: AddressBook,
) -> anyhow::Result<(usize, usize)> {
    let t = city.tenant();
    let today = jst::today_jst();
    let to = today.min(date!(2026 - 12 - 31));
    let from = date!(2024 - 01 - 01);
    let gift_seeds = furusato_synth::default_gifts();
    let partner_seeds = furusato_synth::default_partners();

    // Partners and gifts (version 1 valid from the start of the period).
    let mut tx = db.begin().await?;
    let mut partner_ids = vec![];
    for p in &partner_seeds {
        partner_ids.push(
            gifts::insert_partner(
                &mut tx,
                t,
                &NewPartner {
                    code: p.code.clone(),
                    name: p.name.clone(),
                    name_kana: p.name_kana.clone(),
                    ..Default::default()
                },
            )
            .await?,
        );
    }
    let mut gift_ids = vec![];
    for gs in &gift_seeds {
        let (gid, vid) = gifts::insert_gift(
            &mut tx,
            t,
            &NewGift {
                code: gs.code.clone(),
                partner_id: partner_ids[gs.partner_index],
                name: gs.name.clone(),
                amount: gs.amount,
                cost: gs.cost,
                valid_from: from,
            },
        )
        .await?;
        gift_ids.push((gid, vid, gs.name.clone()));
    }
    tx.commit().await?;

    let donors_n = (size * 5).div_ceil(8).max(1);
    let generator = Generator::new(seed, addresses);
    let mut params = LedgerParams::new(donors_n, size, from, to, &gift_seeds);
    params.home_city = Some(&city.name);
    let plan = generator
        .generate_ledger(params)
        .map_err(|e| anyhow::anyhow!("cannot plan the demo data: {e}"))?;

    // A large load builds the secondary indexes once at the end instead of row by row.
    let dropped = if size >= 100_000 {
        furusato_db::dialect::drop_secondary_indexes(
            db,
            &["donors", "donations", "donation_items", "vault_entries"],
        )
        .await?
    } else {
        vec![]
    };
    let phase = Instant::now();

    // Donors, in batches.
    let mut donor_ids: Vec<Uuid> = Vec::with_capacity(donors_n);
    let now = now_utc();
    let mut batch = vec![];
    let mut tx = db.begin().await?;
    for (i, p) in plan.donors().enumerate() {
        let id = new_id();
        donor_ids.push(id);
        batch.push(donors::insert_row(id, t, &new_donor(&p), now));
        if batch.len() == BATCH {
            bulk_insert(
                &mut tx,
                "donors",
                &donors::INSERT_COLUMNS,
                std::mem::take(&mut batch),
                "",
            )
            .await?;
            if i % (BATCH * 10) == 0 {
                tx.commit().await?;
                tx = db.begin().await?;
            }
        }
    }
    bulk_insert(&mut tx, "donors", &donors::INSERT_COLUMNS, batch, "").await?;
    tx.commit().await?;

    // Donations with gift lines; My Numbers of one-stop applicants into the vault.
    let mut serials: std::collections::BTreeMap<i32, i64> = Default::default();
    let mut sealed_donors: HashSet<usize> = HashSet::new();
    let mut rows = vec![];
    let mut items = vec![];
    let mut secrets = vec![];
    let mut tx = db.begin().await?;
    for d in plan.donations() {
        let fy = jst::fiscal_year(d.donated_on);
        let serial = serials.entry(fy).or_insert(0);
        *serial += 1;
        let number = donations::format_donation_number(fy, *serial);
        let id = new_id();
        let nd = NewDonation {
            donor_id: donor_ids[d.donor_index],
            channel: d.channel.as_str().into(),
            portal: d.portal.map(|p| p.as_str().to_string()),
            external_id: d.external_id.clone(),
            amount: Some(d.amount),
            donated_on: d.donated_on,
            received_on: d.received_on,
            applied_at: Some(d.applied_at.to_offset(time::UtcOffset::UTC)),
            payment_method: d.payment_method.as_str().into(),
            payment_status: d.payment_status.as_str().into(),
            use_of_funds: d.use_of_funds.clone(),
            onestop_wanted: d.onestop_wanted,
            receipt_wanted: d.receipt_wanted,
            gift_declined: d.gift_declined,
            note: String::new(),
        };
        rows.push(donations::insert_row(id, t, number, &nd, now));
        for (line, gl) in d.gift_lines.iter().enumerate() {
            let (gid, vid, name) = &gift_ids[gl.gift_index];
            items.push(donations::item_insert_row(
                t,
                id,
                line as i64 + 1,
                &NewDonationItem {
                    gift_id: Some(*gid),
                    gift_version_id: Some(*vid),
                    gift_code: gl.code.clone(),
                    name: name.clone(),
                    quantity: gl.quantity as i64,
                    amount: Some(gl.amount),
                    ship_to_id: None,
                },
            ));
        }
        if d.onestop_wanted && sealed_donors.insert(d.donor_index) {
            let p: Person = plan.donor(d.donor_index);
            secrets.push(seal_my_number(keys, t, donor_ids[d.donor_index], &p, now));
        }
        if rows.len() == BATCH {
            flush(&mut tx, &mut rows, &mut items, &mut secrets).await?;
            tx.commit().await?;
            tx = db.begin().await?;
        }
    }
    flush(&mut tx, &mut rows, &mut items, &mut secrets).await?;
    for (fy, last) in serials {
        counters::reserve(&mut tx, t, &counters::donation_number_counter(fy), last).await?;
    }
    tx.commit().await?;
    if !dropped.is_empty() {
        let loaded = phase.elapsed();
        furusato_db::dialect::restore_indexes(db, dropped).await?;
        println!(
            "  rows written in {:.1} s, indexes rebuilt in {:.1} s",
            loaded.as_secs_f64(),
            (phase.elapsed() - loaded).as_secs_f64()
        );
    }
    Ok((plan.donor_count(), plan.donation_count()))
}

async fn flush(
    tx: &mut furusato_db::Tx,
    rows: &mut Vec<Vec<Arg>>,
    items: &mut Vec<Vec<Arg>>,
    secrets: &mut Vec<Vec<Arg>>,
) -> anyhow::Result<()> {
    bulk_insert(
        tx,
        "donations",
        &donations::INSERT_COLUMNS,
        std::mem::take(rows),
        "",
    )
    .await?;
    bulk_insert(
        tx,
        "donation_items",
        &donations::ITEM_INSERT_COLUMNS,
        std::mem::take(items),
        "",
    )
    .await?;
    bulk_insert(
        tx,
        "vault_entries",
        &vault::INSERT_COLUMNS,
        std::mem::take(secrets),
        "",
    )
    .await?;
    Ok(())
}

fn seal_my_number(
    keys: &Keyring,
    t: MunicipalityId,
    donor_id: Uuid,
    p: &Person,
    now: time::OffsetDateTime,
) -> Vec<Arg> {
    let id = new_id();
    let number = p.my_number.as_bytes();
    let sealed = keys.seal(number, &furusato_vault::aad("my_number", id.as_bytes()));
    let bidx = keys.blind_index("my_number", number);
    let last4 = &p.my_number[p.my_number.len() - 4..];
    vault::insert_row(
        t,
        &vault::NewVaultEntry {
            id,
            purpose: "my_number",
            owner_kind: "donor",
            owner_id: donor_id,
            key_id: keys.active_key_id().as_str(),
            sealed: sealed.as_bytes(),
            blind_index: Some(&bidx),
            last4,
            synthetic: true,
        },
        now,
    )
}

fn new_donor(p: &Person) -> NewDonor {
    NewDonor {
        family_name: p.family_name.clone(),
        given_name: p.given_name.clone(),
        family_kana: p.family_kana.clone(),
        given_kana: p.given_kana.clone(),
        postal_code: p.postal_code.clone(),
        prefecture: p.prefecture.clone(),
        city: p.city.clone(),
        address1: p.address1(),
        address2: p.address2().to_string(),
        phone: p.phone.clone(),
        email: p.email.clone(),
        sex: p.sex.as_str().to_string(),
        birth_date: Some(p.birth_date),
    }
}
