//! Donation CSV import: stage → preview → commit, re-imports, changes and row errors.

mod imports_support;

use furusato_db::donations;
use furusato_db::imports as store;
use furusato_db::source_records;
use furusato_intake::imports::{self, ImportFailure, ProfileRef};
use imports_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cp932_file_with_vendor_characters_imports_exactly() {
    let (db, tenant) = setup().await;
    let profile = choice(&db, tenant).await;
    let rows = [
        Row::good("CH-1", "髙橋　﨑子", "タカハシ　サキコ", 10_000)
            .set("町名・番地", "見本通り①～③")
            .set("マンション名", "㈱見本ビル 201")
            .set("備考", "のし①"),
        Row::good("CH-2", "山﨑 一郎", "やまざき いちろう", 5_000),
    ];
    let file = cp932(&choice_csv(&rows));
    let staged = imports::stage(
        &db,
        tenant,
        &profile,
        "choice.csv",
        bytes(file.clone()),
        &actor(tenant),
    )
    .await
    .expect("stage");
    let preview = staged.preview.expect("preview");
    assert_eq!(preview.encoding.as_str(), "cp932");
    assert_eq!(
        (
            preview.counts.rows_total,
            preview.counts.rows_ok,
            preview.counts.rows_error
        ),
        (2, 2, 0)
    );
    assert_eq!(preview.counts.created, 2);
    assert_eq!(preview.samples.len(), 2);
    // Nothing written by the preview.
    assert_eq!(donations::count(&db, tenant).await.unwrap(), 0);

    let done = imports::commit(&db, tenant, staged.import_id, &actor(tenant))
        .await
        .expect("commit");
    assert_eq!(done.counts.created, 2);

    let d = find_donation(&db, tenant, "choice", "CH-1").await;
    let donor = furusato_db::donors::get(&db, tenant, d.donor_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(donor.family_name.as_bytes(), "髙橋".as_bytes());
    assert_eq!(donor.given_name.as_bytes(), "﨑子".as_bytes());
    assert_eq!(donor.address1.as_bytes(), "見本通り①～③".as_bytes());
    assert_eq!(donor.address2.as_bytes(), "㈱見本ビル 201".as_bytes());
    assert_eq!(d.note, "のし①");
    assert_eq!(d.amount, Some(10_000));
    assert_eq!(d.payment_status, "paid");
    assert_eq!(
        d.received_on.map(|x| x.to_string()).as_deref(),
        Some("2026-01-07")
    );
    assert_eq!(d.payment_method, "credit_card");
    assert!(d.onestop_wanted);
    // Hiragana readings are stored in katakana.
    let d2 = find_donation(&db, tenant, "choice", "CH-2").await;
    let donor2 = furusato_db::donors::get(&db, tenant, d2.donor_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (donor2.family_kana.as_str(), donor2.given_kana.as_str()),
        ("ヤマザキ", "イチロウ")
    );
    assert_eq!(donor2.family_name, "山﨑");

    // The original file is kept byte for byte, and the raw row as a source record.
    let (_, stored) = store::file(&db, tenant, staged.import_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, file);
    let versions = source_records::versions(&db, tenant, "csv:choice", "CH-1")
        .await
        .unwrap();
    assert_eq!(versions.len(), 1);
    assert!(
        versions[0].raw.contains("髙橋　﨑子"),
        "{}",
        versions[0].raw
    );
    let import = store::get(&db, tenant, staged.import_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            import.status.as_str(),
            import.created,
            import.encoding.as_str()
        ),
        ("committed", 2, "cp932")
    );
    assert_eq!(import.file_size, file.len() as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utf8_bom_and_quoted_newlines() {
    let (db, tenant) = setup().await;
    let profile = choice(&db, tenant).await;
    let rows = [Row::good("CH-10", "佐藤 花子", "サトウ ハナコ", 12_000)
        .set("備考", "一行目\r\n二行目, \"引用\"")];
    let mut file = b"\xEF\xBB\xBF".to_vec();
    file.extend_from_slice(choice_csv(&rows).as_bytes());
    let summary = imports::import_now(
        &db,
        tenant,
        &profile,
        "bom.csv",
        bytes(file),
        &actor(tenant),
    )
    .await
    .expect("import");
    assert_eq!(summary.encoding.as_str(), "utf8_bom");
    assert_eq!(summary.counts.created, 1);
    let d = find_donation(&db, tenant, "choice", "CH-10").await;
    assert_eq!(d.note, "一行目\r\n二行目, \"引用\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_reimport_adds_nothing() {
    let (db, tenant) = setup().await;
    let profile = choice(&db, tenant).await;
    let a = Row::good("CH-1", "佐藤 一郎", "サトウ イチロウ", 10_000);
    let b = Row::good("CH-2", "鈴木 二郎", "スズキ ジロウ", 20_000);
    let c = Row::good("CH-3", "高橋 三郎", "タカハシ サブロウ", 30_000);
    let first = cp932(&choice_csv(&[a.clone(), b.clone()]));
    imports::import_now(
        &db,
        tenant,
        &profile,
        "1.csv",
        bytes(first.clone()),
        &actor(tenant),
    )
    .await
    .unwrap();
    let counts_before = (
        count(&db, "donations").await,
        count(&db, "donors").await,
        count(&db, "source_records").await,
    );

    // The same file again: everything unchanged, nothing added.
    let again = imports::import_now(&db, tenant, &profile, "1.csv", bytes(first), &actor(tenant))
        .await
        .unwrap();
    assert_eq!(
        (
            again.counts.created,
            again.counts.updated,
            again.counts.unchanged
        ),
        (0, 0, 2)
    );
    assert_eq!(
        (
            count(&db, "donations").await,
            count(&db, "donors").await,
            count(&db, "source_records").await
        ),
        counts_before
    );

    // An overlapping file: only the new row is created; the preview says so first.
    let overlap = cp932(&choice_csv(&[b, c]));
    let p = imports::preview(&db, tenant, &profile, bytes(overlap.clone()))
        .await
        .unwrap();
    assert_eq!(
        (p.counts.created, p.counts.updated, p.counts.unchanged),
        (1, 0, 1)
    );
    let done = imports::import_now(
        &db,
        tenant,
        &profile,
        "2.csv",
        bytes(overlap),
        &actor(tenant),
    )
    .await
    .unwrap();
    assert_eq!(
        (
            done.counts.created,
            done.counts.updated,
            done.counts.unchanged
        ),
        (1, 0, 1)
    );
    assert_eq!(count(&db, "donations").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_row_updates_with_a_change_record() {
    let (db, tenant) = setup().await;
    let profile = choice(&db, tenant).await;
    let unpaid = Row::good("CH-7", "伊藤 七海", "イトウ ナナミ", 10_000).set("入金日", "");
    imports::import_now(
        &db,
        tenant,
        &profile,
        "a.csv",
        bytes(cp932(&choice_csv(std::slice::from_ref(&unpaid)))),
        &actor(tenant),
    )
    .await
    .unwrap();
    let before = find_donation(&db, tenant, "choice", "CH-7").await;
    assert_eq!(before.payment_status, "unpaid");

    let paid = unpaid.set("入金日", "2026-01-20").set("寄附金額", "15000");
    let done = imports::import_now(
        &db,
        tenant,
        &profile,
        "b.csv",
        bytes(cp932(&choice_csv(&[paid]))),
        &actor(tenant),
    )
    .await
    .unwrap();
    assert_eq!((done.counts.created, done.counts.updated), (0, 1));
    let after = find_donation(&db, tenant, "choice", "CH-7").await;
    assert_eq!(after.id, before.id);
    assert_eq!(after.donation_number, before.donation_number);
    assert_eq!(
        (after.amount, after.payment_status.as_str()),
        (Some(15_000), "paid")
    );
    assert_eq!(
        after.received_on.map(|d| d.to_string()).as_deref(),
        Some("2026-01-20")
    );
    let changes = source_records::changes(&db, tenant, after.id)
        .await
        .unwrap();
    assert_eq!(changes.len(), 1);
    assert!(
        changes[0].summary.contains("金額"),
        "{}",
        changes[0].summary
    );
    let fields: serde_json::Value = serde_json::from_str(&changes[0].fields).unwrap();
    assert_eq!(fields["amount"], serde_json::json!(["10000", "15000"]));
    assert_eq!(
        fields["payment_status"],
        serde_json::json!(["unpaid", "paid"])
    );
    assert_eq!(
        source_records::versions(&db, tenant, "csv:choice", "CH-7")
            .await
            .unwrap()
            .len(),
        2
    );

    // An older file without 入金日 never makes the donation unpaid again.
    let old = Row::good("CH-7", "伊藤 七海", "イトウ ナナミ", 15_000).set("入金日", "");
    imports::import_now(
        &db,
        tenant,
        &profile,
        "c.csv",
        bytes(cp932(&choice_csv(&[old]))),
        &actor(tenant),
    )
    .await
    .unwrap();
    let still = find_donation(&db, tenant, "choice", "CH-7").await;
    assert_eq!(still.payment_status, "paid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_error_does_not_block_the_others_and_is_listed() {
    let (db, tenant) = setup().await;
    let profile = choice(&db, tenant).await;
    let rows = [
        Row::good("CH-1", "佐藤 一郎", "サトウ イチロウ", 10_000),
        Row::good("CH-2", "鈴木 二郎", "スズキ ジロウ", 10_000).set("寄附金額", "一万円"),
        Row::good("CH-3", "高橋 三郎", "タカハシ サブロウ", 10_000).set("申込日", "2026/13/01"),
        Row::good("CH-4", "田中 四郎", "タナカ シロウ", 10_000).set("寄附金の払込方法", "物々交換"),
    ];
    let staged = imports::stage(
        &db,
        tenant,
        &profile,
        "err.csv",
        bytes(cp932(&choice_csv(&rows))),
        &actor(tenant),
    )
    .await
    .unwrap();
    let p = staged.preview.unwrap();
    assert_eq!(
        (p.counts.rows_total, p.counts.rows_ok, p.counts.rows_error),
        (4, 2, 2)
    );
    assert_eq!(p.errors.len(), 2);
    assert_eq!(p.errors[0].line, 3);
    assert_eq!(p.errors[0].column.as_deref(), Some("寄附金額"));
    assert_eq!(p.errors[0].message_ja, "寄附金額が正しくありません: 一万円");
    assert_eq!(
        p.errors[1].display_ja(),
        "4行目、申込日: 申込日の日付が正しくありません: 2026/13/01"
    );
    assert_eq!(p.warnings.len(), 1);
    assert!(
        p.warnings[0].message_ja.contains("物々交換"),
        "{:?}",
        p.warnings
    );

    let done = imports::commit(&db, tenant, staged.import_id, &actor(tenant))
        .await
        .unwrap();
    assert_eq!(done.counts.created, 2);
    let d4 = find_donation(&db, tenant, "choice", "CH-4").await;
    assert_eq!(d4.payment_method, "other");
    // The errors stay with the import; the failed rows download as CP932 with エラー内容.
    let import = store::get(&db, tenant, staged.import_id)
        .await
        .unwrap()
        .unwrap();
    let (errors, warnings) = imports::stored_errors(&import);
    assert_eq!((errors.len(), warnings.len()), (2, 1));
    let (name, csv, n) = imports::failed_rows_csv(&db, tenant, staged.import_id)
        .await
        .unwrap();
    assert_eq!((name.as_str(), n), ("err_エラー行.csv", 2));
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&csv);
    assert!(!bad);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].ends_with(",エラー内容"));
    assert!(
        lines[1].starts_with("CH-2,") && lines[1].ends_with("寄附金額が正しくありません: 一万円"),
        "{}",
        lines[1]
    );

    // A committed import cannot be committed twice.
    let again = imports::commit(&db, tenant, staged.import_id, &actor(tenant))
        .await
        .unwrap_err();
    assert!(matches!(again, ImportFailure::NotPreviewed(_)), "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_file_is_kept_as_failed() {
    let (db, tenant) = setup().await;
    let profile = choice(&db, tenant).await;
    let staged = imports::stage(
        &db,
        tenant,
        &profile,
        "x.csv",
        bytes(b"a,b,c\r\n1,2,3\r\n".to_vec()),
        &actor(tenant),
    )
    .await
    .unwrap();
    let err = staged.preview.unwrap_err();
    assert!(
        err.message_ja().contains("必要な列がありません"),
        "{}",
        err.message_ja()
    );
    let import = store::get(&db, tenant, staged.import_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(import.status, "failed");
    let commit = imports::commit(&db, tenant, staged.import_id, &actor(tenant))
        .await
        .unwrap_err();
    assert!(matches!(commit, ImportFailure::NotPreviewed(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gift_codes_link_to_the_master_and_ship_tos_are_kept() {
    let (db, tenant) = setup().await;
    let mut tx = db.begin().await.unwrap();
    let partner = furusato_db::gifts::insert_partner(
        &mut tx,
        tenant,
        &furusato_db::gifts::NewPartner {
            code: "P1".into(),
            name: "見本商店".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (gift_id, version_id) = furusato_db::gifts::insert_gift(
        &mut tx,
        tenant,
        &furusato_db::gifts::NewGift {
            code: "SD0001".into(),
            partner_id: partner,
            name: "牛たん 500g".into(),
            amount: 10_000,
            cost: 3_000,
            valid_from: time::macros::date!(2025 - 04 - 01),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let profile = choice(&db, tenant).await;
    let rows = [Row::good("CH-1", "佐藤 一郎", "サトウ イチロウ", 10_000)
        .set("返礼品1_コード", "SD0001")
        .set("返礼品1_名称", "牛たん 500g")
        .set("返礼品1_送り先_名前", "佐藤 母")
        .set("返礼品1_送り先_郵便番号", "100-0001")
        .set("返礼品1_送り先_都道府県", "東京都")
        .set("返礼品1_送り先_市区町村", "千代田区")
        .set("返礼品1_送り先_町名・番地", "架空町1-2-3")];
    imports::import_now(
        &db,
        tenant,
        &profile,
        "g.csv",
        bytes(cp932(&choice_csv(&rows))),
        &actor(tenant),
    )
    .await
    .unwrap();
    let d = find_donation(&db, tenant, "choice", "CH-1").await;
    let items = donations::items(&db, tenant, d.id).await.unwrap();
    let ships = donations::ship_tos(&db, tenant, d.id).await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (items[0].gift_id, items[0].gift_version_id),
        (Some(gift_id), Some(version_id))
    );
    assert_eq!(ships.len(), 1);
    assert_eq!(
        (ships[0].name.as_str(), ships[0].postal_code.as_str()),
        ("佐藤 母", "1000001")
    );
    assert_eq!(ships[0].address, "東京都千代田区架空町1-2-3");
    assert_eq!(items[0].ship_to_id, Some(ships[0].id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redhorse_needs_a_portal_and_takes_it_from_the_form() {
    let (db, tenant) = setup().await;
    let header = "外部管理番号,寄附申込日,入金処理日,名前,ふりがな,郵便番号,都道府県,市区町村,番地・マンション名,電話番号,寄附金額,寄附金の払込方法\r\n";
    let file = format!(
        "{header}SF-1,2026-02-01,2026-02-02,中村 花,なかむら はな,980-0000,宮城県,仙台市青葉区,見本1-1,022-000-0009,8000,クレジットカード\r\n"
    );
    let no_portal = imports::resolve_profile(&db, tenant, &ProfileRef::RedHorse { portal: None })
        .await
        .unwrap();
    let err = imports::preview(&db, tenant, &no_portal, bytes(file.clone().into_bytes()))
        .await
        .unwrap_err();
    assert!(matches!(err, ImportFailure::PortalRequired));
    let satofull = ProfileRef::from_name("redhorse", Some(furusato_domain::Portal::Satofull));
    assert_eq!(satofull.key(), "redhorse:satofull");
    assert_eq!(
        ProfileRef::from_key("redhorse:satofull"),
        Some(satofull.clone())
    );
    let profile = imports::resolve_profile(&db, tenant, &satofull)
        .await
        .unwrap();
    imports::import_now(
        &db,
        tenant,
        &profile,
        "rh.csv",
        bytes(file.into_bytes()),
        &actor(tenant),
    )
    .await
    .unwrap();
    let d = find_donation(&db, tenant, "satofull", "SF-1").await;
    assert_eq!(d.amount, Some(8_000));
}

/// Indexes of the tables an import writes (SQLite's catalogue, PostgreSQL's).
async fn index_names(db: &furusato_db::Db) -> Vec<String> {
    let mut names: Vec<String> = match db {
        furusato_db::Db::Sqlite(pool) => sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN \
             ('donors', 'donor_sources', 'donations', 'donation_items', 'ship_tos', 'source_records')",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
        furusato_db::Db::Postgres(pool) => sqlx::query_scalar(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN \
             ('donors', 'donor_sources', 'donations', 'donation_items', 'ship_tos', 'source_records')",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
    };
    names.sort();
    names
}

/// A katakana reading for person `p` (digits spelt with ア…コ).
fn kana_of(p: usize) -> String {
    let digits: Vec<char> = "アイウエオカキクケコ".chars().collect();
    format!("{p:05}")
        .chars()
        .map(|d| digits[d.to_digit(10).unwrap() as usize])
        .collect()
}

/// Row `i` of a large file: donation CH-{i} of person `i % people` (the same name, フリガナ and
/// phone on each of that person's rows).
fn person_row(i: usize, people: usize) -> Row {
    let p = i % people;
    Row::good(
        &format!("CH-{i}"),
        &format!("試験 {p}"),
        &format!("シケン {}", kana_of(p)),
        10_000,
    )
    .set(
        "電話番号",
        &format!("090-{:04}-{:04}", p / 10_000 + 1, p % 10_000),
    )
}

/// A file large enough for the large-run path (every donor loaded once for matching; on SQLite
/// the secondary indexes dropped and rebuilt around the load): the same decisions and rows as
/// the small-file path, every index back afterwards, and a re-import that changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_load_of_a_large_file() {
    let (db, tenant) = setup().await;
    let profile = choice(&db, tenant).await;
    let indexes_before = index_names(&db).await;
    let people = 14_000;
    let rows: Vec<Row> = (0..20_000).map(|i| person_row(i, people)).collect();
    let file = cp932(&choice_csv(&rows));
    let done = imports::import_now(
        &db,
        tenant,
        &profile,
        "load.csv",
        bytes(file.clone()),
        &actor(tenant),
    )
    .await
    .unwrap();
    assert_eq!((done.counts.created, done.counts.rows_error), (20_000, 0));
    assert_eq!(count(&db, "donations").await, 20_000);
    // Each person's second row links to the donor the first created (フリガナ + phone).
    assert_eq!(count(&db, "donors").await, people as i64);
    assert_eq!(count(&db, "donor_sources").await, 20_000);
    assert_eq!(count(&db, "match_reviews").await, 0);
    assert_eq!(
        index_names(&db).await,
        indexes_before,
        "every index is back"
    );
    let second = find_donation(&db, tenant, "choice", &format!("CH-{}", people + 5)).await;
    let first = find_donation(&db, tenant, "choice", "CH-5").await;
    assert_eq!(second.donor_id, first.donor_id);
    // The file is kept deflated and reads back byte for byte.
    let (_, stored) = store::file(&db, tenant, done.import_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, file);
    let import = store::get(&db, tenant, done.import_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(import.file_size, file.len() as i64);
    let handle: &furusato_db::Db = &db;
    let kept: i64 = furusato_db::with_db!(handle, |pool| sqlx::query_scalar(
        "SELECT CAST(LENGTH(file_bytes) AS BIGINT) FROM imports"
    )
    .fetch_one(pool)
    .await
    .unwrap());
    assert!(
        kept * 2 < file.len() as i64,
        "{kept} bytes kept of {}",
        file.len()
    );

    let again = imports::import_now(
        &db,
        tenant,
        &profile,
        "load.csv",
        bytes(file),
        &actor(tenant),
    )
    .await
    .unwrap();
    assert_eq!((again.counts.created, again.counts.unchanged), (0, 20_000));
    assert_eq!(count(&db, "donations").await, 20_000);
    assert_eq!(count(&db, "donors").await, people as i64);
}

/// The large-run path plans a batch while the one before it is written. A batch that follows one
/// changing existing donations must see those changes written: the results are those of a file
/// read row by row. (A donation named twice in one file is a row error, see
/// `a_row_error_does_not_block_the_others_and_is_listed`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_file_rows_see_the_batch_before_them() {
    let (db, tenant) = setup().await;
    let profile = choice(&db, tenant).await;
    let people = 14_000;
    let row = |i: usize| person_row(i, people);
    let rows: Vec<Row> = (0..20_000).map(row).collect();
    let done = imports::import_now(
        &db,
        tenant,
        &profile,
        "load.csv",
        bytes(cp932(&choice_csv(&rows))),
        &actor(tenant),
    )
    .await
    .unwrap();
    assert_eq!(done.counts.created, 20_000);

    // Again, with 20 amounts changed, and a new address for person 1000, whose two donations
    // (CH-1000 and CH-15000) end one batch and start the next (batches hold 2,000 rows): the
    // first changes the donor, the second then finds the donor as changed (no second change).
    let moved = |r: Row| r.set("町名・番地", "転居先町1-2-3");
    let mut again: Vec<Row> = (0..20_000)
        .filter(|i| *i != 1_000 && *i != 15_000)
        .map(|i| match i % 1_000 {
            7 => row(i).set("寄附金額", "11000"),
            _ => row(i),
        })
        .collect();
    again.insert(1_999, moved(row(1_000)));
    again.insert(2_000, moved(row(15_000)));
    let second = imports::import_now(
        &db,
        tenant,
        &profile,
        "again.csv",
        bytes(cp932(&choice_csv(&again))),
        &actor(tenant),
    )
    .await
    .unwrap();
    assert_eq!(
        (
            second.counts.created,
            second.counts.updated,
            second.counts.unchanged
        ),
        (0, 21, 19_979)
    );
    let first = find_donation(&db, tenant, "choice", "CH-1000").await;
    let later = find_donation(&db, tenant, "choice", "CH-15000").await;
    assert_eq!(first.donor_id, later.donor_id);
    let donor = furusato_db::donors::get(&db, tenant, first.donor_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(donor.address1, "転居先町1-2-3");
    let first_changes = source_records::changes(&db, tenant, first.id)
        .await
        .unwrap();
    assert_eq!(first_changes.len(), 1);
    assert!(
        first_changes[0].summary.contains("寄附者住所"),
        "{}",
        first_changes[0].summary
    );
    assert!(
        source_records::changes(&db, tenant, later.id)
            .await
            .unwrap()
            .is_empty()
    );
    let changed = find_donation(&db, tenant, "choice", "CH-5007").await;
    assert_eq!(changed.amount, Some(11_000));
}
