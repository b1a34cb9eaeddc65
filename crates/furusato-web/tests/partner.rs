//! A gift supplier logs in and sees the lines of their own gifts with the address to ship each
//! to — and nothing of other suppliers, nothing else about the donors.

mod support;

use furusato_db::donations::{NewDonation, NewDonationItem, NewShipTo};
use furusato_domain::Role;
use reqwest::StatusCode;
use support::*;
use uuid::Uuid;

struct World {
    /// Lines of partner A: explicit ship-to, first ship-to of the donation, donor's own address,
    /// and a line of a cancelled donation.
    a_explicit: Uuid,
    a_first: Uuid,
    a_donor: Uuid,
    a_cancelled: Uuid,
    b_line: Uuid,
    numbers: Vec<String>,
    partner_a: Uuid,
    partner_b: Uuid,
}

fn ship_to(name: &str, postal: &str, address: &str, phone: &str) -> NewShipTo {
    NewShipTo {
        name: name.into(),
        kana: "".into(),
        postal_code: postal.into(),
        address: address.into(),
        phone: phone.into(),
        external_ref: "".into(),
    }
}

fn line(gift: (Uuid, Uuid), code: &str, name: &str, ship_to_id: Option<Uuid>) -> NewDonationItem {
    NewDonationItem {
        gift_id: Some(gift.0),
        gift_version_id: Some(gift.1),
        gift_code: code.into(),
        name: name.into(),
        quantity: 1,
        amount: Some(12_000),
        ship_to_id,
    }
}

async fn seed(app: &TestApp) -> World {
    let t = app.tenant();
    let partner_a = app.add_partner(t, "P-A", "牛タン工房").await;
    let partner_b = app.add_partner(t, "P-B", "笹かま本舗").await;
    let gift_a = app
        .add_gift(t, partner_a, "SD0001", "牛タン詰め合わせ")
        .await;
    let gift_b = app.add_gift(t, partner_b, "SD0002", "笹かまぼこ").await;

    let mut x = donor("山田", "太郎", "ヤマダ", "タロウ");
    x.email = "taro@example.jp".into();
    x.birth_date = Some(date(1980, 3, 1));
    let x = app.add_donor(t, x).await;
    let mut y = donor("佐藤", "花子", "サトウ", "ハナコ");
    y.phone = "080-2222-3333".into();
    let y = app.add_donor(t, y).await;
    let mut z = donor("鈴木", "一郎", "スズキ", "イチロウ");
    z.postal_code = "9893201".into();
    z.city = "仙台市青葉区".into();
    z.address1 = "吉成1-1".into();
    z.address2 = "コーポ吉成101".into();
    z.phone = "022-111-2222".into();
    let z = app.add_donor(t, z).await;

    let mut numbers = vec![];
    // 1) 2026-05-01, X: one ship-to (X's mother); A's line names it, B's line does not.
    let (d1, n1) = app.add_donation(t, donation(x, date(2026, 5, 1))).await;
    let s1 = app
        .add_ship_to(
            t,
            d1,
            1,
            ship_to(
                "山田 ハル",
                "1000001",
                "東京都千代田区千代田1-1",
                "03-1111-2222",
            ),
        )
        .await;
    let a_explicit = app
        .add_item(
            t,
            d1,
            1,
            line(gift_a, "SD0001", "牛タン詰め合わせ", Some(s1)),
        )
        .await;
    let b_line = app
        .add_item(t, d1, 2, line(gift_b, "SD0002", "笹かまぼこ", None))
        .await;
    numbers.push(n1);
    // 2) 2026-06-01, Y: two ship-tos; A's line names none, so the first one is used.
    let (d2, n2) = app.add_donation(t, donation(y, date(2026, 6, 1))).await;
    app.add_ship_to(
        t,
        d2,
        2,
        ship_to(
            "佐藤 次郎",
            "5300001",
            "大阪府大阪市北区梅田1-1",
            "06-1111-2222",
        ),
    )
    .await;
    app.add_ship_to(
        t,
        d2,
        1,
        ship_to(
            "佐藤 春子",
            "4600001",
            "愛知県名古屋市中区三の丸1-1",
            "052-111-2222",
        ),
    )
    .await;
    let a_first = app
        .add_item(t, d2, 1, line(gift_a, "", "牛タン詰め合わせ", None))
        .await;
    numbers.push(n2);
    // 3) 2026-07-01, Z: no ship-to at all — the donor's own address.
    let (d3, n3) = app.add_donation(t, donation(z, date(2026, 7, 1))).await;
    let a_donor = app
        .add_item(t, d3, 1, line(gift_a, "SD0001", "牛タン詰め合わせ", None))
        .await;
    numbers.push(n3);
    // 4) 2026-08-01, X: cancelled.
    let cancelled = NewDonation {
        payment_status: "cancelled".into(),
        received_on: None,
        ..donation(x, date(2026, 8, 1))
    };
    let (d4, n4) = app.add_donation(t, cancelled).await;
    let a_cancelled = app
        .add_item(t, d4, 1, line(gift_a, "SD0001", "牛タン詰め合わせ", None))
        .await;
    numbers.push(n4);
    World {
        a_explicit,
        a_first,
        a_donor,
        a_cancelled,
        b_line,
        numbers,
        partner_a,
        partner_b,
    }
}

async fn partner_user(app: &TestApp, login: &str, partner: Uuid) -> reqwest::Client {
    app.create_user(app.tenant(), login, Role::Partner, Some(partner))
        .await;
    app.login(login, PASSWORD).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_sees_their_own_lines_with_the_address_to_ship_to() {
    let app = TestApp::spawn().await;
    let w = seed(&app).await;
    let a = partner_user(&app, "gyutan", w.partner_a).await;

    // "/" sends a partner to their orders.
    let resp = a.get(app.url("/")).send().await.unwrap();
    assert_eq!(resp.headers()["location"], "/partner/orders");

    let (status, html) = app.get_html(&a, "/partner/orders").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        text_of_class(&html, "result-count").as_deref(),
        Some("4件中 1〜4件")
    );
    assert_eq!(table_rows(&html), 4);
    for id in [w.a_explicit, w.a_first, w.a_donor, w.a_cancelled] {
        assert!(html.contains(&format!("/partner/orders/{id}")));
    }
    assert!(!html.contains(&format!("/partner/orders/{}", w.b_line)));
    assert!(!html.contains("笹かまぼこ"));
    // Newest first.
    let pos = |n: &str| html.find(n).unwrap_or_else(|| panic!("{n} missing"));
    assert!(pos(&w.numbers[3]) < pos(&w.numbers[2]));
    assert!(pos(&w.numbers[2]) < pos(&w.numbers[1]));
    assert!(pos(&w.numbers[1]) < pos(&w.numbers[0]));
    // Ship-to of each kind.
    for shown in [
        "山田 ハル",
        "〒100-0001",
        "東京都千代田区千代田1-1",
        "03-1111-2222",
        "佐藤 春子",
        "愛知県名古屋市中区三の丸1-1",
        "鈴木 一郎",
        "〒989-3201",
        "宮城県仙台市青葉区吉成1-1 コーポ吉成101",
        "022-111-2222",
        "取消・発送不要",
        "SD0001",
        "牛タン詰め合わせ",
    ] {
        assert!(html.contains(shown), "the partner list lacks {shown}");
    }
    assert!(
        !html.contains("佐藤 次郎"),
        "only the first ship-to of the donation is used"
    );
    // Nothing else of the donors.
    for hidden in [
        "taro@example.jp",
        "昭和55年",
        "1980",
        "12,000円",
        "10,000円",
        "ヤマダ",
        "080-2222-3333",
    ] {
        assert!(!html.contains(hidden), "the partner sees {hidden}");
    }
    let list_audits = app.audit_rows(app.tenant(), "partner_order.list").await;
    assert_eq!(list_audits.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_opens_a_line_but_never_another_partners() {
    let app = TestApp::spawn().await;
    let w = seed(&app).await;
    let a = partner_user(&app, "gyutan", w.partner_a).await;

    let (status, html) = app
        .get_html(&a, &format!("/partner/orders/{}", w.a_donor))
        .await;
    assert_eq!(status, StatusCode::OK);
    for shown in [
        "鈴木 一郎 様",
        "〒989-3201",
        "宮城県仙台市青葉区吉成1-1 コーポ吉成101",
        "022-111-2222",
        "寄附者の住所（送付先の指定なし）",
        &w.numbers[2],
    ] {
        assert!(html.contains(shown), "the line page lacks {shown}");
    }
    let (_, html) = app
        .get_html(&a, &format!("/partner/orders/{}", w.a_cancelled))
        .await;
    assert!(html.contains("返礼品を発送しないでください"));

    let (status, html) = app
        .get_html(&a, &format!("/partner/orders/{}", w.b_line))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!html.contains("笹かまぼこ"));
    let views = app.audit_rows(app.tenant(), "partner_order.view").await;
    assert_eq!(views.len(), 2, "the 404 is not a view");

    // Partner B sees only B's line.
    let b = partner_user(&app, "sasakama", w.partner_b).await;
    let (_, html) = app.get_html(&b, "/partner/orders").await;
    assert_eq!(table_rows(&html), 1);
    assert!(html.contains("笹かまぼこ"));
    assert!(
        html.contains("山田 ハル"),
        "B's line goes to the donation's first ship-to"
    );
    let (status, _) = app
        .get_html(&b, &format!("/partner/orders/{}", w.a_explicit))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_and_staff_stay_on_their_own_screens() {
    let app = TestApp::spawn().await;
    let w = seed(&app).await;
    let a = partner_user(&app, "gyutan", w.partner_a).await;
    for path in [
        "/donors?kana=a",
        "/donations",
        &format!("/donations/{}", Uuid::now_v7()),
    ] {
        let (status, _) = app.get_html(&a, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let (status, body) = app.get_json(&a, "/api/v1/donations").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["message"], "この画面を表示する権限がありません。");

    let clerk = app.login_as(Role::Operator).await;
    let (status, _) = app.get_html(&clerk, "/partner/orders").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A partner account not linked to any partner sees nothing rather than everything.
    let orphan = app.login_as(Role::Partner).await;
    let (status, _) = app.get_html(&orphan, "/partner/orders").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
