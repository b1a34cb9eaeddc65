//! Test harness: the whole server on 127.0.0.1:0 over a fresh database, clients that log in
//! through the real login form, and seed helpers that write through `furusato-db`.
//!
//! SQLite by default; PostgreSQL when `FURUSATO_TEST_DATABASE_URL` is set (each test gets its own
//! schema). Every seed helper takes the municipality, like the application's queries.

#![allow(dead_code)] // each test file uses a different part of the harness

use std::net::SocketAddr;
use std::sync::Arc;

use furusato_db::audit::{self, AuditFilter, AuditRow};
use furusato_db::dialect::bulk_insert;
use furusato_db::donations::{self, NewDonation, NewDonationItem, NewShipTo};
use furusato_db::donors::{self, NewDonor};
use furusato_db::gifts::{self, NewGift, NewPartner};
use furusato_db::municipalities::{self, Municipality, NewMunicipality};
use furusato_db::testing::{TestDb, test_db};
use furusato_db::users::{self, NewUser, User};
use furusato_db::{Db, MunicipalityId};
use furusato_domain::Role;
use furusato_web::{AppState, WebSettings};
use reqwest::{Client, StatusCode};
use serde_json::Value;
use time::Date;
use uuid::Uuid;

/// The password of every user the harness creates.
pub const PASSWORD: &str = "Test-Password-2026!";

/// A running server with its database and two cities: 仙台市 (the tenant of most tests) and
/// 札幌市 (for tenancy tests).
pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub city: Municipality,
    pub other_city: Municipality,
    _test_db: TestDb,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApp {
    /// Migrated database, both cities, the server listening on a free port.
    ///
    /// Tests must run on the multi-threaded runtime
    /// (`#[tokio::test(flavor = "multi_thread", worker_threads = 2)]`): on PostgreSQL, dropping the
    /// test database closes the pool from a helper thread while the test's thread is blocked, and
    /// only another worker thread can drive the pool's sockets meanwhile.
    pub async fn spawn() -> TestApp {
        assert_eq!(
            tokio::runtime::Handle::current().runtime_flavor(),
            tokio::runtime::RuntimeFlavor::MultiThread,
            "use #[tokio::test(flavor = \"multi_thread\", worker_threads = 2)] with TestApp"
        );
        let test_db = test_db().await;
        let db = test_db.db.clone();
        let city = create_municipality(&db, "041009", "仙台市", "センダイシ", 4).await;
        let other_city = create_municipality(&db, "011002", "札幌市", "サッポロシ", 1).await;
        let keyring = furusato_vault::Keyring::generate().expect("generate a test keyring");
        let state = AppState::new(db.clone(), WebSettings::default(), Some(Arc::new(keyring)));
        let (router, _) = furusato_web::app(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .expect("server runs");
        });
        TestApp {
            base: format!("http://{addr}"),
            db,
            city,
            other_city,
            _test_db: test_db,
            server,
        }
    }

    /// 仙台市
    pub fn tenant(&self) -> MunicipalityId {
        self.city.tenant()
    }

    /// 札幌市
    pub fn other_tenant(&self) -> MunicipalityId {
        self.other_city.tenant()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client that keeps cookies and does not follow redirects (tests look at them).
    pub fn client(&self) -> Client {
        Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client")
    }

    /// Creates a user of `role` in `tenant` with [`PASSWORD`].
    pub async fn create_user(
        &self,
        tenant: MunicipalityId,
        login: &str,
        role: Role,
        partner_id: Option<Uuid>,
    ) -> User {
        let hash = furusato_web::password::hash(PASSWORD).expect("hash a password");
        users::insert(
            &self.db,
            &NewUser {
                municipality_id: tenant,
                login: login.to_string(),
                display_name: format!("{} テスト", role.label_ja()),
                role: role.as_str().to_string(),
                partner_id,
                my_number_handler: false,
                password_hash: hash,
                must_change_password: false,
            },
        )
        .await
        .expect("insert a user")
    }

    /// Logs in through the login form; panics unless the login succeeds.
    pub async fn login(&self, login: &str, password: &str) -> Client {
        let client = self.client();
        let form = client
            .get(self.url("/login"))
            .send()
            .await
            .expect("GET /login");
        assert_eq!(form.status(), StatusCode::OK);
        let html = form.text().await.expect("login page");
        let token = hidden_input(&html, "_login_csrf").expect("login page has _login_csrf");
        let resp = client
            .post(self.url("/login"))
            .form(&[
                ("login", login),
                ("password", password),
                ("next", "/"),
                ("_login_csrf", token.as_str()),
            ])
            .send()
            .await
            .expect("POST /login");
        assert!(
            resp.status().is_redirection(),
            "login of {login} failed with {}: {}",
            resp.status(),
            resp.text().await.unwrap_or_default()
        );
        client
    }

    /// A new user of `role` in 仙台市, logged in.
    pub async fn login_as(&self, role: Role) -> Client {
        let login = format!("{}-{}", role.as_str(), Uuid::new_v4().simple());
        self.create_user(self.tenant(), &login, role, None).await;
        self.login(&login, PASSWORD).await
    }

    /// The `_csrf` hidden input of the page at `path` (every screen's logout form carries it).
    pub async fn csrf(&self, client: &Client, path: &str) -> String {
        let html = self.get_html(client, path).await.1;
        hidden_input(&html, "_csrf").unwrap_or_else(|| panic!("{path} has no _csrf input"))
    }

    /// GET a page: (status, body).
    pub async fn get_html(&self, client: &Client, path: &str) -> (StatusCode, String) {
        let resp = client
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = resp.status();
        (status, resp.text().await.expect("body"))
    }

    /// GET JSON: (status, body).
    pub async fn get_json(&self, client: &Client, path: &str) -> (StatusCode, Value) {
        let resp = client
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = resp.status();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        assert!(
            ct.starts_with("application/json"),
            "GET {path}: content-type {ct:?}"
        );
        (status, resp.json().await.expect("JSON body"))
    }

    // -----------------------------------------------------------------------------------------
    // Seeds

    pub async fn add_donor(&self, tenant: MunicipalityId, d: NewDonor) -> Uuid {
        let mut tx = self.db.begin().await.expect("begin");
        let id = donors::insert(&mut tx, tenant, &d)
            .await
            .expect("insert donor");
        tx.commit().await.expect("commit");
        id
    }

    /// Inserts a donation; returns (id, 寄附番号).
    pub async fn add_donation(&self, tenant: MunicipalityId, d: NewDonation) -> (Uuid, String) {
        let mut tx = self.db.begin().await.expect("begin");
        let r = donations::insert(&mut tx, tenant, &d)
            .await
            .expect("insert donation");
        tx.commit().await.expect("commit");
        r
    }

    pub async fn add_partner(&self, tenant: MunicipalityId, code: &str, name: &str) -> Uuid {
        let mut tx = self.db.begin().await.expect("begin");
        let id = gifts::insert_partner(
            &mut tx,
            tenant,
            &NewPartner {
                code: code.into(),
                name: name.into(),
                ..Default::default()
            },
        )
        .await
        .expect("insert partner");
        tx.commit().await.expect("commit");
        id
    }

    /// Creates a gift of `partner`; returns (gift id, version id).
    pub async fn add_gift(
        &self,
        tenant: MunicipalityId,
        partner: Uuid,
        code: &str,
        name: &str,
    ) -> (Uuid, Uuid) {
        let mut tx = self.db.begin().await.expect("begin");
        let ids = gifts::insert_gift(
            &mut tx,
            tenant,
            &NewGift {
                code: code.into(),
                partner_id: partner,
                name: name.into(),
                amount: 10_000,
                cost: 3_000,
                valid_from: date(2026, 4, 1),
            },
        )
        .await
        .expect("insert gift");
        tx.commit().await.expect("commit");
        ids
    }

    /// Adds a ship-to to a donation; returns its id.
    pub async fn add_ship_to(
        &self,
        tenant: MunicipalityId,
        donation: Uuid,
        seq: i64,
        s: NewShipTo,
    ) -> Uuid {
        let id = furusato_db::new_id();
        let mut tx = self.db.begin().await.expect("begin");
        let row = donations::ship_to_insert_row(id, tenant, donation, seq, &s);
        bulk_insert(
            &mut tx,
            "ship_tos",
            &donations::SHIP_TO_INSERT_COLUMNS,
            vec![row],
            "",
        )
        .await
        .expect("insert ship-to");
        tx.commit().await.expect("commit");
        id
    }

    /// Adds a gift line to a donation; returns its id.
    pub async fn add_item(
        &self,
        tenant: MunicipalityId,
        donation: Uuid,
        line_no: i64,
        it: NewDonationItem,
    ) -> Uuid {
        let mut tx = self.db.begin().await.expect("begin");
        let row = donations::item_insert_row(tenant, donation, line_no, &it);
        let id = match &row[0] {
            furusato_db::args::Arg::Uuid(id) => *id,
            other => panic!("item row starts with its id, found {other:?}"),
        };
        bulk_insert(
            &mut tx,
            "donation_items",
            &donations::ITEM_INSERT_COLUMNS,
            vec![row],
            "",
        )
        .await
        .expect("insert item");
        tx.commit().await.expect("commit");
        id
    }

    /// The audit rows of `tenant` with `action`, newest first.
    pub async fn audit_rows(&self, tenant: MunicipalityId, action: &str) -> Vec<AuditRow> {
        let filter = AuditFilter {
            action: Some(action.into()),
            ..Default::default()
        };
        audit::search(&self.db, tenant, &filter, 1, 500)
            .await
            .expect("audit search")
            .items
    }
}

async fn create_municipality(
    db: &Db,
    code: &str,
    name: &str,
    kana: &str,
    pref: i64,
) -> Municipality {
    municipalities::insert(
        db,
        &NewMunicipality {
            code: code.into(),
            name: name.into(),
            name_kana: kana.into(),
            prefecture_code: pref,
            mayor_title: format!("{name}長"),
            mayor_name: "試験 太郎".into(),
            ..Default::default()
        },
    )
    .await
    .expect("insert municipality")
}

// ---------------------------------------------------------------------------------------------
// Builders

pub fn date(y: i32, m: u8, d: u8) -> Date {
    Date::from_calendar_date(y, time::Month::try_from(m).expect("month"), d).expect("valid date")
}

/// A donor living in 仙台市青葉区 unless changed.
pub fn donor(family: &str, given: &str, family_kana: &str, given_kana: &str) -> NewDonor {
    NewDonor {
        family_name: family.into(),
        given_name: given.into(),
        family_kana: family_kana.into(),
        given_kana: given_kana.into(),
        postal_code: "9800811".into(),
        prefecture: "宮城県".into(),
        city: "仙台市青葉区".into(),
        address1: "一番町1-2-3".into(),
        address2: "".into(),
        phone: "090-1234-5678".into(),
        email: "donor@example.jp".into(),
        sex: "".into(),
        birth_date: None,
    }
}

/// A paid 楽天 donation of 10,000円 on `on`.
pub fn donation(donor_id: Uuid, on: Date) -> NewDonation {
    NewDonation {
        donor_id,
        channel: "portal".into(),
        portal: Some("rakuten".into()),
        external_id: None,
        amount: Some(10_000),
        donated_on: on,
        received_on: Some(on),
        applied_at: None,
        payment_method: "credit_card".into(),
        payment_status: "paid".into(),
        use_of_funds: "".into(),
        onestop_wanted: false,
        receipt_wanted: true,
        gift_declined: false,
        note: "".into(),
    }
}

/// A direct bank-transfer donation, unpaid.
pub fn bank_donation(donor_id: Uuid, on: Date, amount: i64) -> NewDonation {
    NewDonation {
        channel: "bank_transfer".into(),
        portal: None,
        amount: Some(amount),
        received_on: None,
        payment_method: "bank_transfer".into(),
        payment_status: "unpaid".into(),
        ..donation(donor_id, on)
    }
}

// ---------------------------------------------------------------------------------------------
// HTML and JSON helpers

/// The value of `<input … name="{name}" value="…">` in `html`.
pub fn hidden_input(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\"");
    let at = html.find(&needle)?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + "value=\"".len();
    let end = tag[v..].find('"')?;
    Some(tag[v..v + end].to_string())
}

/// The number of `<tr>` rows in the first `<tbody>` of `html`.
pub fn table_rows(html: &str) -> usize {
    match (html.find("<tbody>"), html.find("</tbody>")) {
        (Some(a), Some(b)) => html[a..b].matches("<tr").count(),
        _ => 0,
    }
}

/// The text content of the element with class `class` (first occurrence), tags stripped.
pub fn text_of_class(html: &str, class: &str) -> Option<String> {
    let needle = format!("class=\"{class}\"");
    let at = html.find(&needle)?;
    let open_end = at + html[at..].find('>')? + 1;
    let close = open_end + html[open_end..].find("</")?;
    Some(html[open_end..close].trim().to_string())
}

/// Replaces every UUID with `[id-N]` (numbered by first appearance, so references between
/// fields stay visible) and every `*_at` timestamp with `[timestamp]`, for snapshots.
pub fn redact(v: Value) -> Value {
    let mut ids: Vec<String> = Vec::new();
    redact_in(v, None, &mut ids)
}

fn redact_in(v: Value, key: Option<&str>, ids: &mut Vec<String>) -> Value {
    match v {
        Value::String(s) if key.is_some_and(|k| k.ends_with("_at")) && !s.is_empty() => {
            let _ = s;
            Value::String("[timestamp]".into())
        }
        Value::String(s) if s.len() == 36 && Uuid::parse_str(&s).is_ok() => {
            let n = match ids.iter().position(|x| *x == s) {
                Some(i) => i + 1,
                None => {
                    ids.push(s);
                    ids.len()
                }
            };
            Value::String(format!("[id-{n}]"))
        }
        Value::Array(a) => Value::Array(a.into_iter().map(|x| redact_in(x, None, ids)).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, x)| {
                    let x = redact_in(x, Some(&k), ids);
                    (k, x)
                })
                .collect(),
        ),
        other => other,
    }
}
