//! The ledger's storage rules, on SQLite and (with FURUSATO_TEST_DATABASE_URL) on PostgreSQL.

use furusato_db::dashboard;
use furusato_db::donations::{self, DonationFilter, NewDonation};
use furusato_db::donors::{self, DonorSearch, NewDonor};
use furusato_db::municipalities::{self, NewMunicipality};
use furusato_db::testing::test_db;
use furusato_db::{Db, DbError, MunicipalityId, with_db};
use time::macros::date;

async fn city(db: &Db, code: &str, name: &str) -> MunicipalityId {
    municipalities::insert(
        db,
        &NewMunicipality {
            code: code.into(),
            name: name.into(),
            prefecture_code: code[..2].parse().unwrap(),
            mayor_title: format!("{name}長"),
            mayor_name: "試験 太郎".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .tenant()
}

fn donor(family: &str, given: &str, fk: &str, gk: &str, phone: &str, postal: &str) -> NewDonor {
    NewDonor {
        family_name: family.into(),
        given_name: given.into(),
        family_kana: fk.into(),
        given_kana: gk.into(),
        postal_code: postal.into(),
        prefecture: "宮城県".into(),
        city: "仙台市青葉区".into(),
        address1: "一番町１丁目２－３".into(),
        phone: phone.into(),
        email: "someone@example.jp".into(),
        ..Default::default()
    }
}

fn donation(
    donor_id: uuid::Uuid,
    on: time::Date,
    portal: Option<&str>,
    ext: Option<&str>,
    amount: i64,
    status: &str,
) -> NewDonation {
    NewDonation {
        donor_id,
        channel: if portal.is_some() {
            "portal".into()
        } else {
            "bank_transfer".into()
        },
        portal: portal.map(String::from),
        external_id: ext.map(String::from),
        amount: Some(amount),
        donated_on: on,
        received_on: (status == "paid").then_some(on),
        applied_at: None,
        payment_method: "credit_card".into(),
        payment_status: status.into(),
        use_of_funds: "子育て支援".into(),
        onestop_wanted: true,
        receipt_wanted: true,
        gift_declined: false,
        note: String::new(),
    }
}

#[tokio::test]
async fn migrations_are_current_after_migrate() {
    let db = test_db().await;
    let s = db.migration_status().await.unwrap();
    assert!(s.is_current(), "{s:?}");
    assert!(s.applied >= 3);
    db.migrate().await.unwrap(); // idempotent
}

#[tokio::test]
async fn donation_numbers_follow_the_fiscal_year_and_never_repeat() {
    let db = test_db().await;
    let t = city(&db, "041009", "仙台市").await;
    let mut tx = db.begin().await.unwrap();
    let d = donors::insert(
        &mut tx,
        t,
        &donor(
            "山田",
            "太郎",
            "ヤマダ",
            "タロウ",
            "090-1111-2222",
            "9800811",
        ),
    )
    .await
    .unwrap();
    // 2027-03-31 belongs to 年度 2026, 2027-04-01 to 2027.
    let (_, n1) = donations::insert(
        &mut tx,
        t,
        &donation(d, date!(2027 - 03 - 31), None, None, 10_000, "paid"),
    )
    .await
    .unwrap();
    let (_, n2) = donations::insert(
        &mut tx,
        t,
        &donation(d, date!(2027 - 03 - 31), None, None, 10_000, "paid"),
    )
    .await
    .unwrap();
    let (_, n3) = donations::insert(
        &mut tx,
        t,
        &donation(d, date!(2027 - 04 - 01), None, None, 10_000, "paid"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(n1, "2026-0000001");
    assert_eq!(n2, "2026-0000002");
    assert_eq!(n3, "2027-0000001");
    // A rolled-back insert leaves no gap.
    let mut tx = db.begin().await.unwrap();
    donations::insert(
        &mut tx,
        t,
        &donation(d, date!(2027 - 04 - 02), None, None, 1, "paid"),
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let (_, n4) = donations::insert(
        &mut tx,
        t,
        &donation(d, date!(2027 - 04 - 02), None, None, 1, "paid"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(n4, "2027-0000002");
}

#[tokio::test]
async fn a_portal_record_is_stored_once() {
    let db = test_db().await;
    let t = city(&db, "041009", "仙台市").await;
    let mut tx = db.begin().await.unwrap();
    let d = donors::insert(
        &mut tx,
        t,
        &donor("山田", "太郎", "ヤマダ", "タロウ", "", ""),
    )
    .await
    .unwrap();
    let nd = donation(
        d,
        date!(2026 - 12 - 24),
        Some("rakuten"),
        Some("123456-20261224-0000000001"),
        30_000,
        "paid",
    );
    donations::insert(&mut tx, t, &nd).await.unwrap();
    let again = donations::insert(&mut tx, t, &nd).await;
    assert!(matches!(again, Err(DbError::Conflict(_))), "{again:?}");
    // Direct donations have no external id: any number of them is fine.
    donations::insert(
        &mut tx,
        t,
        &donation(d, date!(2026 - 12 - 24), None, None, 5_000, "unpaid"),
    )
    .await
    .unwrap();
    donations::insert(
        &mut tx,
        t,
        &donation(d, date!(2026 - 12 - 24), None, None, 5_000, "unpaid"),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn donor_search_normalises_input_and_stays_in_its_city() {
    let db = test_db().await;
    let sendai = city(&db, "041009", "仙台市").await;
    let sapporo = city(&db, "011002", "札幌市").await;
    let mut tx = db.begin().await.unwrap();
    let yamada = donors::insert(
        &mut tx,
        sendai,
        &donor(
            "山田",
            "太郎",
            "ヤマダ",
            "タロウ",
            "090-1111-2222",
            "9800811",
        ),
    )
    .await
    .unwrap();
    donors::insert(
        &mut tx,
        sendai,
        &donor(
            "山本",
            "花子",
            "ヤマモト",
            "ハナコ",
            "080-3333-4444",
            "9800812",
        ),
    )
    .await
    .unwrap();
    donors::insert(
        &mut tx,
        sapporo,
        &donor(
            "山田",
            "次郎",
            "ヤマダ",
            "ジロウ",
            "090-1111-2222",
            "0600001",
        ),
    )
    .await
    .unwrap();
    let (_, number) = donations::insert(
        &mut tx,
        sendai,
        &donation(
            yamada,
            date!(2026 - 12 - 01),
            Some("rakuten"),
            Some("111111-20261201-0000000009"),
            10_000,
            "paid",
        ),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let find = |s: DonorSearch| {
        let db = db.db.clone();
        async move { donors::search(&db, sendai, &s, 1, 50).await.unwrap() }
    };
    // Hiragana and half-width input find katakana; spaces are ignored.
    assert_eq!(
        find(DonorSearch {
            kana: Some("やまだ".into()),
            ..Default::default()
        })
        .await
        .total,
        1
    );
    assert_eq!(
        find(DonorSearch {
            kana: Some("ﾔﾏ".into()),
            ..Default::default()
        })
        .await
        .total,
        2
    );
    assert_eq!(
        find(DonorSearch {
            kana: Some("ヤマダ タ".into()),
            ..Default::default()
        })
        .await
        .total,
        1
    );
    assert_eq!(
        find(DonorSearch {
            name: Some("山田　太".into()),
            ..Default::default()
        })
        .await
        .items[0]
            .id,
        yamada
    );
    assert_eq!(
        find(DonorSearch {
            phone: Some("０９０（１１１１）２２２２".into()),
            ..Default::default()
        })
        .await
        .total,
        1
    );
    assert_eq!(
        find(DonorSearch {
            postal_code: Some("〒980-0811".into()),
            ..Default::default()
        })
        .await
        .total,
        1
    );
    assert_eq!(
        find(DonorSearch {
            donation_number: Some(number.clone()),
            ..Default::default()
        })
        .await
        .items[0]
            .id,
        yamada
    );
    assert_eq!(
        find(DonorSearch {
            donation_number: Some("111111-20261201-0000000009".into()),
            ..Default::default()
        })
        .await
        .total,
        1
    );
    // Criteria combine with AND; nothing of 札幌市 ever shows.
    assert_eq!(
        find(DonorSearch {
            kana: Some("ヤマ".into()),
            phone: Some("080".into()),
            ..Default::default()
        })
        .await
        .total,
        1
    );
    assert_eq!(
        find(DonorSearch {
            kana: Some("ヤマダジ".into()),
            ..Default::default()
        })
        .await
        .total,
        0
    );
    assert!(donors::get(&db, sendai, yamada).await.unwrap().is_some());
    assert!(donors::get(&db, sapporo, yamada).await.unwrap().is_none());
}

#[tokio::test]
async fn pagination_counts_and_caps() {
    let db = test_db().await;
    let t = city(&db, "041009", "仙台市").await;
    let mut tx = db.begin().await.unwrap();
    for i in 0..7 {
        donors::insert(
            &mut tx,
            t,
            &donor("佐藤", &format!("{i}"), "サトウ", &format!("{i}"), "", ""),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let s = DonorSearch {
        kana: Some("サトウ".into()),
        ..Default::default()
    };
    let p1 = donors::search(&db, t, &s, 1, 3).await.unwrap();
    let p3 = donors::search(&db, t, &s, 3, 3).await.unwrap();
    assert_eq!(
        (p1.total, p1.items.len(), p1.total_pages(), p1.has_next()),
        (7, 3, 3, true)
    );
    assert_eq!((p3.items.len(), p3.has_next()), (1, false));
    assert!(!p1.total_capped);
}

#[tokio::test]
async fn donation_list_filters_and_dashboard_figures_match_sql() {
    let db = test_db().await;
    let t = city(&db, "041009", "仙台市").await;
    let mut tx = db.begin().await.unwrap();
    let d = donors::insert(
        &mut tx,
        t,
        &donor("鈴木", "一郎", "スズキ", "イチロウ", "", ""),
    )
    .await
    .unwrap();
    let rows = [
        (date!(2026 - 04 - 01), Some("rakuten"), 10_000, "paid"),
        (date!(2026 - 04 - 30), Some("choice"), 20_000, "unpaid"),
        (date!(2026 - 12 - 31), Some("rakuten"), 30_000, "paid"),
        (date!(2026 - 12 - 31), None, 50_000, "cancelled"),
        (date!(2027 - 03 - 31), None, 5_000, "paid"),
        (date!(2027 - 04 - 01), Some("rakuten"), 7_000, "paid"),
    ];
    for (i, (on, portal, amount, status)) in rows.iter().enumerate() {
        let ext = portal.map(|_| format!("EXT-{i}"));
        donations::insert(
            &mut tx,
            t,
            &donation(d, *on, *portal, ext.as_deref(), *amount, status),
        )
        .await
        .unwrap();
    }
    // Amount not fixed yet (楽天 -9999): counted, not summed.
    let mut undetermined = donation(
        d,
        date!(2026 - 12 - 31),
        Some("rakuten"),
        Some("EXT-X"),
        0,
        "unpaid",
    );
    undetermined.amount = None;
    donations::insert(&mut tx, t, &undetermined).await.unwrap();
    tx.commit().await.unwrap();

    let all = donations::list(&db, t, &DonationFilter::default(), 1, 50)
        .await
        .unwrap();
    assert_eq!(all.total, 7);
    assert_eq!(
        all.items[0].donated_on,
        date!(2027 - 04 - 01),
        "newest first"
    );
    let fy = DonationFilter {
        from: Some(date!(2026 - 04 - 01)),
        to: Some(date!(2027 - 03 - 31)),
        ..Default::default()
    };
    assert_eq!(donations::list(&db, t, &fy, 1, 50).await.unwrap().total, 6);
    let rakuten_paid = DonationFilter {
        portal: Some("rakuten".into()),
        payment_status: Some("paid".into()),
        ..fy.clone()
    };
    assert_eq!(
        donations::list(&db, t, &rakuten_paid, 1, 50)
            .await
            .unwrap()
            .total,
        2
    );
    let direct = DonationFilter {
        portal: Some("direct".into()),
        ..Default::default()
    };
    assert_eq!(
        donations::list(&db, t, &direct, 1, 50).await.unwrap().total,
        2
    );

    // Dashboard: by month of the 年度, cancelled excluded, NULL amounts counted but not summed —
    // each figure equals a plain SQL aggregate.
    let months = dashboard::by_month(&db, t, date!(2026 - 04 - 01), date!(2027 - 03 - 31))
        .await
        .unwrap();
    let get = |m: &str| {
        months
            .iter()
            .find(|f| f.month == m)
            .map(|f| (f.count, f.amount))
    };
    assert_eq!(get("2026-04"), Some((2, 30_000)));
    assert_eq!(get("2026-12"), Some((2, 30_000)));
    assert_eq!(get("2027-03"), Some((1, 5_000)));
    let (sql_count, sql_sum): (i64, i64) = with_db!(&db.db, |pool| {
        sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM donations \
         WHERE donated_on >= '2026-04-01' AND donated_on <= '2027-03-31' AND payment_status <> 'cancelled'"
    )
    .fetch_one(pool)
    .await
    .unwrap()
    });
    assert_eq!(months.iter().map(|m| m.count).sum::<i64>(), sql_count);
    assert_eq!(months.iter().map(|m| m.amount).sum::<i64>(), sql_sum);
    let portals = dashboard::by_portal(&db, t, date!(2026 - 04 - 01), date!(2027 - 03 - 31))
        .await
        .unwrap();
    let rakuten = portals
        .iter()
        .find(|p| p.portal.as_deref() == Some("rakuten"))
        .unwrap();
    assert_eq!((rakuten.count, rakuten.amount), (3, 40_000));
    assert_eq!(
        dashboard::count_by_status(&db, t, "unpaid").await.unwrap(),
        2
    );
}

#[tokio::test]
async fn unknown_url_scheme_is_refused_clearly() {
    let e = Db::connect("mysql://localhost/x").await.unwrap_err();
    assert!(e.to_string().contains("sqlite:// or postgres://"), "{e}");
}
