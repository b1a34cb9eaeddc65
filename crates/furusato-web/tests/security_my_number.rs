//! 個人番号: only designated handlers see it, each time with a reason that goes to the audit trail;
//! it is registered with its check digit verified; and a known (fictitious) number entered through
//! the screen is afterwards nowhere to be found — not in the database file, not in the server's log
//! output, not in any CSV export, not in any page but the handler's reveal page.

mod support;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use furusato_db::{Db, users};
use furusato_domain::{MyNumber, Role};
use furusato_web::access::{Access, allows};
use reqwest::{Client, StatusCode};
use serde_json::Value;
use support::*;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Log capture: a tracing subscriber that writes every span and event, at every level, to a buffer.

struct Capture {
    buf: Arc<Mutex<String>>,
    next: AtomicU64,
}

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }
    fn new_span(&self, attrs: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut line = format!("span {}", attrs.metadata().name());
        attrs.record(&mut Fields(&mut line));
        line.push('\n');
        self.buf.lock().unwrap().push_str(&line);
        tracing::span::Id::from_u64(self.next.fetch_add(1, Ordering::Relaxed))
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        let mut line = String::from("record");
        values.record(&mut Fields(&mut line));
        line.push('\n');
        self.buf.lock().unwrap().push_str(&line);
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = format!("{} {}", event.metadata().level(), event.metadata().target());
        event.record(&mut Fields(&mut line));
        line.push('\n');
        self.buf.lock().unwrap().push_str(&line);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// The process-wide log buffer (installed once, before any server of this test binary starts).
fn captured_logs() -> Arc<Mutex<String>> {
    static LOGS: OnceLock<Arc<Mutex<String>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(String::new()));
        let sub = Capture {
            buf: buf.clone(),
            next: AtomicU64::new(1),
        };
        tracing::subscriber::set_global_default(sub).expect("install the capturing subscriber");
        buf
    })
    .clone()
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// A fictitious number: prefix 9999, valid check digit.
fn known_number() -> MyNumber {
    MyNumber::from_first11(&[9, 9, 9, 9, 1, 2, 3, 4, 5, 6, 7])
}

/// The ways the number could be written: 12 digits, with hyphens, with spaces.
fn spellings(n: &MyNumber) -> Vec<String> {
    let d = n.expose_secret();
    vec![
        d.to_string(),
        format!("{}-{}-{}", &d[..4], &d[4..8], &d[8..]),
        format!("{} {} {}", &d[..4], &d[4..8], &d[8..]),
    ]
}

fn assert_absent(what: &str, haystack: &[u8], n: &MyNumber) {
    for s in spellings(n) {
        assert!(
            !haystack.windows(s.len()).any(|w| w == s.as_bytes()),
            "the number ({} spelling) was found in {what}",
            if s.contains('-') {
                "hyphenated"
            } else if s.contains(' ') {
                "spaced"
            } else {
                "plain"
            }
        );
    }
}

async fn handler(app: &TestApp, login: &str, role: Role) -> Client {
    let u = app.create_user(app.tenant(), login, role, None).await;
    users::update_access(
        &app.db,
        app.tenant(),
        u.id,
        role.as_str(),
        None,
        true,
        false,
    )
    .await
    .unwrap();
    app.login(login, PASSWORD).await
}

async fn post_form(
    app: &TestApp,
    client: &Client,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let csrf = app.csrf(client, "/account").await;
    let mut form = vec![("_csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    client.post(app.url(path)).form(&form).send().await.unwrap()
}

async fn register(app: &TestApp, client: &Client, donor: Uuid, typed: &str) -> reqwest::Response {
    post_form(
        app,
        client,
        &format!("/donors/{donor}/my-number/edit"),
        &[("my_number", typed)],
    )
    .await
}

async fn reveal(app: &TestApp, client: &Client, donor: Uuid, reason: &str) -> reqwest::Response {
    post_form(
        app,
        client,
        &format!("/donors/{donor}/my-number"),
        &[("reason", reason)],
    )
    .await
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_handler_reveals_the_number_and_each_reveal_is_recorded_with_its_reason() {
    let _ = captured_logs();
    let app = TestApp::spawn().await;
    let donor_id = app
        .add_donor(app.tenant(), donor("山田", "太郎", "ヤマダ", "タロウ"))
        .await;
    let n = known_number();
    let digits = n.expose_secret().to_string();
    let grouped = format!("{} {} {}", &digits[..4], &digits[4..8], &digits[8..]);
    let clerk = handler(&app, "handler-1", Role::Operator).await;
    assert_eq!(
        register(&app, &clerk, donor_id, &spellings(&n)[1])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let page = format!("/donors/{donor_id}/my-number");

    // Without the grant: 403 from the guard for every role, GET and POST.
    for role in [
        Role::Operator,
        Role::OperatorAdmin,
        Role::City,
        Role::CityAdmin,
        Role::Auditor,
        Role::Partner,
    ] {
        let c = app.login_as(role).await;
        let (status, html) = app.get_html(&c, &page).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?}");
        assert_absent("a refused page", html.as_bytes(), &n);
        assert!(
            !html.contains("****-****-"),
            "{role:?} does not even see the masked number"
        );
        if role != Role::Partner {
            let resp = reveal(&app, &c, donor_id, "確認のため表示").await;
            assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{role:?}");
            assert_absent("a refused reveal", &resp.bytes().await.unwrap(), &n);
        }
    }
    assert!(
        app.audit_rows(app.tenant(), "my_number.reveal")
            .await
            .is_empty()
    );

    // The handler sees it masked, then revealed with a reason.
    let (status, html) = app.get_html(&clerk, &page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("****-****-{}", n.last4())));
    assert_absent("the masked page", html.as_bytes(), &n);
    let views = app.audit_rows(app.tenant(), "my_number.form").await;
    assert_eq!(
        views.len(),
        1,
        "opening the page is a view of personal data"
    );
    assert_eq!(
        (views[0].target_kind.as_str(), views[0].target_id.clone()),
        ("donor", donor_id.to_string())
    );

    let resp = reveal(&app, &clerk, donor_id, "確認").await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let html = resp.text().await.unwrap();
    assert!(html.contains("表示する理由を4文字以上で入力してください"));
    assert_absent("a reveal without a reason", html.as_bytes(), &n);
    assert!(
        app.audit_rows(app.tenant(), "my_number.reveal")
            .await
            .is_empty()
    );

    let reason = "申告特例通知書の記載内容の確認";
    let resp = reveal(&app, &clerk, donor_id, reason).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let html = resp.text().await.unwrap();
    assert!(
        html.contains(&grouped),
        "the twelve digits, grouped by four"
    );
    let rows = app.audit_rows(app.tenant(), "my_number.reveal").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].reason, reason);
    assert_eq!(
        (rows[0].target_kind.as_str(), rows[0].target_id.clone()),
        ("donor", donor_id.to_string())
    );
    assert_eq!(rows[0].user_login, "handler-1");
    assert_absent("the audit entry", rows[0].detail.as_bytes(), &n);

    // A city-side handler may reveal but not register (no ledger writes).
    let city = handler(&app, "city-handler", Role::City).await;
    assert_eq!(
        reveal(&app, &city, donor_id, "市による内容確認")
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get_html(&city, &format!("{page}/edit")).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        register(&app, &city, donor_id, &digits).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.audit_rows(app.tenant(), "my_number.reveal").await.len(),
        2
    );

    // Another city's donor does not exist for this handler.
    let other = app
        .add_donor(
            app.other_tenant(),
            donor("佐藤", "花子", "サトウ", "ハナコ"),
        )
        .await;
    assert_eq!(
        app.get_html(&clerk, &format!("/donors/{other}/my-number"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_checks_the_number_and_never_echoes_it() {
    let _ = captured_logs();
    let app = TestApp::spawn().await;
    let donor_id = app
        .add_donor(app.tenant(), donor("鈴木", "一郎", "スズキ", "イチロウ"))
        .await;
    let clerk = handler(&app, "handler-2", Role::Operator).await;
    let n = known_number();
    let digits = n.expose_secret();
    let wrong_check = format!(
        "{}{}",
        &digits[..11],
        (digits.as_bytes()[11] - b'0' + 1) % 10
    );

    let resp = register(&app, &clerk, donor_id, &wrong_check).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let html = resp.text().await.unwrap();
    assert!(html.contains("検査用数字が一致しません"));
    assert!(html.contains("入力した番号は表示しません"));
    assert!(
        !html.contains(&wrong_check[..11]),
        "the typed digits are not echoed"
    );
    let resp = register(&app, &clerk, donor_id, "1234").await;
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("12桁の数字で入力してください")
    );
    let resp = register(&app, &clerk, donor_id, "9999-ABCD-0000").await;
    assert!(resp.text().await.unwrap().contains("使えない文字"));

    // Full-width digits with spaces are accepted.
    let full_width: String = spellings(&n)[2]
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap()
            } else {
                c
            }
        })
        .collect();
    let resp = register(&app, &clerk, donor_id, &full_width).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()["location"].to_str().unwrap(),
        format!("/donors/{donor_id}/my-number?done=registered")
    );
    let rows = app.audit_rows(app.tenant(), "my_number.register").await;
    assert_eq!(rows.len(), 1);
    assert_absent(
        "the registration's audit entry",
        rows[0].detail.as_bytes(),
        &n,
    );
    let d: Value = serde_json::from_str(&rows[0].detail).unwrap();
    assert!(d["vault_entry"].is_string());

    // Replacing it, and the same number on a second donor is pointed out.
    let other = app
        .add_donor(app.tenant(), donor("鈴木", "一朗", "スズキ", "イチロウ"))
        .await;
    let resp = register(&app, &clerk, other, digits).await;
    let to = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(to.ends_with("done=registered&same=1"), "{to}");
    let html = app.get_html(&clerk, &to).await.1;
    assert!(html.contains("同じ個人番号が別の寄附者1人にも登録されています"));
    let second = MyNumber::from_first11(&[9, 9, 9, 9, 7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(
        register(&app, &clerk, donor_id, second.expose_secret())
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.audit_rows(app.tenant(), "my_number.replace")
            .await
            .len(),
        1
    );
    let html = app
        .get_html(&clerk, &format!("/donors/{donor_id}/my-number"))
        .await
        .1;
    assert!(html.contains(&format!("****-****-{}", second.last4())));
    let html = reveal(&app, &clerk, donor_id, "差し替え後の確認")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&second.expose_secret()[..4]) && html.contains(&second.expose_secret()[8..])
    );
    assert_absent("the reveal of the replacement", html.as_bytes(), &n);
}

/// The SQLite database file of a test app (None on PostgreSQL).
fn sqlite_file(db: &Db) -> Option<std::path::PathBuf> {
    match db {
        Db::Sqlite(pool) => Some(pool.connect_options().get_filename().to_path_buf()),
        Db::Postgres(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_number_leaves_no_trace_in_the_database_file_the_logs_or_any_export() {
    let logs = captured_logs();
    let app = TestApp::spawn().await;
    let n = known_number();
    let t = app.tenant();
    let donor_id = app
        .add_donor(t, donor("高橋", "三郎", "タカハシ", "サブロウ"))
        .await;
    app.add_donation(t, donation(donor_id, date(2026, 10, 1)))
        .await;
    let clerk = handler(&app, "handler-3", Role::Operator).await;
    app.create_user(t, "city-admin-3", Role::CityAdmin, None)
        .await;
    let city_admin = app.login("city-admin-3", PASSWORD).await;

    // Through the screens: registration (hyphenated), a failed and a successful reveal, the pages.
    assert_eq!(
        register(&app, &clerk, donor_id, &spellings(&n)[1])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let revealed = reveal(&app, &clerk, donor_id, "申告特例通知書の作成確認")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        revealed.contains(&spellings(&n)[2]),
        "(d) the handler's reveal page shows it"
    );
    for path in [
        format!("/donors/{donor_id}"),
        format!("/donors/{donor_id}/my-number"),
        "/donors?kana=タカハシ".to_string(),
    ] {
        let (_, html) = app.get_html(&clerk, &path).await;
        assert_absent(&format!("the page {path}"), html.as_bytes(), &n);
    }
    let (_, json) = app
        .get_json(&clerk, &format!("/api/v1/donors/{donor_id}"))
        .await;
    assert_absent("the donor API", json.to_string().as_bytes(), &n);

    // (c) Every CSV export the server has, run by a user allowed to.
    let probe_state =
        furusato_web::AppState::new(app.db.clone(), furusato_web::WebSettings::default(), None);
    let (_, specs) = furusato_web::app(probe_state);
    let people: [(&Client, Role, bool); 2] = [
        (&clerk, Role::Operator, true),
        (&city_admin, Role::CityAdmin, false),
    ];
    let mut scanned = vec![];
    for spec in specs
        .iter()
        .filter(|s| s.path.contains("export") && !s.path.contains('{'))
    {
        let Access::Perm(p) = spec.access else {
            continue;
        };
        let Some((client, _, _)) = people.iter().find(|(_, r, h)| allows(*r, *h, p)) else {
            continue;
        };
        let reason = "漏えい検査のための出力";
        let resp = if spec.method == reqwest::Method::GET {
            // The list exports start the download on a confirmed form (reason, token); the
            // donor export needs a search like its list.
            let csrf = app.csrf(client, "/account").await;
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("reason", reason)
                .append_pair("confirm", "1")
                .append_pair("encoding", "utf8")
                .append_pair("_csrf", &csrf);
            if spec.path.starts_with("/donors") {
                q.append_pair("kana", "タカハシ");
            }
            let q = q.finish();
            client
                .get(app.url(&format!("{}?{q}", spec.path)))
                .send()
                .await
                .unwrap()
        } else {
            post_form(&app, client, spec.path, &[("reason", reason)]).await
        };
        let status = resp.status();
        let is_csv = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/csv"));
        let body = resp.bytes().await.unwrap();
        assert!(
            status == StatusCode::OK && is_csv,
            "{} {} answered {status} without a CSV: {}",
            spec.method,
            spec.path,
            String::from_utf8_lossy(&body)
                .chars()
                .take(300)
                .collect::<String>()
        );
        if spec.path.starts_with("/donors") || spec.path.starts_with("/donations") {
            assert!(
                String::from_utf8_lossy(&body).contains("高橋"),
                "{} exports the seeded donor",
                spec.path
            );
        }
        assert_absent(
            &format!("the export {} {}", spec.method, spec.path),
            &body,
            &n,
        );
        scanned.push((spec.path, status, body.len()));
    }
    let audit_export = scanned
        .iter()
        .find(|(p, _, _)| *p == "/audit/export")
        .expect("the audit export exists");
    assert_eq!(audit_export.1, StatusCode::OK);
    assert!(
        audit_export.2 > 500,
        "the audit export has rows: {scanned:?}"
    );
    eprintln!("exports scanned: {scanned:?}");

    // (b) The server's log output of all of the above.
    let log = logs.lock().unwrap().clone();
    assert!(
        log.contains(&format!("/donors/{donor_id}/my-number")),
        "the capture saw the requests"
    );
    assert_absent("the server's log output", log.as_bytes(), &n);

    // (a) The database file, with its write-ahead log.
    match sqlite_file(&app.db) {
        Some(path) => {
            let mut files = 0;
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let f = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
                if let Ok(bytes) = std::fs::read(&f) {
                    files += 1;
                    assert_absent(&format!("the database file {}", f.display()), &bytes, &n);
                }
            }
            assert!(files >= 2, "the database and its WAL were scanned");
            let db_bytes = std::fs::read(&path).unwrap();
            let wal = std::fs::read(format!("{}-wal", path.display())).unwrap_or_default();
            // The sealed entry is there (the number is stored, only encrypted).
            assert!(
                [db_bytes.as_slice(), wal.as_slice()]
                    .iter()
                    .any(|b| b.windows(9).any(|w| w == b"my_number")),
                "the vault entry was written"
            );
        }
        None => {
            // PostgreSQL: every row of the test database, as pg_dump writes it (text columns in
            // clear, bytea as hex), when pg_dump is installed.
            let url =
                std::env::var(furusato_db::testing::TEST_DATABASE_URL_ENV).unwrap_or_default();
            match std::process::Command::new("pg_dump")
                .args(["--data-only", "--dbname", url.trim()])
                .output()
            {
                Ok(out) if out.status.success() => {
                    assert!(
                        out.stdout.windows(13).any(|w| w == b"vault_entries"),
                        "the dump has the vault table"
                    );
                    assert_absent("a pg_dump of the database", &out.stdout, &n);
                }
                _ => eprintln!("pg_dump not available: the database scan is skipped on PostgreSQL"),
            }
        }
    }
}
