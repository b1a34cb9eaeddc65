//! An operator uploads a portal CSV, reads the preview (encoding, counts, every row error in
//! Japanese), commits it, downloads the failed rows and the original file, and uploads the same
//! file again without creating duplicates.

mod imports_support;
mod support;

use furusato_db::imports as store;
use furusato_domain::Role;
use imports_support::*;
use reqwest::StatusCode;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_preview_commit_and_reimport() {
    let app = TestApp::spawn().await;
    let clerk = app.login_as(Role::Operator).await;
    let (status, page) = app.get_html(&clerk, "/intake/imports").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("ふるさとチョイス") && page.contains("レッドホース形式"),
        "profile choices"
    );

    let file = cp932(&choice_file(&[
        (
            "CH-1",
            "髙橋　﨑子",
            "たかはし　さきこ",
            "10,000",
            "2026-01-07",
        ),
        ("CH-2", "山田 太郎", "ヤマダ タロウ", "一万円", ""),
        ("CH-3", "佐藤 ①子", "サトウ イチコ", "5000", ""),
    ]));
    let resp = upload(
        &app,
        &clerk,
        "/intake/imports",
        &[("profile", "choice"), ("portal", "")],
        "choice.csv",
        &file,
    )
    .await;
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    let import_path = location(&resp);
    assert!(import_path.starts_with("/intake/imports/"));

    let (status, html) = app.get_html(&clerk, &import_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Shift_JIS（CP932）"),
        "detected encoding shown"
    );
    assert_eq!(by_id(&html, "rows-total"), "3");
    assert_eq!(by_id(&html, "rows-ok"), "2");
    assert_eq!(by_id(&html, "rows-error"), "1");
    assert_eq!(by_id(&html, "created"), "2");
    assert!(
        html.contains("3行目") && html.contains("寄附金額が正しくありません: 一万円"),
        "row error with line and column"
    );
    assert!(
        html.contains("髙橋 﨑子") || html.contains("髙橋　﨑子"),
        "sample rows show the donor"
    );
    // Nothing is in the ledger before the commit.
    assert_eq!(
        furusato_db::donations::count(&app.db, app.tenant())
            .await
            .unwrap(),
        0
    );

    let resp = post(&app, &clerk, &format!("{import_path}/commit"), &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        furusato_db::donations::count(&app.db, app.tenant())
            .await
            .unwrap(),
        2
    );
    let (_, html) = app.get_html(&clerk, &location(&resp)).await;
    assert!(html.contains("取り込みました") && html.contains("取込済"));
    assert_eq!(app.audit_rows(app.tenant(), "import.commit").await.len(), 1);

    // The failed rows come back as CP932 CSV with エラー内容; the original file byte for byte.
    let csv = clerk
        .get(app.url(&format!("{import_path}/errors.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    let bytes = csv.bytes().await.unwrap();
    let mut expected_header = Vec::new();
    furusato_intake::export::encode_cp932("エラー内容", &mut expected_header);
    assert!(
        bytes
            .windows(expected_header.len())
            .any(|w| w == expected_header.as_slice())
    );
    let original = clerk
        .get(app.url(&format!("{import_path}/file")))
        .send()
        .await
        .unwrap();
    assert!(
        original.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    assert_eq!(original.bytes().await.unwrap().as_ref(), file.as_slice());
    assert_eq!(
        app.audit_rows(app.tenant(), "import.download").await.len(),
        1,
        "the download is audited"
    );

    // The same file again: the preview says everything already exists, the commit adds nothing.
    let resp = upload(
        &app,
        &clerk,
        "/intake/imports",
        &[("profile", "choice")],
        "choice.csv",
        &file,
    )
    .await;
    let again = location(&resp);
    let (_, html) = app.get_html(&clerk, &again).await;
    assert_eq!(by_id(&html, "created"), "0");
    assert_eq!(by_id(&html, "unchanged"), "2");
    assert!(html.contains("同じファイルが"), "re-upload warning");
    post(&app, &clerk, &format!("{again}/commit"), &[]).await;
    assert_eq!(
        furusato_db::donations::count(&app.db, app.tenant())
            .await
            .unwrap(),
        2
    );

    // History lists both imports.
    let (_, html) = app.get_html(&clerk, "/intake/imports").await;
    assert_eq!(table_rows(&html), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_files_and_permissions() {
    let app = TestApp::spawn().await;
    let clerk = app.login_as(Role::Operator).await;
    let resp = upload(
        &app,
        &clerk,
        "/intake/imports",
        &[("profile", "choice")],
        "bad.csv",
        b"a,b\r\n1,2\r\n",
    )
    .await;
    let path = location(&resp);
    let (_, html) = app.get_html(&clerk, &path).await;
    assert!(
        html.contains("読込失敗") && html.contains("必要な列がありません"),
        "file-level error in Japanese"
    );
    let resp = post(&app, &clerk, &format!("{path}/commit"), &[]).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);

    // A レッドホース file without a portal column needs the portal chosen in the form.
    let rh = "外部管理番号,寄附申込日,名前,寄附金額\r\nX-1,2026-01-05,見本 花子,1000\r\n";
    let resp = upload(
        &app,
        &clerk,
        "/intake/imports",
        &[("profile", "redhorse"), ("portal", "")],
        "rh.csv",
        rh.as_bytes(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("ポータルを選んでください")
    );

    // The city (read-only) may not import; another city's import is not found.
    let city = app.login_as(Role::City).await;
    let (status, _) = app.get_html(&city, "/intake/imports").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let imports = store::list(&app.db, app.tenant(), "donations", 1, 10)
        .await
        .unwrap();
    let other = app
        .create_user(app.other_tenant(), "sapporo-op", Role::Operator, None)
        .await;
    let sapporo = app.login(&other.login, PASSWORD).await;
    let (status, _) = app
        .get_html(
            &sapporo,
            &format!("/intake/imports/{}", imports.items[0].id),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_above_the_limit_are_refused_in_japanese() {
    let app = TestApp::spawn().await;
    app.create_user(app.tenant(), "limit-op", Role::Operator, None)
        .await;
    // A second server on the same database with a 1 MB limit.
    let settings = furusato_web::WebSettings {
        max_upload_mb: 1,
        ..Default::default()
    };
    let state = furusato_web::AppState::new(app.db.clone(), settings, None);
    let (router, _) = furusato_web::app(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    });
    let base = format!("http://{addr}");
    let client = app.client();
    let html = client
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = hidden_input(&html, "_login_csrf").unwrap();
    let resp = client
        .post(format!("{base}/login"))
        .form(&[
            ("login", "limit-op"),
            ("password", PASSWORD),
            ("next", "/"),
            ("_login_csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_redirection());
    let html = client
        .get(format!("{base}/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_input(&html, "_csrf").unwrap();
    let big = vec![b'a'; 1024 * 1024 + 10];
    let (ct, body) = multipart(&[("profile", "choice")], "big.csv", &big);
    let resp = client
        .post(format!("{base}/intake/imports?_csrf={csrf}"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("ファイルが大きすぎます（上限 1 MB）"),
        "{html}"
    );
    assert!(
        store::list(&app.db, app.tenant(), "donations", 1, 10)
            .await
            .unwrap()
            .items
            .is_empty(),
        "nothing stored"
    );
    server.abort();
}
