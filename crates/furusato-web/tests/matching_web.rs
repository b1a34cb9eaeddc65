//! An operator works through the likely duplicates: she compares the pair side by side, merges
//! the same person (and can undo it), marks different people as such, merges two donors by hand
//! from a donor's page, and reads a donor's source history. Only ledger staff may decide.

mod support;

use furusato_db::MunicipalityId;
use furusato_db::donors::{self, NewDonor};
use furusato_db::matching as store;
use furusato_domain::Role;
use furusato_intake::matching::{SourceRef, resolve_donors_detailed};
use reqwest::StatusCode;
use support::*;
use uuid::Uuid;

/// 山田 太郎 from 楽天 with one donation, and the same person moved to 東京 from a チョイス CSV
/// with two donations: a pending review (85 points).
struct Pair {
    old: Uuid,
    new: Uuid,
    review: Uuid,
    old_number: String,
}

async fn pair(app: &TestApp) -> Pair {
    let t = app.tenant();
    let yamada = donor("山田", "太郎", "ヤマダ", "タロウ");
    let moved = NewDonor {
        postal_code: "1000001".into(),
        prefecture: "東京都".into(),
        city: "千代田区".into(),
        address1: "千代田1-1".into(),
        ..yamada.clone()
    };
    let mut tx = app.db.begin().await.unwrap();
    let r = resolve_donors_detailed(
        &mut tx,
        t,
        &[
            (
                yamada,
                SourceRef {
                    source: "rakuten",
                    external_id: "111111-20261201-0000000001",
                },
            ),
            (
                moved,
                SourceRef {
                    source: "csv:choice",
                    external_id: "C-0001",
                },
            ),
        ],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let (old, new) = (r[0].donor_id, r[1].donor_id);
    let (_, old_number) = app.add_donation(t, donation(old, date(2026, 12, 1))).await;
    app.add_donation(t, bank_donation(new, date(2026, 12, 2), 20_000))
        .await;
    app.add_donation(t, bank_donation(new, date(2026, 12, 3), 30_000))
        .await;
    Pair {
        old,
        new,
        review: r[1].review_id.expect("a review"),
        old_number,
    }
}

async fn donor_of_donations(app: &TestApp, t: MunicipalityId, donor: Uuid) -> usize {
    furusato_db::donations::for_donor(&app.db, t, donor)
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_merges_a_likely_duplicate_and_undoes_it() {
    let app = TestApp::spawn().await;
    let t = app.tenant();
    let p = pair(&app).await;
    let op = app.login_as(Role::Operator).await;

    let (status, html) = app.get_html(&op, "/intake/matching").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("85点"));
    assert!(html.contains("転居の可能性"));
    assert!(
        html.contains("東京都千代田区千代田1-1") && html.contains("宮城県仙台市青葉区一番町1-2-3")
    );
    assert!(html.contains("<tr class=\"match\"><th scope=\"row\">電話番号</th>"));
    assert!(html.contains("<tr class=\"differs\"><th scope=\"row\">住所</th>"));
    assert_eq!(
        app.audit_rows(t, "match_review.list").await.len(),
        1,
        "viewing the pairs is audited"
    );

    // Merge, keeping the older donor (the default choice on the page).
    let csrf = hidden_input(&html, "_csrf").unwrap();
    let resp = op
        .post(app.url(&format!("/intake/matching/{}/merge", p.review)))
        .form(&[("_csrf", csrf.as_str()), ("keep", &p.old.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["location"], "/intake/matching?done=merged");
    assert_eq!(donor_of_donations(&app, t, p.old).await, 3);
    assert_eq!(donor_of_donations(&app, t, p.new).await, 0);
    assert_eq!(
        donors::get(&app.db, t, p.new)
            .await
            .unwrap()
            .unwrap()
            .merged_into_id,
        Some(p.old)
    );
    let merges = app.audit_rows(t, "donor.merge").await;
    assert_eq!(merges.len(), 1, "one detailed entry, no generic duplicate");
    assert!(app.audit_rows(t, "match_review.merge").await.is_empty());
    let (_, html) = app.get_html(&op, "/intake/matching?done=merged").await;
    assert!(html.contains("同一人物として統合しました"));
    assert!(html.contains("確認待ちの組み合わせはありません"));

    // A second click on the same pair is refused.
    let resp = op
        .post(app.url(&format!("/intake/matching/{}/merge", p.review)))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);

    // The merge list, and undo.
    let (status, html) = app.get_html(&op, "/intake/matching/merges").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("取り消す") && html.contains("2件") && html.contains("名寄せ確認"));
    assert!(!html.contains("太郎"), "names are masked in the list");
    let merge = store::merges_for_donor(&app.db, t, p.old)
        .await
        .unwrap()
        .remove(0);
    let resp = op
        .post(app.url(&format!("/intake/matching/merges/{}/undo", merge.id)))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(donor_of_donations(&app, t, p.old).await, 1);
    assert_eq!(donor_of_donations(&app, t, p.new).await, 2);
    assert_eq!(app.audit_rows(t, "donor.merge_undo").await.len(), 1);
    let (_, html) = app
        .get_html(&op, "/intake/matching/merges?done=undone")
        .await;
    assert!(html.contains("統合を取り消しました") && html.contains("取消済"));
    let (_, html) = app.get_html(&op, "/intake/matching").await;
    assert!(html.contains("85点"), "the pair is back on the queue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_marks_different_people() {
    let app = TestApp::spawn().await;
    let t = app.tenant();
    let p = pair(&app).await;
    let op = app.login_as(Role::Operator).await;
    let csrf = app.csrf(&op, "/intake/matching").await;
    let resp = op
        .post(app.url(&format!("/intake/matching/{}/reject", p.review)))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(store::pending_count(&app.db, t).await.unwrap(), 0);
    assert_eq!(app.audit_rows(t, "match_review.reject").await.len(), 1);
    assert_eq!(donor_of_donations(&app, t, p.new).await, 2);
    // Without the token nothing happens.
    let resp = op
        .post(app.url(&format!("/intake/matching/{}/reject", p.review)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_merge_from_a_donor_page_and_the_source_history() {
    let app = TestApp::spawn().await;
    let t = app.tenant();
    let p = pair(&app).await;
    // Someone else with the same reading elsewhere: found by the search, not suggested.
    let other = app
        .add_donor(
            t,
            NewDonor {
                postal_code: "0600001".into(),
                prefecture: "北海道".into(),
                city: "札幌市中央区".into(),
                address1: "北一条西1".into(),
                phone: "011-111-2222".into(),
                ..donor("八間田", "太郎", "ヤマダ", "タロウ")
            },
        )
        .await;
    let op = app.login_as(Role::Operator).await;

    let (status, html) = app.get_html(&op, &format!("/donors/{}/merge", p.new)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("85点"), "the likely duplicate is suggested");
    assert!(html.contains(&format!("value=\"{}\"", p.old)));
    assert!(
        !html.contains(&other.to_string()),
        "a namesake elsewhere is not suggested"
    );
    let (_, html) = app
        .get_html(
            &op,
            &format!("/donors/{}/merge?number={}", p.new, p.old_number),
        )
        .await;
    assert!(html.contains(&format!("/donors/{}\"", p.old)));
    let (_, html) = app
        .get_html(
            &op,
            &format!("/donors/{}/merge?kana=%E3%82%84%E3%81%BE%E3%81%A0", p.new),
        )
        .await;
    assert!(
        html.contains(&format!("value=\"{other}\"")),
        "found by フリガナ"
    );
    let (_, html) = app
        .get_html(&op, &format!("/donors/{}/merge?kana=yamada", p.new))
        .await;
    assert!(html.contains("フリガナはひらがなまたはカタカナで入力してください"));
    let entries = app.audit_rows(t, "donor.merge_form").await;
    assert_eq!(entries[0].target_id, p.new.to_string());

    let csrf = app.csrf(&op, &format!("/donors/{}/merge", p.new)).await;
    let resp = op
        .post(app.url(&format!("/donors/{}/merge", p.new)))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("other", &other.to_string()),
            ("keep", "this"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()["location"],
        format!("/donors/{}/sources?done=merged", p.new).as_str()
    );
    assert_eq!(
        donors::get(&app.db, t, other)
            .await
            .unwrap()
            .unwrap()
            .merged_into_id,
        Some(p.new)
    );
    let detail: serde_json::Value =
        serde_json::from_str(&app.audit_rows(t, "donor.merge").await[0].detail).unwrap();
    assert_eq!(detail["origin"], "manual");

    // The history: the CSV row it came from, and the merge (read-only roles may see it).
    let city = app.login_as(Role::City).await;
    let (status, html) = app
        .get_html(&city, &format!("/donors/{}/sources", p.new))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("ふるさとチョイス（CSV取込）") && html.contains("C-0001"));
    assert!(html.contains("手動で統合") && html.contains("この寄附者に統合"));
    assert!(
        html.contains("確認待ち"),
        "the pending review with the 楽天 donor is listed"
    );
    assert!(
        !html.contains("別の寄附者と統合する"),
        "no merge link without LedgerWrite"
    );
    let views = app.audit_rows(t, "donor.sources").await;
    assert_eq!(views[0].target_id, p.new.to_string());
    let (_, html) = app
        .get_html(&city, &format!("/donors/{other}/sources"))
        .await;
    assert!(html.contains("この寄附者は別の寄附者に統合されています"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_ledger_staff_decide_and_other_cities_are_invisible() {
    let app = TestApp::spawn().await;
    let p = pair(&app).await;
    for role in [Role::City, Role::Auditor, Role::Partner] {
        let c = app.login_as(role).await;
        for path in [
            "/intake/matching".to_string(),
            "/intake/matching/merges".into(),
            format!("/donors/{}/merge", p.new),
        ] {
            let (status, _) = app.get_html(&c, &path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{role:?} {path}");
        }
    }
    let partner = app.login_as(Role::Partner).await;
    let (status, _) = app
        .get_html(&partner, &format!("/donors/{}/sources", p.new))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // An operator of 札幌市 sees nothing of 仙台市.
    let login = format!("sapporo-{}", Uuid::new_v4().simple());
    app.create_user(app.other_tenant(), &login, Role::Operator, None)
        .await;
    let sapporo = app.login(&login, PASSWORD).await;
    let (status, _) = app
        .get_html(&sapporo, &format!("/donors/{}/sources", p.new))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, html) = app.get_html(&sapporo, "/intake/matching").await;
    assert!(html.contains("確認待ちの組み合わせはありません"));
    let csrf = app.csrf(&sapporo, "/intake/matching").await;
    let resp = sapporo
        .post(app.url(&format!("/intake/matching/{}/merge", p.review)))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}
