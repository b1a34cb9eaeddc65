//! CSV exports: content, encodings (CP932 round trip of 髙橋 﨑 ①, UTF-8 with BOM), filters,
//! cancelled rows, streaming in bounded chunks, and the audit entries. SQLite, and PostgreSQL
//! when FURUSATO_TEST_DATABASE_URL is set.

use furusato_db::args::Arg;
use furusato_db::audit::{self, AuditEntry, AuditFilter, AuditRow};
use furusato_db::dialect::bulk_insert;
use furusato_db::donations::{self, DonationFilter, NewDonation, NewDonationItem};
use furusato_db::donors::{self, DonorSearch, NewDonor};
use furusato_db::municipalities::{self, NewMunicipality};
use furusato_db::testing::{TestDb, test_db};
use furusato_db::{MunicipalityId, new_id, now_utc};
use furusato_intake::export::{
    self, CHUNK_BYTES, ChunkSink, DONATION_HEADER, DONOR_HEADER, Encoding, ExportError,
    ExportRequest, ExportTarget, WriterSink,
};
use furusato_intake::matching::{MergeOrigin, merge_donors};
use time::{Date, Duration, Month};
use uuid::Uuid;

const DONATIONS: usize = 3_000;
const DONORS: usize = 400;

async fn setup() -> (TestDb, MunicipalityId) {
    let db = test_db().await;
    let m = municipalities::insert(
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
    .expect("municipality");
    (db, m.tenant())
}

fn first_day() -> Date {
    Date::from_calendar_date(2025, Month::April, 1).unwrap()
}

fn donor(i: usize) -> NewDonor {
    let mut d = NewDonor {
        family_name: format!("山田{i}"),
        given_name: "太郎".into(),
        family_kana: "ヤマダ".into(),
        given_kana: format!("タロウ{i}"),
        postal_code: "9800811".into(),
        prefecture: "宮城県".into(),
        city: "仙台市青葉区".into(),
        address1: format!("一番町{i}-1-1"),
        address2: String::new(),
        phone: format!("090-0000-{i:04}"),
        email: format!("d{i}@example.jp"),
        ..Default::default()
    };
    match i {
        0 => {
            d.family_name = "髙橋".into();
            d.given_name = "﨑子".into();
            d.family_kana = "タカハシ".into();
            d.given_kana = "サキコ".into();
            d.address2 = "メゾン①号館 101".into();
        }
        1 => {
            d.family_name = "=HYPERLINK(\"http://x\")".into();
            d.given_name = String::new();
            d.address2 = "ハイツ\"A\",202".into();
        }
        _ => {}
    }
    d
}

fn donation_of(i: usize, donor_id: Uuid) -> NewDonation {
    let portal = match i % 3 {
        0 => Some("rakuten"),
        1 => Some("choice"),
        _ => None,
    };
    let on = first_day() + Duration::days((i / 20) as i64);
    let (status, received) = if i % 10 == 9 {
        ("cancelled", None)
    } else if i % 7 == 6 {
        ("unpaid", None)
    } else {
        ("paid", Some(on))
    };
    NewDonation {
        donor_id,
        channel: if portal.is_some() {
            "portal"
        } else {
            "bank_transfer"
        }
        .into(),
        portal: portal.map(str::to_string),
        external_id: portal.map(|_| format!("EXT-{i:06}")),
        amount: if i % 50 == 49 {
            None
        } else {
            Some(10_000 + (i as i64 % 5) * 5_000)
        },
        donated_on: on,
        received_on: received,
        applied_at: None,
        payment_method: if portal.is_some() {
            "credit_card"
        } else {
            "bank_transfer"
        }
        .into(),
        payment_status: status.into(),
        use_of_funds: "子育て支援".into(),
        onestop_wanted: i.is_multiple_of(2),
        receipt_wanted: true,
        gift_declined: false,
        note: String::new(),
    }
}

/// Inserts DONORS donors and DONATIONS donations (with gift lines) in bulk; returns donor ids.
async fn seed(db: &TestDb, tenant: MunicipalityId) -> Vec<Uuid> {
    let now = now_utc();
    let mut tx = db.begin().await.unwrap();
    let donor_ids: Vec<Uuid> = (0..DONORS).map(|_| new_id()).collect();
    let rows = donor_ids
        .iter()
        .enumerate()
        .map(|(i, id)| donors::insert_row(*id, tenant, &donor(i), now))
        .collect();
    bulk_insert(&mut tx, "donors", &donors::INSERT_COLUMNS, rows, "")
        .await
        .unwrap();
    let mut drows = Vec::new();
    let mut irows: Vec<Vec<Arg>> = Vec::new();
    for i in 0..DONATIONS {
        let id = new_id();
        let d = donation_of(i, donor_ids[i % DONORS]);
        drows.push(donations::insert_row(
            id,
            tenant,
            format!("2025-{:07}", i + 1),
            &d,
            now,
        ));
        let lines = match i % 5 {
            4 => 0,
            0 | 3 => 2,
            _ => 1,
        };
        for l in 0..lines {
            let it = NewDonationItem {
                gift_code: format!("SD{:04}", l + 1),
                name: "返礼品".into(),
                quantity: if l == 1 { 2 } else { 1 },
                ..Default::default()
            };
            irows.push(donations::item_insert_row(tenant, id, l as i64 + 1, &it));
        }
    }
    bulk_insert(&mut tx, "donations", &donations::INSERT_COLUMNS, drows, "")
        .await
        .unwrap();
    bulk_insert(
        &mut tx,
        "donation_items",
        &donations::ITEM_INSERT_COLUMNS,
        irows,
        "",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    donor_ids
}

fn actor(tenant: MunicipalityId) -> AuditEntry {
    AuditEntry::cli(Some(tenant), "export")
}

fn request(target: ExportTarget, encoding: Encoding) -> ExportRequest {
    ExportRequest {
        target,
        encoding,
        reason: "受領証明書の発送準備".into(),
    }
}

async fn export_bytes(
    db: &TestDb,
    tenant: MunicipalityId,
    req: ExportRequest,
) -> (Vec<u8>, export::ExportSummary) {
    let mut sink = WriterSink(Vec::new());
    let summary = export::run(db, tenant, &actor(tenant), req, &mut sink)
        .await
        .expect("export runs");
    (sink.0, summary)
}

fn decode_cp932(bytes: &[u8]) -> String {
    let (text, _, errors) = encoding_rs::SHIFT_JIS.decode(bytes);
    assert!(!errors, "valid CP932");
    text.into_owned()
}

fn parse(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn col(name: &str) -> usize {
    DONATION_HEADER.iter().position(|h| *h == name).unwrap()
}

async fn audit_of(db: &TestDb, tenant: MunicipalityId, action: &str) -> Vec<AuditRow> {
    let f = AuditFilter {
        action: Some(action.into()),
        ..Default::default()
    };
    audit::search(db, tenant, &f, 1, 100).await.unwrap().items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn donation_export_in_cp932_has_every_row_and_round_trips() {
    let (db, tenant) = setup().await;
    let donor_ids = seed(&db, tenant).await;
    let (bytes, summary) = export_bytes(
        &db,
        tenant,
        request(
            ExportTarget::Donations(DonationFilter::default()),
            Encoding::Cp932,
        ),
    )
    .await;
    assert_eq!(
        (summary.rows, summary.unmappable, summary.bytes),
        (DONATIONS as u64, 0, bytes.len() as u64)
    );
    assert!(!bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = decode_cp932(&bytes);
    assert!(text.contains("\r\n"), "CRLF line ends");
    let (header, rows) = parse(&text);
    assert_eq!(header, DONATION_HEADER.to_vec());
    assert_eq!(rows.len(), DONATIONS);

    // Oldest first, each donation once.
    let dates: Vec<&str> = rows.iter().map(|r| r[col("寄附日")].as_str()).collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]));
    let mut numbers: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), DONATIONS);

    // Donation 0: 楽天, donor 0 (髙橋 﨑子, ① in the address), two gift lines.
    let r0 = rows
        .iter()
        .find(|r| r[col("ポータル注文番号")] == "EXT-000000")
        .unwrap();
    assert_eq!(r0[col("ポータル")], "楽天ふるさと納税");
    assert_eq!(r0[col("寄附者氏名")], "髙橋 﨑子");
    assert_eq!(r0[col("寄附者フリガナ")], "タカハシ サキコ");
    assert_eq!(
        r0[col("住所")],
        "宮城県仙台市青葉区一番町0-1-1 メゾン①号館 101"
    );
    assert_eq!(r0[col("郵便番号")], "980-0811");
    assert_eq!(r0[col("返礼品コード")], "SD0001;SD0002×2");
    assert_eq!(r0[col("寄附者ID")], donor_ids[0].to_string());
    assert_eq!(
        (r0[col("入金状況")].as_str(), r0[col("受領日")].as_str()),
        ("入金済", "2025-04-01")
    );
    assert_eq!(r0[col("ワンストップ特例申請")], "希望");
    assert_eq!(r0[col("支払方法")], "クレジットカード");
    // Donor 1: formula guarded, comma and quotes survive quoting.
    let r1 = rows
        .iter()
        .find(|r| r[col("ポータル注文番号")] == "EXT-000001")
        .unwrap();
    assert_eq!(r1[col("寄附者氏名")], "'=HYPERLINK(\"http://x\")");
    assert!(r1[col("住所")].ends_with("ハイツ\"A\",202"));
    // Cancelled rows are included, with their status; amounts not fixed are empty; direct rows.
    let cancelled = rows.iter().filter(|r| r[col("入金状況")] == "取消").count();
    assert_eq!(cancelled, DONATIONS / 10);
    let r49 = rows.iter().find(|r| r[0] == "2025-0000050").unwrap();
    assert_eq!(r49[col("寄附金額")], "");
    assert_eq!(
        (r49[col("入金状況")].as_str(), r49[col("受領日")].as_str()),
        ("取消", "")
    );
    let direct = rows.iter().find(|r| r[0] == "2025-0000003").unwrap();
    assert_eq!(
        (
            direct[col("ポータル")].as_str(),
            direct[col("受付経路")].as_str(),
            direct[col("ポータル注文番号")].as_str()
        ),
        ("直接", "銀行振込", "")
    );
    let no_gift = rows.iter().find(|r| r[0] == "2025-0000005").unwrap();
    assert_eq!(no_gift[col("返礼品コード")], "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utf8_export_has_a_bom_and_the_same_content() {
    let (db, tenant) = setup().await;
    seed(&db, tenant).await;
    let f = DonationFilter {
        portal: Some("rakuten".into()),
        ..Default::default()
    };
    let (utf8, s1) = export_bytes(
        &db,
        tenant,
        request(ExportTarget::Donations(f.clone()), Encoding::Utf8),
    )
    .await;
    let (sjis, s2) = export_bytes(
        &db,
        tenant,
        request(ExportTarget::Donations(f), Encoding::Cp932),
    )
    .await;
    assert!(utf8.starts_with(b"\xEF\xBB\xBF"));
    assert_eq!(s1.rows, s2.rows);
    assert_eq!(
        std::str::from_utf8(&utf8[3..]).unwrap(),
        decode_cp932(&sjis)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_are_applied() {
    let (db, tenant) = setup().await;
    seed(&db, tenant).await;
    let count = |f: DonationFilter| {
        let db = &db;
        async move {
            let (b, s) = export_bytes(
                db,
                tenant,
                request(ExportTarget::Donations(f), Encoding::Utf8),
            )
            .await;
            let (_, rows) = parse(std::str::from_utf8(&b[3..]).unwrap());
            assert_eq!(rows.len() as u64, s.rows);
            rows
        }
    };
    let rakuten = count(DonationFilter {
        portal: Some("rakuten".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(rakuten.len(), DONATIONS / 3);
    assert!(
        rakuten
            .iter()
            .all(|r| r[col("ポータル")] == "楽天ふるさと納税")
    );
    let direct = count(DonationFilter {
        portal: Some("direct".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(direct.len(), DONATIONS / 3);
    assert!(direct.iter().all(|r| r[col("ポータル")] == "直接"));
    let cancelled = count(DonationFilter {
        payment_status: Some("cancelled".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(cancelled.len(), DONATIONS / 10);
    let bank = count(DonationFilter {
        channel: Some("bank_transfer".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(bank.len(), DONATIONS / 3);
    // 寄附日: 20 donations a day; days 10..=14 inclusive.
    let from = first_day() + Duration::days(10);
    let to = first_day() + Duration::days(14);
    let period = count(DonationFilter {
        from: Some(from),
        to: Some(to),
        ..Default::default()
    })
    .await;
    assert_eq!(period.len(), 100);
    assert!(
        period
            .iter()
            .all(|r| r[col("寄附日")].as_str() >= "2025-04-11"
                && r[col("寄附日")].as_str() <= "2025-04-15")
    );
    let combined = count(DonationFilter {
        portal: Some("rakuten".into()),
        payment_status: Some("cancelled".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(
        combined.len(),
        (0..DONATIONS).filter(|i| i % 3 == 0 && i % 10 == 9).count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn characters_outside_cp932_are_replaced_counted_and_audited() {
    let (db, tenant) = setup().await;
    let mut tx = db.begin().await.unwrap();
    let id = donors::insert(
        &mut tx,
        tenant,
        &NewDonor {
            family_name: "𠮷田".into(),
            given_name: "〜é".into(),
            ..donor(5)
        },
    )
    .await
    .unwrap();
    donations::insert(&mut tx, tenant, &donation_of(0, id))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (bytes, summary) = export_bytes(
        &db,
        tenant,
        request(
            ExportTarget::Donations(DonationFilter::default()),
            Encoding::Cp932,
        ),
    )
    .await;
    assert_eq!(summary.unmappable, 2, "𠮷 and é; 〜 has a CP932 form");
    let (_, rows) = parse(&decode_cp932(&bytes));
    assert_eq!(rows[0][col("寄附者氏名")], "〓田 ～〓");
    let finished = audit_of(&db, tenant, "export.finished").await;
    let detail: serde_json::Value = serde_json::from_str(&finished[0].detail).unwrap();
    assert_eq!(detail["unmappable"], 2);
    // UTF-8 keeps everything.
    let (utf8, s) = export_bytes(
        &db,
        tenant,
        request(
            ExportTarget::Donations(DonationFilter::default()),
            Encoding::Utf8,
        ),
    )
    .await;
    assert_eq!(s.unmappable, 0);
    assert!(String::from_utf8(utf8).unwrap().contains("𠮷田 〜é"));
}

/// Records chunk sizes.
struct Chunks(Vec<usize>);

impl ChunkSink for Chunks {
    async fn write_chunk(&mut self, chunk: Vec<u8>) -> std::io::Result<()> {
        self.0.push(chunk.len());
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_are_streamed_in_bounded_chunks() {
    let (db, tenant) = setup().await;
    seed(&db, tenant).await;
    let mut sink = Chunks(Vec::new());
    let req = request(
        ExportTarget::Donations(DonationFilter::default()),
        Encoding::Utf8,
    );
    let s = export::run(&db, tenant, &actor(tenant), req, &mut sink)
        .await
        .unwrap();
    assert!(
        sink.0.len() >= 5,
        "{} chunks for {} bytes",
        sink.0.len(),
        s.bytes
    );
    assert!(
        sink.0.iter().all(|n| *n <= CHUNK_BYTES + 4096),
        "{:?}",
        sink.0
    );
    assert_eq!(sink.0.iter().sum::<usize>() as u64, s.bytes);
}

/// Fails after the first chunk, like a browser that went away.
struct Hangup(usize);

impl ChunkSink for Hangup {
    async fn write_chunk(&mut self, _chunk: Vec<u8>) -> std::io::Result<()> {
        self.0 += 1;
        if self.0 > 1 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "client went away",
            ));
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_export_is_audited_even_when_aborted() {
    let (db, tenant) = setup().await;
    seed(&db, tenant).await;
    let f = DonationFilter {
        portal: Some("choice".into()),
        from: Some(first_day()),
        ..Default::default()
    };
    let (_, s) = export_bytes(
        &db,
        tenant,
        request(ExportTarget::Donations(f), Encoding::Cp932),
    )
    .await;
    let started = audit_of(&db, tenant, "export.started").await;
    let finished = audit_of(&db, tenant, "export.finished").await;
    assert_eq!((started.len(), finished.len()), (1, 1));
    assert_eq!(started[0].target_id, s.export_id.to_string());
    assert_eq!(finished[0].target_id, s.export_id.to_string());
    assert_eq!(finished[0].reason, "受領証明書の発送準備");
    assert!(finished[0].user_login.starts_with("cli:"));
    let d: serde_json::Value = serde_json::from_str(&finished[0].detail).unwrap();
    assert_eq!(d["rows"], DONATIONS as u64 / 3);
    assert_eq!(
        (d["kind"].as_str(), d["encoding"].as_str()),
        (Some("donations"), Some("cp932"))
    );
    assert_eq!(
        (d["filter"]["portal"].as_str(), d["filter"]["from"].as_str()),
        (Some("choice"), Some("2025-04-01"))
    );

    let mut sink = Hangup(0);
    let req = request(
        ExportTarget::Donations(DonationFilter::default()),
        Encoding::Utf8,
    );
    let err = export::run(&db, tenant, &actor(tenant), req, &mut sink)
        .await
        .unwrap_err();
    assert!(matches!(err, ExportError::Sink(_)), "{err:?}");
    let aborted = audit_of(&db, tenant, "export.aborted").await;
    assert_eq!(aborted.len(), 1);
    let d: serde_json::Value = serde_json::from_str(&aborted[0].detail).unwrap();
    assert_eq!(d["error"], "receiver_closed");
    assert!(d["rows"].as_u64().unwrap() > 0 && d["rows"].as_u64().unwrap() < DONATIONS as u64);
    assert_eq!(audit_of(&db, tenant, "export.started").await.len(), 2);

    // No reason, no export (and nothing recorded).
    let mut sink = WriterSink(Vec::new());
    let req = ExportRequest {
        reason: "  ".into(),
        ..request(ExportTarget::Donors(DonorSearch::default()), Encoding::Utf8)
    };
    assert!(matches!(
        export::run(&db, tenant, &actor(tenant), req, &mut sink).await,
        Err(ExportError::ReasonMissing)
    ));
    assert!(sink.0.is_empty());
    assert_eq!(audit_of(&db, tenant, "export.started").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn donor_export_follows_the_search_and_skips_merged_donors() {
    let (db, tenant) = setup().await;
    let ids = seed(&db, tenant).await;
    let mut tx = db.begin().await.unwrap();
    merge_donors(
        &mut tx,
        tenant,
        &actor(tenant),
        ids[2],
        ids[3],
        MergeOrigin::Manual,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let (bytes, s) = export_bytes(
        &db,
        tenant,
        request(
            ExportTarget::Donors(DonorSearch::default()),
            Encoding::Cp932,
        ),
    )
    .await;
    let (header, rows) = parse(&decode_cp932(&bytes));
    assert_eq!(header, DONOR_HEADER.to_vec());
    assert_eq!((rows.len(), s.rows), (DONORS - 1, DONORS as u64 - 1));
    assert!(
        !rows.iter().any(|r| r[0] == ids[3].to_string()),
        "merged donor left out"
    );
    let takahashi = rows.iter().find(|r| r[0] == ids[0].to_string()).unwrap();
    assert_eq!(
        (takahashi[1].as_str(), takahashi[7].as_str()),
        ("髙橋 﨑子", "メゾン①号館 101")
    );
    // Ordered by フリガナ: タカハシ before ヤマダ….
    assert_eq!(rows[0][0], ids[0].to_string());

    let with_merged = DonorSearch {
        include_merged: true,
        ..Default::default()
    };
    let (_, s) = export_bytes(
        &db,
        tenant,
        request(ExportTarget::Donors(with_merged), Encoding::Utf8),
    )
    .await;
    assert_eq!(s.rows, DONORS as u64);

    let search = DonorSearch {
        kana: Some("たかはし".into()),
        ..Default::default()
    };
    let (bytes, s) = export_bytes(
        &db,
        tenant,
        request(ExportTarget::Donors(search), Encoding::Utf8),
    )
    .await;
    assert_eq!(s.rows, 1);
    assert!(
        std::str::from_utf8(&bytes[3..])
            .unwrap()
            .contains("髙橋 﨑子")
    );
    // The audit trail records that a フリガナ was given, not the フリガナ.
    let started = audit_of(&db, tenant, "export.started").await;
    assert!(!started[0].detail.contains("タカハシ") && !started[0].detail.contains("たかはし"));
    let d: serde_json::Value = serde_json::from_str(&started[0].detail).unwrap();
    assert_eq!(d["filter"]["kana_given"], true);

    let by_number = DonorSearch {
        donation_number: Some("2025-0000001".into()),
        ..Default::default()
    };
    let (_, s) = export_bytes(
        &db,
        tenant,
        request(ExportTarget::Donors(by_number), Encoding::Utf8),
    )
    .await;
    assert_eq!(s.rows, 1);
}
