//! An auditor reads the city's audit trail: filters it, sees Japanese labels, checks the hash chain
//! on demand, and exports it as CSV with a reason — the export itself being recorded.

mod support;

use furusato_db::MunicipalityId;
use furusato_db::audit::{self, AuditEntry};
use furusato_domain::Role;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use support::*;

async fn record(
    app: &TestApp,
    tenant: MunicipalityId,
    login: &str,
    action: &str,
    target: (&str, &str),
    reason: &str,
) {
    let e = AuditEntry {
        municipality_id: Some(tenant),
        user_login: login.into(),
        role: "operator".into(),
        ip: "192.0.2.10".into(),
        action: action.into(),
        target_kind: target.0.into(),
        target_id: target.1.into(),
        reason: reason.into(),
        detail: serde_json::json!({"n": 1}),
        ..Default::default()
    };
    audit::record(&app.db, &e).await.unwrap();
}

async fn export(
    app: &TestApp,
    client: &Client,
    fields: &[(&str, &str)],
) -> (StatusCode, Vec<(String, String)>, Vec<u8>) {
    let csrf = app.csrf(client, "/audit").await;
    let mut form = vec![("_csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let resp = client
        .post(app.url("/audit/export"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auditor_filters_the_trail_and_reads_japanese_labels() {
    let app = TestApp::spawn().await;
    let t = app.tenant();
    record(&app, t, "yamada", "donor.view", ("donor", "d-1"), "").await;
    record(&app, t, "yamada", "donor.search", ("", ""), "").await;
    record(
        &app,
        t,
        "suzuki",
        "my_number.reveal",
        ("donor", "d-2"),
        "申告特例通知書の確認",
    )
    .await;
    record(
        &app,
        t,
        "suzuki",
        "export.donations",
        ("", ""),
        "月次報告のため",
    )
    .await;
    record(&app, t, "suzuki", "quantum.teleport", ("", ""), "").await;
    record(
        &app,
        app.other_tenant(),
        "sapporo-clerk",
        "donor.view",
        ("donor", "d-9"),
        "",
    )
    .await;
    let auditor = app.login_as(Role::Auditor).await;

    let (status, html) = app.get_html(&auditor, "/audit").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("寄附者の閲覧"));
    assert!(html.contains("個人番号の表示"));
    assert!(html.contains("申告特例通知書の確認"), "the reason column");
    assert!(
        html.contains("出力<br><span class=\"muted small\">export.donations</span>"),
        "export.* → 出力"
    );
    assert!(
        html.contains("quantum.teleport"),
        "unknown actions are shown raw"
    );
    assert!(
        html.contains("ログイン"),
        "the auditor's own login is in the trail"
    );
    assert!(
        !html.contains("sapporo-clerk"),
        "another city's trail is not shown"
    );
    assert!(html.contains("改ざん検査を実行"));

    // Prefix filter: "donor" finds donor.view and donor.search, not my_number.reveal.
    let (_, html) = app.get_html(&auditor, "/audit?action=donor").await;
    assert_eq!(table_rows(&html), 2);
    let (_, html) = app
        .get_html(&auditor, "/audit?action=donor.view&user=yamada")
        .await;
    assert_eq!(table_rows(&html), 1);
    let (_, html) = app.get_html(&auditor, "/audit?kind=donor&target=d-2").await;
    assert_eq!(table_rows(&html), 1);
    assert!(html.contains("申告特例通知書の確認"));
    let (_, html) = app
        .get_html(&auditor, "/audit?user=suzuki&from=2000-01-01&to=2000-12-31")
        .await;
    assert_eq!(table_rows(&html), 0);
    assert!(html.contains("条件に合う記録はありません"));
    let (_, html) = app.get_html(&auditor, "/audit?from=2026-13-45").await;
    assert!(
        html.contains("期間の開始日："),
        "a clear message for a bad date"
    );

    // Other roles: the city admin reads it too, operators and partners do not.
    let city_admin = app.login_as(Role::CityAdmin).await;
    assert_eq!(app.get_html(&city_admin, "/audit").await.0, StatusCode::OK);
    for role in [
        Role::Operator,
        Role::OperatorAdmin,
        Role::City,
        Role::Partner,
    ] {
        let c = app.login_as(role).await;
        assert_eq!(
            app.get_html(&c, "/audit").await.0,
            StatusCode::FORBIDDEN,
            "{role:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trail_is_paged_by_100_newest_first() {
    let app = TestApp::spawn().await;
    for i in 0..150 {
        record(
            &app,
            app.tenant(),
            "bulk",
            "donor.view",
            ("donor", &format!("id-{i:03}")),
            "",
        )
        .await;
    }
    let auditor = app.login_as(Role::Auditor).await;
    let (_, html) = app.get_html(&auditor, "/audit?user=bulk").await;
    assert_eq!(table_rows(&html), 100);
    assert!(
        text_of_class(&html, "result-count")
            .unwrap()
            .starts_with("150件中 1〜100件")
    );
    let first = html.find("id-149").expect("newest first");
    assert!(html.find("id-100").unwrap() > first);
    assert!(!html.contains("id-049"));
    let (_, html) = app.get_html(&auditor, "/audit?user=bulk&page=2").await;
    assert_eq!(table_rows(&html), 50);
    assert!(html.contains("id-000"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_needs_a_reason_streams_the_filtered_rows_and_is_itself_recorded() {
    let app = TestApp::spawn().await;
    let t = app.tenant();
    record(&app, t, "yamada", "donor.view", ("donor", "d-1"), "").await;
    record(&app, t, "yamada", "donor.view", ("donor", "d-2"), "").await;
    record(
        &app,
        t,
        "yamada",
        "export.donations",
        ("", ""),
        "=HYPERLINK(\"http://example.invalid\")",
    )
    .await;
    record(
        &app,
        app.other_tenant(),
        "sapporo-clerk",
        "donor.view",
        ("donor", "d-9"),
        "",
    )
    .await;
    let auditor = app.login_as(Role::Auditor).await;

    let (status, _, body) = export(&app, &auditor, &[("user", "yamada"), ("reason", "監査")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("出力の理由を4文字以上で入力してください"));
    assert!(
        app.audit_rows(t, "audit.export").await.is_empty(),
        "nothing exported, nothing recorded"
    );

    let (status, headers, body) = export(
        &app,
        &auditor,
        &[("user", "yamada"), ("reason", "定期監査のため")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(header(&headers, "content-type").starts_with("text/csv"));
    assert!(header(&headers, "content-disposition").starts_with("attachment; filename=\"audit-"));
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert!(body.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 with BOM");
    let text = String::from_utf8(body).unwrap();
    let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 1 + 3);
    assert!(lines[0].contains("\"日時（日本時間）\""));
    assert!(
        lines[1].contains("\"寄附者の閲覧\",\"donor.view\",\"寄附者\",\"d-1\""),
        "oldest first: {}",
        lines[1]
    );
    assert!(
        lines[3].contains("\"'=HYPERLINK("),
        "a typed formula is defused"
    );
    assert!(!text.contains("sapporo-clerk"));

    let rows = app.audit_rows(t, "audit.export").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].reason, "定期監査のため");
    let d: Value = serde_json::from_str(&rows[0].detail).unwrap();
    assert_eq!(d["rows"], 3);
    assert_eq!(d["filter"]["user_login"], "yamada");

    // The city admin's export of everything includes the auditor's export record made before it.
    let city_admin = app.login_as(Role::CityAdmin).await;
    let (status, _, body) = export(
        &app,
        &city_admin,
        &[("action", "audit"), ("reason", "出力記録の確認")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(body).unwrap();
    assert_eq!(
        text.trim_end().split("\r\n").count(),
        2,
        "the earlier audit.export only: {text}"
    );
    assert!(text.contains("定期監査のため"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_check_runs_on_demand_and_is_recorded() {
    let app = TestApp::spawn().await;
    record(
        &app,
        app.tenant(),
        "yamada",
        "donor.view",
        ("donor", "d-1"),
        "",
    )
    .await;
    let auditor = app.login_as(Role::Auditor).await;
    let html = app.get_html(&auditor, "/audit").await.1;
    assert!(
        !html.contains("ハッシュの連鎖はすべて正常"),
        "not run on page load"
    );
    let csrf = app.csrf(&auditor, "/audit").await;
    let resp = auditor
        .post(app.url("/audit/verify"))
        .form(&[("_csrf", csrf.as_str()), ("action", "donor")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(html.contains("ハッシュの連鎖はすべて正常です"), "{html}");
    assert_eq!(table_rows(&html), 1, "the filter is kept");
    let rows = app.audit_rows(app.tenant(), "audit.verify").await;
    assert_eq!(rows.len(), 1);
    let d: Value = serde_json::from_str(&rows[0].detail).unwrap();
    assert!(d["first_broken"].is_null());
    assert!(d["checked"].as_u64().unwrap() >= 2);
}
