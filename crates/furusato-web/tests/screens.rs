//! A server with fictitious data for looking at the screens in a real browser (not run by default):
//!
//! ```text
//! SCREENS_SECONDS=900 cargo test -p furusato-web --test screens -- --ignored --nocapture
//! ```
//!
//! It prints two addresses: one where every request is made as a logged-in operator, one as a
//! partner (the session cookie is added by a middleware, so a headless browser needs no login),
//! and serves them for `SCREENS_SECONDS` (default 600).

mod support;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use furusato_db::donations::{NewDonation, NewDonationItem, NewShipTo};
use furusato_db::sessions::{self, NewSession};
use furusato_domain::Role;
use furusato_web::{AppState, WebSettings};
use support::*;
use uuid::Uuid;

const FAMILY: [(&str, &str); 10] = [
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
];
const GIVEN: [(&str, &str); 6] = [
    ("太郎", "タロウ"),
    ("花子", "ハナコ"),
    ("一郎", "イチロウ"),
    ("美咲", "ミサキ"),
    ("健太", "ケンタ"),
    ("陽子", "ヨウコ"),
];
const PLACES: [(&str, &str, &str, &str); 4] = [
    ("9800811", "宮城県", "仙台市青葉区", "一番町"),
    ("1500001", "東京都", "渋谷区", "神宮前"),
    ("5300001", "大阪府", "大阪市北区", "梅田"),
    ("0600001", "北海道", "札幌市中央区", "北一条西"),
];

async fn session_for(app: &TestApp, user: &furusato_db::users::User) -> String {
    let token = furusato_web::session::random_token();
    let hash = furusato_web::session::hash_token(&token);
    let csrf = furusato_web::session::random_token();
    sessions::create(
        &app.db,
        &NewSession {
            token_hash: &hash,
            user_id: user.id,
            municipality_id: app.tenant(),
            csrf_token: &csrf,
            mfa_passed: true,
            ip: "127.0.0.1",
            user_agent: "screens",
            expires_at: furusato_db::now_utc() + time::Duration::hours(12),
        },
    )
    .await
    .expect("create a session");
    token
}

async fn serve_as(app: &TestApp, token: String) -> SocketAddr {
    let settings = WebSettings {
        session_idle_minutes: 600,
        ..WebSettings::default()
    };
    let keyring = furusato_vault::Keyring::generate().expect("keyring");
    let state = AppState::new(app.db.clone(), settings, Some(Arc::new(keyring)));
    let cookie = HeaderValue::from_str(&format!("{}={token}", furusato_web::session::COOKIE))
        .expect("cookie");
    let (router, _) = furusato_web::app(state);
    let router = router.layer(axum::middleware::map_request(move |mut req: Request| {
        let cookie = cookie.clone();
        async move {
            req.headers_mut().insert(header::COOKIE, cookie);
            req
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("serve");
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "serves screens for a browser; run by hand"]
async fn serve_screens_for_a_browser() {
    let app = TestApp::spawn().await;
    let t = app.tenant();
    let partner = app.add_partner(t, "P001", "有限会社 仙台牛タン工房").await;
    let other_partner = app.add_partner(t, "P002", "笹かま本舗").await;
    let gift = app
        .add_gift(t, partner, "SD0001", "仙台名物 厚切り牛タン 500g")
        .await;
    let gift2 = app
        .add_gift(t, other_partner, "SD0002", "笹かまぼこ 20枚")
        .await;
    let portals = [
        Some("rakuten"),
        Some("choice"),
        Some("satofull"),
        None,
        Some("furunavi"),
        Some("rakuten"),
    ];
    let statuses = [
        "paid",
        "paid",
        "unpaid",
        "paid",
        "cancelled",
        "refunded",
        "paid",
    ];
    let mut n = 0usize;
    let mut first_donor = Uuid::nil();
    for (fi, (family, family_kana)) in FAMILY.iter().enumerate() {
        for (gi, (given, given_kana)) in GIVEN.iter().enumerate() {
            n += 1;
            let place = PLACES[(fi + gi) % PLACES.len()];
            let mut d = donor(family, given, family_kana, given_kana);
            d.postal_code = place.0.into();
            d.prefecture = place.1.into();
            d.city = place.2.into();
            d.address1 = format!("{}{}-{}-{}", place.3, 1 + n % 4, 1 + n % 9, 1 + n % 20);
            d.address2 = if n.is_multiple_of(3) {
                format!("グランドメゾン{}0{}", n % 9 + 1, n % 5 + 1)
            } else {
                String::new()
            };
            d.phone = format!(
                "090-{:04}-{:04}",
                1000 + n * 37 % 9000,
                1000 + n * 53 % 9000
            );
            d.email = format!("donor{n}@example.jp");
            d.sex = if gi % 2 == 0 {
                "male".into()
            } else {
                "female".into()
            };
            d.birth_date = Some(date(
                1950 + (n % 50) as i32,
                1 + (n % 12) as u8,
                1 + (n % 28) as u8,
            ));
            let donor_id = app.add_donor(t, d).await;
            if first_donor.is_nil() {
                first_donor = donor_id;
            }
            for k in 0..(1 + n % 3) {
                let portal = portals[(n + k) % portals.len()];
                let status = statuses[(n * 3 + k) % statuses.len()];
                let on = date(
                    2026,
                    1 + ((n + k * 5) % 12) as u8,
                    1 + ((n * 7 + k) % 28) as u8,
                );
                let x = NewDonation {
                    channel: if portal.is_some() {
                        "portal".into()
                    } else {
                        "bank_transfer".into()
                    },
                    portal: portal.map(String::from),
                    external_id: portal.map(|_| {
                        format!(
                            "123456-2026{:02}{:02}-{:010}",
                            on.month() as u8,
                            on.day(),
                            n * 10 + k
                        )
                    }),
                    amount: if n.is_multiple_of(17) {
                        None
                    } else {
                        Some(10_000 * (1 + (n % 5) as i64))
                    },
                    payment_method: if portal.is_some() {
                        "credit_card".into()
                    } else {
                        "bank_transfer".into()
                    },
                    payment_status: status.into(),
                    received_on: (status == "paid").then_some(on),
                    onestop_wanted: n.is_multiple_of(2),
                    ..donation(donor_id, on)
                };
                let (id, _) = app.add_donation(t, x).await;
                let ship = if n.is_multiple_of(4) {
                    Some(
                        app.add_ship_to(
                            t,
                            id,
                            1,
                            NewShipTo {
                                name: format!("{family} 春子"),
                                kana: format!("{family_kana} ハルコ"),
                                postal_code: "1000001".into(),
                                address: "東京都千代田区千代田1-1 千代田ハイツ305".into(),
                                phone: "03-1234-5678".into(),
                                external_ref: String::new(),
                            },
                        )
                        .await,
                    )
                } else {
                    None
                };
                let g = if n.is_multiple_of(5) { gift2 } else { gift };
                app.add_item(
                    t,
                    id,
                    1,
                    NewDonationItem {
                        gift_id: Some(g.0),
                        gift_version_id: Some(g.1),
                        gift_code: if n.is_multiple_of(5) {
                            "SD0002".into()
                        } else {
                            "SD0001".into()
                        },
                        name: if n.is_multiple_of(5) {
                            "笹かまぼこ 20枚".into()
                        } else {
                            "仙台名物 厚切り牛タン 500g".into()
                        },
                        quantity: 1 + (n % 2) as i64,
                        amount: Some(10_000),
                        ship_to_id: ship,
                    },
                )
                .await;
            }
        }
    }
    let operator = app.create_user(t, "operator", Role::Operator, None).await;
    let partner_user = app
        .create_user(t, "gyutan", Role::Partner, Some(partner))
        .await;
    let op = serve_as(&app, session_for(&app, &operator).await).await;
    let pa = serve_as(&app, session_for(&app, &partner_user).await).await;
    println!("OPERATOR http://{op}");
    println!("PARTNER http://{pa}");
    println!("DONOR {first_donor}");
    let secs = std::env::var("SCREENS_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
}
