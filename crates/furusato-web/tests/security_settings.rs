//! The administrators keep the issuer details printed on documents and the retention periods, and
//! find the データ消去報告書 of each erasure run.

mod support;

use furusato_db::audit::AuditEntry;
use furusato_db::erasure::{self, EraseOptions};
use furusato_db::municipalities;
use furusato_db::retention::{self, DataClass};
use furusato_domain::Role;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use support::*;

async fn post(
    app: &TestApp,
    client: &Client,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let csrf = app.csrf(client, "/admin/settings").await;
    let mut form = vec![("_csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let resp = client.post(app.url(path)).form(&form).send().await.unwrap();
    let status = resp.status();
    let to = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, to, resp.text().await.unwrap_or_default())
}

const ISSUER: [(&str, &str); 8] = [
    ("name", "仙台市"),
    ("name_kana", "センダイシ"),
    ("mayor_title", "仙台市長"),
    ("mayor_name", "郡 和子"),
    ("postal_code", "９８０８６７１"),
    ("address", "宮城県仙台市青葉区国分町三丁目7番1号"),
    ("department", "財政局 ふるさと納税担当"),
    ("phone", "0222611111"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_details_are_validated_saved_and_recorded() {
    let app = TestApp::spawn().await;
    let admin = app.login_as(Role::CityAdmin).await;
    let (status, html) = app.get_html(&admin, "/admin/settings").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("発行者情報"));
    assert!(
        html.contains("寄附記録")
            && html.contains("個人番号")
            && html.contains("取込ファイル")
            && html.contains("操作記録")
    );
    assert!(
        html.contains("文書管理規程"),
        "the basis of the default is explained"
    );

    let mut bad = ISSUER.to_vec();
    bad[3] = ("mayor_name", "");
    bad[4] = ("postal_code", "98");
    bad[7] = ("phone", "でんわ");
    let (status, _, html) = post(&app, &admin, "/admin/settings/issuer", &bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("首長の氏名を入力してください。"));
    assert!(html.contains("郵便番号："));
    assert!(html.contains("電話番号："));
    assert!(
        html.contains("value=\"財政局 ふるさと納税担当\""),
        "the form keeps what was typed"
    );

    let (status, to, _) = post(&app, &admin, "/admin/settings/issuer", &ISSUER).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(to, "/admin/settings?done=issuer");
    let m = municipalities::get(&app.db, app.tenant()).await.unwrap();
    assert_eq!(m.mayor_name, "郡 和子");
    assert_eq!(m.issuer_postal_code, "980-8671");
    assert_eq!(m.issuer_phone, "022-261-1111");
    let rows = app.audit_rows(app.tenant(), "settings.issuer").await;
    assert_eq!(rows.len(), 1);
    let d: Value = serde_json::from_str(&rows[0].detail).unwrap();
    assert!(
        d["changed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "mayor_name")
    );
    assert_eq!(d["before"]["mayor_name"], "試験 太郎");

    // Saving the same again changes nothing (the guard still records the request itself).
    let (_, to, _) = post(&app, &admin, "/admin/settings/issuer", &ISSUER).await;
    assert_eq!(to, "/admin/settings?done=nochange");
    let rows = app.audit_rows(app.tenant(), "settings.issuer").await;
    assert_eq!(rows.len(), 2);
    assert!(
        !rows[0].detail.contains("changed"),
        "no change recorded: {}",
        rows[0].detail
    );

    for role in [Role::Operator, Role::City, Role::Auditor, Role::Partner] {
        let c = app.login_as(role).await;
        assert_eq!(
            app.get_html(&c, "/admin/settings").await.0,
            StatusCode::FORBIDDEN,
            "{role:?}"
        );
        assert_eq!(
            app.get_html(&c, "/admin/erasure").await.0,
            StatusCode::FORBIDDEN,
            "{role:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_periods_are_set_per_class_in_years_or_days() {
    let app = TestApp::spawn().await;
    let admin = app.login_as(Role::OperatorAdmin).await;
    let (status, _, html) = post(
        &app,
        &admin,
        "/admin/settings/retention",
        &[("class", "donations"), ("amount", "0"), ("unit", "years")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("保存期間は1〜100年の範囲で入力してください。"));
    let (status, _, html) = post(
        &app,
        &admin,
        "/admin/settings/retention",
        &[("class", "audit_log"), ("amount", "5"), ("unit", "years")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("操作記録は消去の対象外"));

    let (status, to, _) = post(
        &app,
        &admin,
        "/admin/settings/retention",
        &[("class", "my_number"), ("amount", "5"), ("unit", "years")],
    )
    .await;
    assert_eq!(
        (status, to.as_str()),
        (StatusCode::SEE_OTHER, "/admin/settings?done=retention")
    );
    post(
        &app,
        &admin,
        "/admin/settings/retention",
        &[("class", "imports"), ("amount", "90"), ("unit", "days")],
    )
    .await;
    let p = retention::policies(&app.db, app.tenant()).await.unwrap();
    let get = |c: DataClass| p.iter().find(|x| x.class == c).unwrap().clone();
    assert_eq!(
        get(DataClass::MyNumber).keep_days,
        Some(retention::years_to_days(5))
    );
    assert_eq!(get(DataClass::Imports).keep_days, Some(90));
    assert!(get(DataClass::Donations).is_default);
    let html = app.get_html(&admin, "/admin/settings").await.1;
    assert!(html.contains("<strong>5年</strong>") && html.contains("<strong>90日</strong>"));
    let rows = app.audit_rows(app.tenant(), "settings.retention").await;
    assert_eq!(rows.len(), 2);
    let d: Value = serde_json::from_str(&rows[1].detail).unwrap();
    assert_eq!(
        (d["before_days"].clone(), d["after"].clone()),
        (Value::from(2557), Value::from("5年"))
    );
    // Another city keeps its defaults.
    let other = retention::policies(&app.db, app.other_tenant())
        .await
        .unwrap();
    assert!(other.iter().all(|x| x.is_default));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_reports_are_listed_and_downloaded_as_csv() {
    let app = TestApp::spawn().await;
    let t = app.tenant();
    let d = app
        .add_donor(t, donor("古川", "一", "フルカワ", "ハジメ"))
        .await;
    app.add_donation(t, donation(d, date(2012, 6, 1))).await;
    app.add_donation(t, donation(d, date(2026, 6, 1))).await;
    let admin = app.login_as(Role::CityAdmin).await;
    let html = app.get_html(&admin, "/admin/erasure").await.1;
    assert!(html.contains("消去の実施記録はまだありません"));

    // The preview counts without erasing.
    let csrf = app.csrf(&admin, "/admin/erasure").await;
    let resp = admin
        .post(app.url("/admin/erasure/preview"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("消去の対象となるもの（試行）：合計 1件"),
        "the 2012 donation"
    );
    assert_eq!(app.audit_rows(t, "erase.preview").await.len(), 1);
    assert!(
        erasure::list_reports(&app.db, t, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let actor = AuditEntry {
        user_login: "cli:ops".into(),
        role: "cli".into(),
        ..Default::default()
    };
    let today = furusato_domain::jst::today_jst();
    let report = erasure::run(
        &app.db,
        t,
        &EraseOptions {
            as_of: today,
            dry_run: false,
        },
        &actor,
    )
    .await
    .unwrap();
    assert_eq!(
        report
            .summary
            .count(DataClass::Donations, erasure::target::DONATIONS),
        1
    );

    let html = app.get_html(&admin, "/admin/erasure").await.1;
    assert!(html.contains("cli:ops"));
    assert!(html.contains("寄附記録・寄附 1件（行削除）"));
    let href = format!("/admin/erasure/{}/csv", report.id);
    assert!(html.contains(&href));
    let resp = admin.get(app.url(&href)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("erasure-report-")
    );
    let csv = String::from_utf8(resp.bytes().await.unwrap().to_vec()).unwrap();
    assert!(csv.starts_with('\u{feff}'));
    assert!(csv.contains("\"仙台市\""));
    assert!(csv.contains("\"寄附\",\"1\",\"行削除\""));
    assert!(csv.contains("\"操作記録\",\"0\",\"消去しない\""));

    // Another city's admin cannot fetch it.
    let sapporo_admin = {
        app.create_user(app.other_tenant(), "sapporo-admin", Role::CityAdmin, None)
            .await;
        app.login("sapporo-admin", PASSWORD).await
    };
    assert_eq!(
        app.get_html(&sapporo_admin, &href).await.0,
        StatusCode::NOT_FOUND
    );
}
