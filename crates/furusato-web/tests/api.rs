//! The JSON API: the same rules as the screens (login, permission, tenancy, masking, audit),
//! JSON errors with Japanese messages, and snapshots of every response shape and of the OpenAPI
//! document, so that a change of the API shows up in review.

mod support;

use std::collections::BTreeSet;

use furusato_db::donations::{NewDonation, NewDonationItem, NewShipTo};
use furusato_db::reference::{self, LocalGov, PostalRecord};
use furusato_domain::{LocalGovCode, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;
use uuid::Uuid;

struct Seeded {
    yamada: Uuid,
    donation: Uuid,
}

/// 山田 太郎 with a 楽天 donation (one gift line, one ship-to) and an unpaid bank transfer of
/// unknown amount; 佐藤 花子 with a チョイス donation.
async fn seed(app: &TestApp) -> Seeded {
    let t = app.tenant();
    let mut y = donor("山田", "太郎", "ヤマダ", "タロウ");
    y.sex = "male".into();
    y.birth_date = Some(date(1980, 3, 1));
    y.address2 = "ハイツ一番町201".into();
    let yamada = app.add_donor(t, y).await;
    let mut s = donor("佐藤", "花子", "サトウ", "ハナコ");
    s.phone = "022-214-1111".into();
    let sato = app.add_donor(t, s).await;
    let (d1, _) = app
        .add_donation(
            t,
            NewDonation {
                external_id: Some("123456-20260510-0000000001".into()),
                onestop_wanted: true,
                use_of_funds: "子育て支援".into(),
                ..donation(yamada, date(2026, 5, 10))
            },
        )
        .await;
    let partner = app.add_partner(t, "P001", "牛タン工房").await;
    let gift = app.add_gift(t, partner, "SD0001", "牛タン詰め合わせ").await;
    let ship = app
        .add_ship_to(
            t,
            d1,
            1,
            NewShipTo {
                name: "山田 ハル".into(),
                kana: "ヤマダ ハル".into(),
                postal_code: "1000001".into(),
                address: "東京都千代田区千代田1-1".into(),
                phone: "03-1111-2222".into(),
                external_ref: "basket-1".into(),
            },
        )
        .await;
    app.add_item(
        t,
        d1,
        1,
        NewDonationItem {
            gift_id: Some(gift.0),
            gift_version_id: Some(gift.1),
            gift_code: "SD0001".into(),
            name: "牛タン詰め合わせ".into(),
            quantity: 1,
            amount: Some(10_000),
            ship_to_id: Some(ship),
        },
    )
    .await;
    let unknown_amount = NewDonation {
        amount: None,
        ..bank_donation(yamada, date(2026, 6, 1), 0)
    };
    app.add_donation(t, unknown_amount).await;
    app.add_donation(
        t,
        NewDonation {
            portal: Some("choice".into()),
            ..donation(sato, date(2026, 4, 20))
        },
    )
    .await;
    Seeded {
        yamada,
        donation: d1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_login_the_api_answers_401_in_json() {
    let app = TestApp::spawn().await;
    let client = app.client();
    for path in [
        "/api/v1/donors?kana=a",
        "/api/v1/donations",
        "/api/v1/openapi.json",
        "/api/v1/postal/9800811",
    ] {
        let (status, body) = app.get_json(&client, path).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            body,
            json!({"error": "Unauthorized", "message": "ログインしてください。"}),
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn donor_search_and_detail_snapshots() {
    let app = TestApp::spawn().await;
    let s = seed(&app).await;
    let clerk = app.login_as(Role::Operator).await;

    let (status, list) = app
        .get_json(
            &clerk,
            "/api/v1/donors?kana=%E3%82%84%E3%81%BE%E3%81%A0&per_page=10",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = list.to_string();
    for hidden in [
        "太郎",
        "タロウ",
        "090-1234-5678",
        "一番町",
        "donor@example.jp",
    ] {
        assert!(!text.contains(hidden), "the API list shows {hidden}");
    }
    insta::assert_json_snapshot!("api_donors_list", redact(list));

    let (status, detail) = app
        .get_json(&clerk, &format!("/api/v1/donors/{}", s.yamada))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["id"], s.yamada.to_string());
    insta::assert_json_snapshot!("api_donor_detail", redact(detail));
    let audits = app.audit_rows(app.tenant(), "donor.view").await;
    assert_eq!(audits.len(), 1);
    assert_eq!(audits[0].target_id, s.yamada.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn donation_list_and_detail_snapshots() {
    let app = TestApp::spawn().await;
    let s = seed(&app).await;
    let clerk = app.login_as(Role::City).await;

    let (status, list) = app.get_json(&clerk, "/api/v1/donations").await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!("api_donations_list", redact(list));

    let (_, filtered) = app
        .get_json(
            &clerk,
            "/api/v1/donations?portal=direct&payment_status=unpaid",
        )
        .await;
    assert_eq!(filtered["total"], 1);
    assert_eq!(filtered["items"][0]["amount"], Value::Null);
    let (_, page2) = app
        .get_json(&clerk, "/api/v1/donations?per_page=2&page=2")
        .await;
    assert_eq!(page2["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(page2["has_next"], false);

    let (status, detail) = app
        .get_json(&clerk, &format!("/api/v1/donations/{}", s.donation))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        detail["items"][0]["ship_to_id"],
        detail["ship_tos"][0]["id"]
    );
    insta::assert_json_snapshot!("api_donation_detail", redact(detail));
    assert_eq!(app.audit_rows(app.tenant(), "donation.view").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_get_400_with_a_japanese_message() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let clerk = app.login_as(Role::Operator).await;
    let cases = [
        (
            "/api/v1/donors",
            "検索条件（kana, name, postal_code, phone, donation_number）のいずれかを指定してください。",
        ),
        (
            "/api/v1/donors?kana=yamada",
            "フリガナはひらがなまたはカタカナで入力してください（例: やまだ、ヤマダ）。",
        ),
        (
            "/api/v1/donors?kana=%E3%82%84&page=0",
            "page は1以上の整数（10000まで）で指定してください。",
        ),
        (
            "/api/v1/donations?per_page=1000",
            "per_page は1〜200の整数で指定してください。",
        ),
        (
            "/api/v1/donations?from=2026-13-01",
            "寄附日（開始）: 存在しない日付です。",
        ),
        (
            "/api/v1/donations?portal=amazon&channel=fax",
            "ポータルの指定が正しくありません。一覧から選んでください。 受付経路の指定が正しくありません。一覧から選んでください。",
        ),
        (
            "/api/v1/postal/98-0811",
            "郵便番号のハイフンの位置が正しくありません（例: 980-0811）。",
        ),
    ];
    for (path, message) in cases {
        let (status, body) = app.get_json(&clerk, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(
            body,
            json!({"error": "Bad Request", "message": message}),
            "{path}"
        );
    }
    let (status, body) = app.get_json(&clerk, "/api/v1/donors/not-a-uuid").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "Not Found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_citys_records_are_not_found_through_the_api() {
    let app = TestApp::spawn().await;
    let s = seed(&app).await;
    app.create_user(app.other_tenant(), "sapporo", Role::CityAdmin, None)
        .await;
    let sapporo = app.login("sapporo", PASSWORD).await;
    for path in [
        format!("/api/v1/donors/{}", s.yamada),
        format!("/api/v1/donations/{}", s.donation),
    ] {
        let (status, body) = app.get_json(&sapporo, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            body["message"],
            "お探しのページまたはデータは見つかりませんでした。"
        );
    }
    let (_, list) = app
        .get_json(&sapporo, "/api/v1/donors?kana=%E3%83%A4")
        .await;
    assert_eq!(list["total"], 0);
    let (_, list) = app.get_json(&sapporo, "/api/v1/donations").await;
    assert_eq!(list["total"], 0);
    assert!(
        app.audit_rows(app.other_tenant(), "donor.view")
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postal_code_fills_in_the_address() {
    let app = TestApp::spawn().await;
    let rec = |code: &str, seq, code5: &str, city: &str, town: &str| PostalRecord {
        postal_code: code.into(),
        seq,
        local_gov_code5: code5.into(),
        prefecture: "宮城県".into(),
        city: city.into(),
        town: town.into(),
        prefecture_kana: "ミヤギケン".into(),
        city_kana: "".into(),
        town_kana: "".into(),
    };
    let rows = vec![
        rec("9800811", 0, "04101", "仙台市青葉区", "一番町"),
        rec("9813100", 0, "04103", "仙台市泉区", "松森"),
        rec("9813100", 1, "04103", "仙台市泉区", "実沢"),
    ];
    reference::replace_postal(&app.db, rows, "test", "0")
        .await
        .expect("load postal codes");
    let code6 = |c5: &str| LocalGovCode::from_code5(c5).unwrap().as_str().to_string();
    let lg = |c5: &str, kind: &str, parent: Option<String>, name: &str| LocalGov {
        code: code6(c5),
        code5: c5.into(),
        pref_code: 4,
        kind: kind.into(),
        parent_code: parent,
        prefecture: "宮城県".into(),
        name: name.into(),
        prefecture_kana: "ミヤギケン".into(),
        name_kana: "".into(),
    };
    let sendai = code6("04100");
    let local = [
        lg("04100", "designated_city", None, "仙台市"),
        lg("04101", "ward", Some(sendai.clone()), "仙台市青葉区"),
        lg("04103", "ward", Some(sendai.clone()), "仙台市泉区"),
    ];
    reference::replace_local_gov(&app.db, &local, "test", "0")
        .await
        .expect("load local-government codes");
    let clerk = app.login_as(Role::Operator).await;

    let (status, body) = app.get_json(&clerk, "/api/v1/postal/980-0811").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["postal_code"], "9800811");
    assert_eq!(body["prefecture"], "宮城県");
    assert_eq!(body["city"], "仙台市青葉区");
    assert_eq!(body["town"], "一番町");
    assert_eq!(body["local_gov_code"], code6("04101"));
    assert_eq!(body["residence_city_code"], sendai);
    assert_eq!(body["candidates"], 1);
    // A code covering several towns: only what they share.
    let (_, body) = app
        .get_json(&clerk, "/api/v1/postal/%E3%80%92981-3100")
        .await;
    assert_eq!(body["city"], "仙台市泉区");
    assert_eq!(body["town"], "");
    assert_eq!(body["candidates"], 2);
    let (status, _) = app.get_json(&clerk, "/api/v1/postal/0000000").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Any logged-in user may use it (it is public reference data), a partner too.
    let partner = app.login_as(Role::Partner).await;
    let (status, _) = app.get_json(&partner, "/api/v1/postal/9800811").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_exactly_the_api_routes() {
    let app = TestApp::spawn().await;
    let clerk = app.login_as(Role::Auditor).await;
    let (status, doc) = app.get_json(&clerk, "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);

    // Every /api/ route of the route table is documented, and nothing else is.
    let keyring = furusato_vault::Keyring::generate().unwrap();
    let state = furusato_web::AppState::new(
        app.db.clone(),
        Default::default(),
        Some(std::sync::Arc::new(keyring)),
    );
    let (_, specs) = furusato_web::app(state);
    let routed: BTreeSet<(String, String)> = specs
        .iter()
        .filter(|s| s.api)
        .map(|s| (s.method.as_str().to_lowercase(), s.path.to_string()))
        .collect();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .into_iter()
                .flat_map(move |o| o.keys().map(move |m| (m.clone(), path.clone())))
        })
        .filter(|(m, _)| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
        .collect();
    assert_eq!(routed, documented);
    // Operation ids name each operation once (clients generate function names from them).
    let ids: Vec<&str> = doc["paths"]
        .as_object()
        .expect("paths")
        .values()
        .flat_map(|ops| ops.as_object().into_iter().flat_map(|o| o.values()))
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        ids.len(),
        "duplicate operationId in {ids:?}"
    );
    assert_eq!(ids.len(), routed.len());

    let mut doc = doc;
    doc["info"]["version"] = json!("[version]");
    insta::assert_json_snapshot!("openapi", doc);
}
