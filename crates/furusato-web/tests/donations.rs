//! A clerk narrows the donation list down by period, portal, payment status and channel, and opens
//! a donation to see its gifts and where they go.

mod support;

use furusato_db::donations::{NewDonation, NewDonationItem, NewShipTo};
use furusato_domain::{Role, jst};
use reqwest::StatusCode;
use support::*;

/// Eight donations of 山田 太郎 and 佐藤 花子:
/// 2026-05 楽天 paid ×3, 2026-06 チョイス paid ×2, 2026-07 bank transfer unpaid,
/// 2025-12 さとふる cancelled, 2026-01 楽天 refunded.
async fn seed(app: &TestApp) -> (uuid::Uuid, Vec<(uuid::Uuid, String)>) {
    let t = app.tenant();
    let yamada = app
        .add_donor(t, donor("山田", "太郎", "ヤマダ", "タロウ"))
        .await;
    let sato = app
        .add_donor(t, donor("佐藤", "花子", "サトウ", "ハナコ"))
        .await;
    let mut out = vec![];
    for d in [10, 11, 12] {
        out.push(
            app.add_donation(t, donation(yamada, date(2026, 5, d)))
                .await,
        );
    }
    for d in [1, 2] {
        let x = NewDonation {
            portal: Some("choice".into()),
            ..donation(sato, date(2026, 6, d))
        };
        out.push(app.add_donation(t, x).await);
    }
    out.push(
        app.add_donation(t, bank_donation(sato, date(2026, 7, 7), 30_000))
            .await,
    );
    let cancelled = NewDonation {
        portal: Some("satofull".into()),
        payment_status: "cancelled".into(),
        received_on: None,
        amount: None,
        ..donation(yamada, date(2025, 12, 24))
    };
    out.push(app.add_donation(t, cancelled).await);
    let refunded = NewDonation {
        payment_status: "refunded".into(),
        ..donation(sato, date(2026, 1, 15))
    };
    out.push(app.add_donation(t, refunded).await);
    (yamada, out)
}

fn summary(html: &str) -> String {
    text_of_class(html, "result-count").unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_filters_by_portal_status_period_and_channel() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let clerk = app.login_as(Role::Operator).await;
    let cases = [
        ("/donations", "8件中 1〜8件", 8),
        ("/donations?portal=rakuten", "4件中 1〜4件", 4),
        ("/donations?portal=choice", "2件中 1〜2件", 2),
        ("/donations?portal=direct", "1件中 1〜1件", 1),
        ("/donations?payment_status=unpaid", "1件中 1〜1件", 1),
        ("/donations?payment_status=cancelled", "1件中 1〜1件", 1),
        (
            "/donations?from=2026-04-01&to=2027-03-31",
            "6件中 1〜6件",
            6,
        ),
        (
            "/donations?from=2026-04-01&to=2027-03-31&portal=rakuten&payment_status=paid",
            "3件中 1〜3件",
            3,
        ),
        ("/donations?to=2026-03-31", "2件中 1〜2件", 2),
        ("/donations?channel=bank_transfer", "1件中 1〜1件", 1),
        (
            "/donations?channel=portal&from=2026-06-01",
            "2件中 1〜2件",
            2,
        ),
        ("/donations?portal=ana", "0件", 0),
    ];
    for (path, expected, rows) in cases {
        let (status, html) = app.get_html(&clerk, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(summary(&html), expected, "{path}");
        assert_eq!(table_rows(&html), rows, "{path}");
    }
    // The selected options stay selected.
    let (_, html) = app
        .get_html(&clerk, "/donations?portal=direct&payment_status=unpaid")
        .await;
    assert!(html.contains("<option value=\"direct\" selected>"));
    assert!(html.contains("<option value=\"unpaid\" selected>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_shows_each_donation_with_its_donor_masked() {
    let app = TestApp::spawn().await;
    let (_, ds) = seed(&app).await;
    let clerk = app.login_as(Role::City).await;
    let (_, html) = app.get_html(&clerk, "/donations").await;
    // Newest first: the bank transfer of 2026-07-07 leads, the cancelled 2025-12-24 one is near the end.
    let bank = &ds[5].1;
    let cancelled = &ds[6].1;
    assert!(html.find(bank.as_str()).unwrap() < html.find(cancelled.as_str()).unwrap());
    for shown in [
        "山田 ＊＊",
        "佐藤 ＊＊",
        "楽天ふるさと納税",
        "ふるさとチョイス",
        "銀行振込",
        "30,000円",
        "金額未確定",
        "未入金",
        "取消",
        "返金済",
        "2026年7月7日",
    ] {
        assert!(html.contains(shown), "the list lacks {shown}");
    }
    for hidden in ["太郎", "花子", "090-1234-5678"] {
        assert!(!html.contains(hidden), "the list shows {hidden}");
    }
    // Quick links for this 年度 and year, computed from today (JST).
    let fy = jst::fiscal_year(jst::today_jst());
    let (from, to) = jst::fiscal_year_range(fy);
    assert!(html.contains(&format!(
        "href=\"/donations?from={}&#38;to={}\"",
        jst::format_date_iso(from),
        jst::format_date_iso(to)
    )));
    assert!(html.contains(&format!("今年度（{fy}年度）")));
    assert!(html.contains(&format!("前年度（{}年度）", fy - 1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_date_is_explained_on_the_page() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let clerk = app.login_as(Role::Operator).await;
    let cases = [
        (
            "/donations?from=2026-02-30",
            "寄附日（開始）: 存在しない日付です。",
        ),
        (
            "/donations?to=tomorrow",
            "寄附日（終了）: 日付の形式が正しくありません（例: 2026-12-24、令和8年12月24日）。",
        ),
        (
            "/donations?from=2026%2F4",
            "寄附日（開始）: 日付の形式が正しくありません（例: 2026-12-24、令和8年12月24日）。",
        ),
        (
            "/donations?from=2026-05-01&to=2026-04-01",
            "寄附日の開始日が終了日より後になっています。",
        ),
        (
            "/donations?portal=amazon",
            "ポータルの指定が正しくありません。",
        ),
        (
            "/donations?payment_status=lost",
            "入金状況の指定が正しくありません。",
        ),
    ];
    for (path, message) in cases {
        let (status, html) = app.get_html(&clerk, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains(message), "{path}: expected {message}");
        assert!(
            !html.contains("<table"),
            "{path} must not show an unfiltered list"
        );
    }
    // Dates in other spellings are read (和暦, slashes).
    let url = format!(
        "/donations?from={}&to=2027%2F3%2F31",
        url::form_urlencoded::byte_serialize("令和8年4月1日".as_bytes()).collect::<String>()
    );
    let (_, html) = app.get_html(&clerk, &url).await;
    assert_eq!(summary(&html), "6件中 1〜6件");
    assert!(
        html.contains("value=\"2026-04-01\""),
        "the box shows the date it understood"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_donation_page_shows_gifts_and_ship_tos_and_is_audited() {
    let app = TestApp::spawn().await;
    let t = app.tenant();
    let (yamada, ds) = seed(&app).await;
    let (id, number) = &ds[0];
    let partner = app.add_partner(t, "P001", "牛タン工房").await;
    let (gift, version) = app.add_gift(t, partner, "SD0001", "牛タン詰め合わせ").await;
    let ship = app
        .add_ship_to(
            t,
            *id,
            1,
            NewShipTo {
                name: "山田 花子".into(),
                kana: "ヤマダ ハナコ".into(),
                postal_code: "1000001".into(),
                address: "東京都千代田区千代田1-1".into(),
                phone: "03-1234-5678".into(),
                external_ref: "".into(),
            },
        )
        .await;
    app.add_item(
        t,
        *id,
        1,
        NewDonationItem {
            gift_id: Some(gift),
            gift_version_id: Some(version),
            gift_code: "SD0001".into(),
            name: "牛タン詰め合わせ".into(),
            quantity: 2,
            amount: Some(10_000),
            ship_to_id: Some(ship),
        },
    )
    .await;
    let clerk = app.login_as(Role::Operator).await;
    let (status, html) = app.get_html(&clerk, &format!("/donations/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    for shown in [
        number.as_str(),
        "2026年5月10日",
        "楽天ふるさと納税",
        "クレジットカード",
        "入金済",
        "10,000円",
        "山田 太郎",
        "SD0001",
        "牛タン詰め合わせ",
        "送付先1",
        "山田 花子",
        "〒100-0001",
        "東京都千代田区千代田1-1",
        "03-1234-5678",
    ] {
        assert!(html.contains(shown), "the donation page lacks {shown}");
    }
    assert!(html.contains(&format!("href=\"/donors/{yamada}\"")));
    let rows = app.audit_rows(t, "donation.view").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].target_id, id.to_string());

    // Another city's clerk: not found, nothing audited for them.
    app.create_user(app.other_tenant(), "sapporo", Role::City, None)
        .await;
    let sapporo = app.login("sapporo", PASSWORD).await;
    let (status, _) = app.get_html(&sapporo, &format!("/donations/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, html) = app.get_html(&sapporo, "/donations").await;
    assert_eq!(summary(&html), "0件");
    assert_eq!(app.audit_rows(t, "donation.view").await.len(), 1);
}
