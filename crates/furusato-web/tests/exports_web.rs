//! A clerk exports the donation list she is looking at as CSV for Excel: she must say why, the
//! file carries every row of the filter (cancelled ones included, with their status), and the
//! audit trail records who exported what and how many rows. Partners and auditors cannot export.

mod support;

use furusato_db::donations::NewDonation;
use furusato_domain::Role;
use reqwest::StatusCode;
use support::*;

async fn seed(app: &TestApp) {
    let t = app.tenant();
    let takahashi = app
        .add_donor(t, donor("髙橋", "﨑子", "タカハシ", "サキコ"))
        .await;
    let yamada = app
        .add_donor(t, donor("山田", "太郎", "ヤマダ", "タロウ"))
        .await;
    for i in 0..30u8 {
        let who = if i % 2 == 0 { takahashi } else { yamada };
        let mut d = NewDonation {
            external_id: Some(format!("R-{i:03}")),
            ..donation(who, date(2026, 12, 1 + i % 28))
        };
        if i % 10 == 9 {
            d.payment_status = "cancelled".into();
            d.received_on = None;
        }
        app.add_donation(t, d).await;
    }
    for i in 0..5 {
        app.add_donation(t, bank_donation(yamada, date(2026, 11, 10 + i), 30_000))
            .await;
    }
}

fn decode_cp932(bytes: &[u8]) -> String {
    furusato_intake::export::decode_cp932(bytes).expect("valid CP932")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_asks_for_a_reason_then_downloads_the_filtered_list_and_is_audited() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let clerk = app.login_as(Role::Operator).await;

    // The list's export button leads to the form, with the filter and the count.
    let (status, html) = app
        .get_html(&clerk, "/donations/export?portal=rakuten&from=2026-12-01")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("利用目的"));
    assert!(html.contains("楽天ふるさと納税"));
    assert_eq!(
        text_of_class(&html, "result-count").as_deref(),
        Some("30件")
    );
    assert_eq!(hidden_input(&html, "portal").as_deref(), Some("rakuten"));
    let csrf = hidden_input(&html, "_csrf").expect("token");
    assert!(
        app.audit_rows(app.tenant(), "export.started")
            .await
            .is_empty(),
        "showing the form exports nothing"
    );

    // Submitted without a reason: the form again, with the error.
    let url = |reason: &str, token: &str, enc: &str| {
        format!(
            "/donations/export?portal=rakuten&from=2026-12-01&confirm=1&encoding={enc}&reason={}&_csrf={token}",
            url::form_urlencoded::byte_serialize(reason.as_bytes()).collect::<String>()
        )
    };
    let (status, html) = app.get_html(&clerk, &url("", &csrf, "cp932")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("利用目的（出力する理由）を入力してください"));
    // A link from another site (no valid token) does not export either.
    let (_, html) = app
        .get_html(&clerk, &url("発送準備", "forged", "cp932"))
        .await;
    assert!(html.contains("画面の有効期限が切れました"));
    assert!(
        app.audit_rows(app.tenant(), "export.started")
            .await
            .is_empty()
    );

    // With a reason: the CSV, in CP932.
    let resp = clerk
        .get(app.url(&url("12月分の発送準備", &csrf, "cp932")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"],
        "text/csv; charset=Shift_JIS"
    );
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"donations-")
            && disposition.ends_with(".csv\"")
    );
    let text = decode_cp932(&resp.bytes().await.unwrap());
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines.len(),
        31,
        "header + 30 楽天 donations, cancelled included"
    );
    assert!(lines[0].starts_with("寄附番号,ポータル,ポータル注文番号,受付経路"));
    assert!(text.contains("髙橋 﨑子"));
    assert_eq!(lines.iter().filter(|l| l.contains(",取消,")).count(), 3);
    assert!(!text.contains("銀行振込"), "the portal filter applies");

    // Audited: started and finished, with the user, the reason, the filter and the row count.
    let finished = app.audit_rows(app.tenant(), "export.finished").await;
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0].reason, "12月分の発送準備");
    assert!(finished[0].user_login.starts_with("operator-"));
    let d: serde_json::Value = serde_json::from_str(&finished[0].detail).unwrap();
    assert_eq!(
        (d["rows"].as_u64(), d["encoding"].as_str()),
        (Some(30), Some("cp932"))
    );
    assert_eq!(
        (d["filter"]["portal"].as_str(), d["filter"]["from"].as_str()),
        (Some("rakuten"), Some("2026-12-01"))
    );
    let started = app.audit_rows(app.tenant(), "export.started").await;
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].target_id, finished[0].target_id);

    // UTF-8 with BOM.
    let resp = clerk
        .get(app.url(&url("確認", &csrf, "utf8")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=UTF-8");
    let bytes = resp.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    assert!(
        std::str::from_utf8(&bytes[3..])
            .unwrap()
            .contains("髙橋 﨑子")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn donors_export_with_the_search_criteria_or_all() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let city = app.login_as(Role::City).await;
    let (status, html) = app.get_html(&city, "/donors/export").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("すべての寄附者"));
    assert_eq!(text_of_class(&html, "result-count").as_deref(), Some("2件"));
    let csrf = hidden_input(&html, "_csrf").unwrap();
    let resp = city
        .get(app.url(&format!("/donors/export?kana=%E3%81%9F%E3%81%8B&confirm=1&encoding=utf8&reason=check&_csrf={csrf}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.bytes().await.unwrap();
    let text = std::str::from_utf8(&body[3..]).unwrap();
    assert_eq!(text.lines().count(), 2, "header + タカハシ");
    assert!(text.contains("髙橋 﨑子") && !text.contains("山田"));
    // Bad criteria are explained, not exported.
    let (_, html) = app.get_html(&city, "/donors/export?kana=yamada").await;
    assert!(html.contains("フリガナはひらがなまたはカタカナで入力してください"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_and_auditors_cannot_export() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    for role in [Role::Partner, Role::Auditor] {
        let client = app.login_as(role).await;
        for path in [
            "/donations/export",
            "/donors/export",
            "/donations/export?confirm=1&reason=x",
        ] {
            let (status, _) = app.get_html(&client, path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{role:?} {path}");
        }
    }
    // Not logged in: to the login page.
    let resp = app
        .client()
        .get(app.url("/donations/export"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_redirection());
    assert!(
        app.audit_rows(app.tenant(), "export.started")
            .await
            .is_empty()
    );
}
