//! A clerk looks for a donor on the phone, finds them by what the caller says, and opens their
//! page. Lists never show a whole name, phone number or address; the page does, and says so in
//! the audit trail.

mod support;

use furusato_db::donations::NewDonation;
use furusato_domain::Role;
use reqwest::StatusCode;
use support::*;

/// 山田 太郎 (楽天, order 123456-20261201-0000012345), 山本 花子 and 田中 一郎 in 仙台市.
struct Seeded {
    yamada: uuid::Uuid,
    yamada_number: String,
    yamamoto: uuid::Uuid,
    tanaka: uuid::Uuid,
}

async fn seed(app: &TestApp) -> Seeded {
    let t = app.tenant();
    let mut y = donor("山田", "太郎", "ヤマダ", "タロウ");
    y.sex = "male".into();
    y.birth_date = Some(date(1980, 3, 1));
    y.email = "taro.yamada@example.jp".into();
    let yamada = app.add_donor(t, y).await;
    let mut m = donor("山本", "花子", "ヤマモト", "ハナコ");
    m.postal_code = "0600001".into();
    m.prefecture = "北海道".into();
    m.city = "札幌市中央区".into();
    m.address1 = "北一条西1-1".into();
    m.phone = "011-222-3333".into();
    let yamamoto = app.add_donor(t, m).await;
    let mut k = donor("田中", "一郎", "タナカ", "イチロウ");
    k.phone = "080-9876-5432".into();
    k.postal_code = "9800021".into();
    let tanaka = app.add_donor(t, k).await;
    let (_, yamada_number) = app
        .add_donation(
            t,
            NewDonation {
                external_id: Some("123456-20261201-0000012345".into()),
                ..donation(yamada, date(2026, 12, 1))
            },
        )
        .await;
    Seeded {
        yamada,
        yamada_number,
        yamamoto,
        tanaka,
    }
}

fn count_summary(html: &str) -> String {
    text_of_class(html, "result-count").unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_finds_a_donor_by_kana_typed_in_hiragana_or_half_width() {
    let app = TestApp::spawn().await;
    let s = seed(&app).await;
    let clerk = app.login_as(Role::Operator).await;

    let (status, html) = app
        .get_html(&clerk, "/donors?kana=%E3%82%84%E3%81%BE%E3%81%A0")
        .await; // やまだ
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count_summary(&html), "1件中 1〜1件");
    assert!(html.contains(&format!("/donors/{}", s.yamada)));
    assert!(!html.contains(&format!("/donors/{}", s.yamamoto)));

    // Half-width ﾔﾏ finds both ヤマダ and ヤマモト.
    let (_, html) = app
        .get_html(&clerk, "/donors?kana=%EF%BE%94%EF%BE%8F")
        .await;
    assert_eq!(count_summary(&html), "2件中 1〜2件");
    assert_eq!(table_rows(&html), 2);

    // Family and given name with a space, in hiragana: やまだ たろう.
    let url = format!("/donors?kana={}", urlencode("やまだ たろう"));
    let (_, html) = app.get_html(&clerk, &url).await;
    assert_eq!(count_summary(&html), "1件中 1〜1件");
    assert!(!html.contains(&format!("/donors/{}", s.tanaka)));
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_finds_a_donor_by_phone_postal_code_donation_number_or_portal_order_number() {
    let app = TestApp::spawn().await;
    let s = seed(&app).await;
    let clerk = app.login_as(Role::City).await;
    let finds_only = |html: &str, id: uuid::Uuid| {
        assert_eq!(table_rows(html), 1, "{}", count_summary(html));
        assert!(html.contains(&format!("/donors/{id}")));
    };

    let (_, html) = app
        .get_html(
            &clerk,
            &format!("/donors?phone={}", urlencode("080-9876-5432")),
        )
        .await;
    finds_only(&html, s.tanaka);
    // Leading digits, typed in full-width.
    let (_, html) = app
        .get_html(
            &clerk,
            &format!("/donors?phone={}", urlencode("０１１２２")),
        )
        .await;
    finds_only(&html, s.yamamoto);

    let (_, html) = app
        .get_html(
            &clerk,
            &format!("/donors?postal_code={}", urlencode("〒060-0001")),
        )
        .await;
    finds_only(&html, s.yamamoto);
    // A postal-code prefix: 980 covers 山田 and 田中.
    let (_, html) = app.get_html(&clerk, "/donors?postal_code=980").await;
    assert_eq!(table_rows(&html), 2);

    let (_, html) = app
        .get_html(
            &clerk,
            &format!("/donors?donation_number={}", urlencode(&s.yamada_number)),
        )
        .await;
    finds_only(&html, s.yamada);
    let (_, html) = app
        .get_html(&clerk, "/donors?donation_number=123456-20261201-0000012345")
        .await;
    finds_only(&html, s.yamada);

    // Criteria are combined: ヤマ + 札幌's postal code is 山本 only; ヤマダ + 札幌 is nobody.
    let (_, html) = app
        .get_html(
            &clerk,
            &format!("/donors?kana={}&postal_code=0600001", urlencode("ヤマ")),
        )
        .await;
    finds_only(&html, s.yamamoto);
    let (_, html) = app
        .get_html(
            &clerk,
            &format!("/donors?kana={}&postal_code=0600001", urlencode("ヤマダ")),
        )
        .await;
    assert_eq!(table_rows(&html), 0);
    assert!(html.contains("条件に当てはまる寄附者は見つかりませんでした"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_form_shows_a_hint_instead_of_a_list_of_people() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let clerk = app.login_as(Role::Operator).await;
    for path in ["/donors", "/donors?kana=&name=+&phone="] {
        let (status, html) = app.get_html(&clerk, path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("検索条件を入力してください"), "{path}");
        assert!(!html.contains("<table"), "{path} must not list donors");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_search_input_is_explained_in_japanese() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let clerk = app.login_as(Role::Operator).await;
    let (status, html) = app
        .get_html(
            &clerk,
            "/donors?kana=yamada&postal_code=98O-0811&phone=090-abcd",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("フリガナはひらがなまたはカタカナで入力してください"));
    assert!(html.contains("郵便番号は7桁までの数字で入力してください"));
    assert!(html.contains("電話番号は11桁までの数字で入力してください"));
    assert!(!html.contains("<table"));
    // What was typed stays in the boxes.
    assert!(html.contains("value=\"yamada\""));
    // A page number that is not a number is page 1, not an error.
    let (status, html) = app
        .get_html(&clerk, "/donors?kana=%E3%82%84&page=abc")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count_summary(&html), "2件中 1〜2件");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_come_fifty_to_a_page_with_previous_and_next() {
    let app = TestApp::spawn().await;
    let t = app.tenant();
    for i in 0..50 {
        app.add_donor(t, donor("佐藤", &format!("太郎{i:02}"), "サトウ", "タロウ"))
            .await;
    }
    let clerk = app.login_as(Role::Operator).await;
    let q = format!("/donors?kana={}", urlencode("さとう"));

    // Exactly 50: one full page, no next.
    let (_, html) = app.get_html(&clerk, &q).await;
    assert_eq!(count_summary(&html), "50件中 1〜50件");
    assert_eq!(table_rows(&html), 50);
    assert!(!html.contains("rel=\"next\""));
    assert!(!html.contains("rel=\"prev\""));

    // The 51st donor makes a second page.
    app.add_donor(t, donor("佐藤", "最後", "サトウ", "ン"))
        .await;
    let (_, html) = app.get_html(&clerk, &q).await;
    assert_eq!(count_summary(&html), "51件中 1〜50件");
    assert!(html.contains("1 / 2 ページ"));
    let next = "/donors?kana=%E3%81%95%E3%81%A8%E3%81%86&#38;page=2";
    assert!(
        html.contains(&format!("href=\"{next}\" rel=\"next\"")),
        "next link keeps the criteria"
    );
    assert!(!html.contains("rel=\"prev\""));

    let (_, html) = app.get_html(&clerk, &format!("{q}&page=2")).await;
    assert_eq!(count_summary(&html), "51件中 51〜51件");
    assert_eq!(table_rows(&html), 1);
    assert!(html.contains("rel=\"prev\""));
    assert!(!html.contains("rel=\"next\""));

    let (status, html) = app.get_html(&clerk, &format!("{q}&page=3")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("このページに表示する寄附者はありません"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_masks_names_phones_and_addresses() {
    let app = TestApp::spawn().await;
    let mut one_field = donor("鈴木次郎", "", "スズキジロウ", "");
    one_field.phone = "022-214-1111".into();
    app.add_donor(app.tenant(), one_field).await;
    seed(&app).await;
    let clerk = app.login_as(Role::Operator).await;

    let (_, html) = app
        .get_html(&clerk, &format!("/donors?kana={}", urlencode("やまだ")))
        .await;
    assert!(html.contains("山田 ＊＊"));
    assert!(html.contains("ヤマダ ＊＊"));
    assert!(html.contains("宮城県仙台市青葉区"));
    assert!(html.contains("090-****-5678"));
    for secret in [
        "太郎",
        "タロウ",
        "090-1234-5678",
        "09012345678",
        "一番町",
        "taro.yamada@example.jp",
        "9800811",
        "〒980-0811",
    ] {
        assert!(!html.contains(secret), "the list shows {secret}");
    }

    // A name that came in one field keeps only its first character.
    let (_, html) = app
        .get_html(&clerk, &format!("/donors?kana={}", urlencode("すずき")))
        .await;
    assert!(html.contains("鈴＊＊"));
    assert!(html.contains("022-***-1111"));
    assert!(!html.contains("鈴木次郎"));
    assert!(!html.contains("スズキジロウ"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_donor_page_shows_everything_and_is_audited_once() {
    let app = TestApp::spawn().await;
    let s = seed(&app).await;
    let t = app.tenant();
    app.add_donation(
        t,
        NewDonation {
            amount: None,
            payment_status: "unpaid".into(),
            received_on: None,
            ..donation(s.yamada, date(2026, 12, 20))
        },
    )
    .await;
    let login = "clerk-yamada";
    app.create_user(t, login, Role::Operator, None).await;
    let clerk = app.login(login, PASSWORD).await;

    // Searching is not a view of anyone's full record.
    app.get_html(&clerk, &format!("/donors?kana={}", urlencode("やまだ")))
        .await;
    assert!(app.audit_rows(t, "donor.view").await.is_empty());

    let (status, html) = app.get_html(&clerk, &format!("/donors/{}", s.yamada)).await;
    assert_eq!(status, StatusCode::OK);
    for shown in [
        "山田 太郎",
        "ヤマダ タロウ",
        "〒980-0811",
        "宮城県仙台市青葉区一番町1-2-3",
        "090-1234-5678",
        "taro.yamada@example.jp",
        "男性",
        "昭和55年3月1日（1980年3月1日）",
        &s.yamada_number,
        "2026年12月1日",
        "楽天ふるさと納税",
        "123456-20261201-0000012345",
        "10,000円",
        "入金済",
        "金額未確定",
        "未入金",
        "寄附の履歴（2件）",
    ] {
        assert!(html.contains(shown), "the donor page lacks {shown}");
    }
    // Newest donation first.
    assert!(html.find("2026年12月20日").unwrap() < html.find("2026年12月1日").unwrap());
    assert!(html.contains("/donations/"));

    let rows = app.audit_rows(t, "donor.view").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].target_kind, "donor");
    assert_eq!(rows[0].target_id, s.yamada.to_string());
    assert_eq!(rows[0].user_login, login);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_of_another_city_finds_nothing() {
    let app = TestApp::spawn().await;
    let s = seed(&app).await;
    app.create_user(app.other_tenant(), "sapporo-clerk", Role::Operator, None)
        .await;
    let sapporo = app.login("sapporo-clerk", PASSWORD).await;

    let (status, html) = app
        .get_html(&sapporo, &format!("/donors/{}", s.yamada))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("見つかりません"));
    assert!(!html.contains("山田"));
    let (_, html) = app
        .get_html(&sapporo, &format!("/donors?kana={}", urlencode("やまだ")))
        .await;
    assert_eq!(table_rows(&html), 0);
    assert!(
        app.audit_rows(app.other_tenant(), "donor.view")
            .await
            .is_empty()
    );
    assert!(app.audit_rows(app.tenant(), "donor.view").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_and_other_roles_get_clear_answers() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let clerk = app.login_as(Role::Auditor).await;
    for path in [
        "/donors/not-a-uuid",
        "/donors/0190b4b0-0000-7000-8000-000000000000",
    ] {
        let (status, html) = app.get_html(&clerk, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(html.contains("お探しのページまたはデータは見つかりませんでした"));
    }
    // Not logged in: to the login page, coming back afterwards.
    let resp = app
        .client()
        .get(app.url("/donors?kana=a"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()["location"],
        "/login?next=%2Fdonors%3Fkana%3Da"
    );
    // A partner has no business here.
    let partner = app.login_as(Role::Partner).await;
    let (status, html) = app.get_html(&partner, "/donors").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("権限がありません"));
}
