//! `furusato erase` end to end: the binary against a fresh database (SQLite, or PostgreSQL when
//! FURUSATO_TEST_DATABASE_URL is set), seeded through furusato-db.

use std::process::{Command, Output};

use furusato_db::audit::{self, AuditFilter};
use furusato_db::donations::{self, NewDonation};
use furusato_db::donors::{self, NewDonor};
use furusato_db::erasure;
use furusato_db::municipalities::{self, NewMunicipality};
use furusato_db::testing::{TestDb, test_db};
use furusato_db::{Db, MunicipalityId};
use time::{Date, Month};
use uuid::Uuid;

fn day(y: i32, m: u8, d: u8) -> Date {
    Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap()
}

struct World {
    db: TestDb,
    dir: tempfile::TempDir,
    tenant: MunicipalityId,
    old: [Uuid; 2],
    recent: Uuid,
}

async fn donation(db: &Db, t: MunicipalityId, donor_id: Uuid, on: Date) -> Uuid {
    let mut tx = db.begin().await.unwrap();
    let (id, _) = donations::insert(
        &mut tx,
        t,
        &NewDonation {
            donor_id,
            channel: "bank_transfer".into(),
            portal: None,
            external_id: None,
            amount: Some(30_000),
            donated_on: on,
            received_on: Some(on),
            applied_at: None,
            payment_method: "bank_transfer".into(),
            payment_status: "paid".into(),
            use_of_funds: String::new(),
            onestop_wanted: false,
            receipt_wanted: true,
            gift_declined: false,
            note: String::new(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

/// 仙台市 with two donations of 2012–2013 (past the default 10 years) and one of this year.
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
    let mut tx = db.begin().await.unwrap();
    let donor_id = donors::insert(
        &mut tx,
        tenant,
        &NewDonor {
            family_name: "古川".into(),
            given_name: "一".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let old = [
        donation(&db, tenant, donor_id, day(2012, 6, 1)).await,
        donation(&db, tenant, donor_id, day(2013, 3, 31)).await,
    ];
    let recent = donation(&db, tenant, donor_id, furusato_domain::jst::today_jst()).await;
    World {
        db,
        dir: tempfile::tempdir().unwrap(),
        tenant,
        old,
        recent,
    }
}

fn furusato(w: &World, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_furusato"))
        .arg("--database")
        .arg(&w.db.url)
        .arg("--data-dir")
        .arg(w.dir.path())
        .args(args)
        .env("USER", "ops-tester")
        .env_remove("FURUSATO_VAULT_KEYS")
        .output()
        .expect("run furusato")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

async fn exists(w: &World, id: Uuid) -> bool {
    donations::get(&w.db, w.tenant, id).await.unwrap().is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_prints_what_would_go_and_changes_nothing() {
    let w = world().await;
    let out = furusato(&w, &["erase", "--municipality", "041009", "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("DRY RUN: nothing was changed"), "{text}");
    let donations_line = text
        .lines()
        .find(|l| l.contains("寄附記録") && l.contains(" 寄附 "))
        .expect("a line for donations");
    assert!(
        donations_line.contains(" 2 ") && donations_line.contains("行削除"),
        "{donations_line}"
    );
    assert!(text.contains("total: 2 records would be erased"));
    assert!(exists(&w, w.old[0]).await && exists(&w, w.old[1]).await);
    assert!(
        erasure::list_reports(&w.db, w.tenant, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let f = AuditFilter {
        action: Some("erase".into()),
        ..Default::default()
    };
    assert_eq!(
        audit::search(&w.db, w.tenant, &f, 1, 10)
            .await
            .unwrap()
            .items
            .len(),
        0
    );

    // A future day is for previews only.
    let out = furusato(
        &w,
        &["erase", "--municipality", "041009", "--as-of", "2099-01-01"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--as-of 2099-01-01 is after today"),
        "{}",
        stderr(&out)
    );
    assert!(exists(&w, w.recent).await);
    let out = furusato(
        &w,
        &[
            "erase",
            "--municipality",
            "041009",
            "--as-of",
            "2099-01-01",
            "--dry-run",
        ],
    );
    assert!(out.status.success());
    assert!(
        stdout(&out).contains("total: 4 records would be erased"),
        "{}",
        stdout(&out)
    );

    let out = furusato(&w, &["erase", "--municipality", "011002"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("municipality 011002 is not registered"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erase_deletes_what_is_past_retention_and_writes_the_report() {
    let w = world().await;
    let csv_path = w.dir.path().join("report.csv");
    let out = furusato(
        &w,
        &[
            "erase",
            "--municipality",
            "041009",
            "--report-csv",
            csv_path.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("total: 2 records erased"), "{text}");
    assert!(!exists(&w, w.old[0]).await && !exists(&w, w.old[1]).await);
    assert!(exists(&w, w.recent).await, "within retention");

    // The stored report, the CSV and the audit entry agree.
    let reports = erasure::list_reports(&w.db, w.tenant, 10).await.unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].executed_by, "cli:ops-tester");
    assert_eq!(
        reports[0].summary.count(
            furusato_db::retention::DataClass::Donations,
            erasure::target::DONATIONS
        ),
        2
    );
    let bytes = std::fs::read(&csv_path).unwrap();
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
    let csv = String::from_utf8(bytes).unwrap();
    assert!(csv.contains(&reports[0].id.to_string()));
    assert!(
        csv.contains("\"消去実施\",\"寄附記録\",\"寄附\",\"2\",\"行削除\""),
        "{csv}"
    );
    assert!(csv.contains("\"cli:ops-tester\""));
    let f = AuditFilter {
        action: Some("erase.run".into()),
        ..Default::default()
    };
    let entries = audit::search(&w.db, w.tenant, &f, 1, 10)
        .await
        .unwrap()
        .items;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].target_id, reports[0].id.to_string());
    assert_eq!(entries[0].user_login, "cli:ops-tester");

    // The audit trail is intact after the erasure, and a second run has nothing left to do.
    let out = furusato(&w, &["audit", "verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let out = furusato(&w, &["erase", "--municipality", "041009"]);
    assert!(stdout(&out).contains("total: 0 records erased"));
    assert_eq!(
        erasure::list_reports(&w.db, w.tenant, 10)
            .await
            .unwrap()
            .len(),
        2
    );
}
